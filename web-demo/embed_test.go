package webdemo

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type handlerCase struct {
	name, method, path string
	code               int
	ctype, contains    string
}

func TestHandler(t *testing.T) {
	h := Handler()
	tests := []handlerCase{
		{"root is the page", http.MethodGet, "/", 200, "text/html; charset=utf-8", "sipedge softphone"},
		{"head root", http.MethodHead, "/", 200, "text/html; charset=utf-8", ""},
		{"dot segments stay inside", http.MethodGet, "/../../etc/passwd", 404, "", ""},
		{"no listing of a directory", http.MethodGet, "/dist/", 404, "", ""},
		{"unknown file", http.MethodGet, "/nope.js", 404, "", ""},
		{"placeholder is not served by name", http.MethodGet, "/placeholder.html", 404, "", ""},
		{"post refused", http.MethodPost, "/", 405, "", ""},
	}
	if Built() {
		tests = append(tests,
			handlerCase{"bundle", http.MethodGet, "/app.js", 200, "text/javascript; charset=utf-8", "sipedgeDemo"},
			handlerCase{"stylesheet", http.MethodGet, "/style.css", 200, "text/css; charset=utf-8", "--accent"},
		)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.code {
				t.Fatalf("%s %s: code %d, want %d", tc.method, tc.path, rec.Code, tc.code)
			}
			if tc.ctype != "" && rec.Header().Get("Content-Type") != tc.ctype {
				t.Errorf("Content-Type %q, want %q", rec.Header().Get("Content-Type"), tc.ctype)
			}
			if tc.code == 200 {
				if rec.Header().Get("Cache-Control") != "no-cache" || rec.Header().Get("ETag") == "" {
					t.Errorf("cache headers: %v", rec.Header())
				}
				if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
					t.Errorf("no nosniff header")
				}
			}
			if tc.method == http.MethodHead && rec.Body.Len() != 0 {
				t.Errorf("HEAD returned a body of %d bytes", rec.Body.Len())
			}
			if tc.contains != "" && !strings.Contains(rec.Body.String(), tc.contains) {
				t.Errorf("body lacks %q", tc.contains)
			}
		})
	}
}

func TestHandlerETag(t *testing.T) {
	h := Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	etag := rec.Header().Get("ETag")
	for _, inm := range []string{etag, "W/" + etag, `"x", ` + etag, "*"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("If-None-Match", inm)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("If-None-Match %q: code %d, body %d bytes", inm, rec.Code, rec.Body.Len())
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("If-None-Match", `"other"`)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("stale ETag: code %d", rec.Code)
	}
}
