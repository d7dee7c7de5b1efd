// Package webdemo is the demo softphone (JsSIP in the browser) that sipedge
// serves over HTTPS on the same origin as its WSS endpoint. The page is
// written in src/, bundled with esbuild by `npm run build` (make web) into
// dist/, and embedded here, so `sipedge serve` needs no files besides its
// configuration. A binary compiled before the bundle was built embeds only
// dist/placeholder.html, which tells the operator how to build it.
package webdemo

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
)

//go:embed dist
var dist embed.FS

// asset is one embedded file ready to serve.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// contentType returns the media type for the extensions the bundle uses,
// so serving does not depend on the host's mime tables.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".txt":
		return "text/plain; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".map", ".json":
		return "application/json"
	default:
		return "application/octet-stream"
	}
}

// Built reports whether the embedded files are the built softphone rather
// than the placeholder page.
func Built() bool {
	_, err := fs.Stat(dist, "dist/index.html")
	return err == nil
}

// Handler returns an http.Handler that serves the softphone: index.html at
// "/", the bundle and stylesheet by name, 404 for anything else (there are
// no directory listings), 405 for methods other than GET and HEAD. Every
// response carries an ETag and "Cache-Control: no-cache", so browsers
// revalidate cheaply and never run a stale bundle against a newer gateway.
func Handler() http.Handler {
	assets := load()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name == "" {
			name = "index.html"
		}
		a, ok := assets[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.ctype)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if strings.HasSuffix(name, ".html") {
			h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' wss: ws:; "+
				"img-src 'self' data:; media-src 'self' blob: mediastream:; frame-ancestors 'none'")
			h.Set("Permissions-Policy", "microphone=(self), camera=()")
		}
		if match := r.Header.Get("If-None-Match"); match != "" && etagMatch(match, a.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Length", strconv.Itoa(len(a.body)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(a.body)
		}
	})
}

// load reads the embedded files once per Handler. Without a built bundle
// the placeholder page is served at "/".
func load() map[string]asset {
	assets := make(map[string]asset)
	_ = fs.WalkDir(dist, "dist", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := dist.ReadFile(p)
		if err != nil {
			return err
		}
		ctype := contentType(p)
		sum := sha256.Sum256(body)
		name := strings.TrimPrefix(p, "dist/")
		assets[name] = asset{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if _, ok := assets["index.html"]; !ok {
		assets["index.html"] = assets["placeholder.html"]
	}
	delete(assets, "placeholder.html")
	return assets
}

// etagMatch reports whether an If-None-Match header lists etag (or "*").
func etagMatch(header, etag string) bool {
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(part), "W/"))
		if part == etag || part == "*" {
			return true
		}
	}
	return false
}
