// build.mjs bundles src/app.js, the ES modules it imports from src/ and JsSIP
// from node_modules into dist/app.js, and copies the page and the stylesheet.
// dist/ is embedded into sipedge by embed.go; the built files are not
// committed (see .gitignore).
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';

const out = new URL('./dist/', import.meta.url);
await mkdir(out, { recursive: true });
await build({
  entryPoints: [new URL('./src/app.js', import.meta.url).pathname],
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  outfile: new URL('app.js', out).pathname,
  legalComments: 'linked',
  logLevel: 'warning',
});
for (const f of ['index.html', 'style.css']) {
  await copyFile(new URL(`./src/${f}`, import.meta.url), new URL(f, out));
}
console.log('web-demo: built dist/index.html, dist/app.js, dist/style.css');
