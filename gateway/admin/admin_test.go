package admin

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		errs []string // substrings, one per expected problem
	}{
		{"off", Config{}, nil},
		{"loopback v4", Config{Listen: "127.0.0.1:9090"}, nil},
		{"loopback v6", Config{Listen: "[::1]:0"}, nil},
		{"localhost", Config{Listen: "localhost:9090"}, nil},
		{"public with token", Config{Listen: "0.0.0.0:9090", Token: "s3cret"}, nil},
		{"public without token", Config{Listen: "0.0.0.0:9090"}, []string{"listen (0.0.0.0:9090): without admin.token"}},
		{"no port", Config{Listen: "127.0.0.1"}, []string{"listen (127.0.0.1): want HOST:PORT"}},
		{"bad port", Config{Listen: "127.0.0.1:http"}, []string{`port "http" must be 0-65535`}},
		{"token without listen", Config{Token: "x"}, []string{"token: has no effect without admin.listen"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.SetDefaults()
			err := tc.cfg.Validate()
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: nil, want %q", tc.errs)
			}
			for _, w := range tc.errs {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate: %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestHandlerToken(t *testing.T) {
	tests := []struct {
		name, token, auth string
		code              int
	}{
		{"no token needed", "", "", 200},
		{"token missing", "s3cret", "", 401},
		{"token wrong", "s3cret", "Bearer nope", 401},
		{"token right", "s3cret", "Bearer s3cret", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(Handler(tc.token, Options{}))
			defer srv.Close()
			req, _ := http.NewRequest("GET", srv.URL+"/debug/pprof/goroutine?debug=1", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if res.StatusCode != tc.code {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.code)
			}
			if tc.code == 200 && !strings.HasPrefix(string(body), "goroutine profile: total ") {
				t.Errorf("goroutine profile starts %q", body[:min(len(body), 40)])
			}
		})
	}
}

// TestListenClose: the server answers on its bound address, and Close
// stops it (idempotently), closing the port.
func TestListenClose(t *testing.T) {
	s, err := Listen(Config{Listen: "127.0.0.1:0"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get("http://" + s.Addr() + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("GET /debug/pprof/: %d", res.StatusCode)
	}
	if res, err := http.Get("http://" + s.Addr() + "/metrics"); err == nil {
		_ = res.Body.Close()
		if res.StatusCode != 404 {
			t.Errorf("GET /metrics: %d, want 404 (not served yet)", res.StatusCode)
		}
	}
	_ = s.Close()
	_ = s.Close()
	if _, err := http.Get("http://" + s.Addr() + "/debug/pprof/"); err == nil {
		t.Errorf("GET after Close succeeded")
	}
}
