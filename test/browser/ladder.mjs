// ladder.mjs drives Debian's Chromium (/usr/bin/chromium) with
// playwright-core against sipedge's call-ladder page (admin /ladder).
// test/admin_ladder_test.go runs it with one JSON argument:
//
//   url        http://127.0.0.1:PORT/ladder (the admin listener)
//   callId     the call to open
//   messages   how many arrows its ladder must have
//   columns    the column names expected, in order
//   click      index of the arrow to click
//   expect     a text the clicked message must contain
//   screenshot where to save the screenshot (PNG)
//
// Progress goes to stderr; the last stdout line is "RESULT <json>"; the
// exit status is 0 when every check passed.
import { chromium } from 'playwright-core';

const cfg = JSON.parse(process.argv[2] || '{}');
const log = (...a) => console.error('[ladder]', ...a);
const result = { ok: false, checks: [] };
const check = (name, ok, detail) => {
  result.checks.push({ name, ok, detail: String(detail ?? '') });
  log(ok ? 'ok  ' : 'FAIL', name, detail ?? '');
  if (!ok) throw new Error(`${name}: ${detail}`);
};

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, timeout: 30000,
  args: ['--no-sandbox', '--disable-dev-shm-usage'] });
try {
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  page.on('console', (m) => { if (m.type() === 'error') log('console:', m.text()); });
  page.on('pageerror', (e) => log('page error:', e.message));
  await page.goto(cfg.url, { timeout: 15000 });
  check('page title', (await page.title()) === 'sipedge · calls', await page.title());
  const link = page.locator(`#calls a[data-call-id="${cfg.callId}"]`);
  await link.waitFor({ timeout: 10000 });
  check('the call is listed', true, await link.textContent());
  await link.click();
  await page.waitForFunction((n) => document.querySelectorAll('#ladder .arrow').length === n, cfg.messages, { timeout: 10000 });
  check('one arrow per message', true, cfg.messages);
  const names = await page.$$eval('#ladder > text[font-weight=bold]', (ts) => ts.map((t) => t.textContent));
  check('columns', JSON.stringify(names) === JSON.stringify(cfg.columns), JSON.stringify(names));
  const labels = await page.$$eval('#ladder .arrow text', (ts) => ts.map((t) => t.textContent));
  check('first arrow is the INVITE', /INVITE/.test(labels[0]), labels[0]);
  check('last arrow is the 200 for the BYE', /200 OK/.test(labels[labels.length - 1]), labels[labels.length - 1]);
  await page.locator(`#ladder .arrow[data-index="${cfg.click}"]`).click();
  const text = await page.textContent('#message');
  check('click shows the whole message', text.includes(cfg.expect) && !(await page.isHidden('#message')), text.slice(0, 80));
  const rows = await page.$$eval('#quality tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  check('quality of both legs', rows.length === 3 && Number(rows[1][1]) > 0 && Number(rows[2][1]) > 0, JSON.stringify(rows));
  await page.screenshot({ path: cfg.screenshot, fullPage: true });
  check('screenshot', true, cfg.screenshot);
  result.ok = true;
} catch (e) {
  result.error = String(e && e.message || e);
} finally {
  await browser.close();
  console.log('RESULT ' + JSON.stringify(result));
  process.exit(result.ok ? 0 : 1);
}
