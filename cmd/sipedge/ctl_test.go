package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCtl(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`{"error": "unauthorized"}`))
			return
		}
		switch r.Method + " " + r.URL.Path {
		case "GET /api/v1/registrations":
			_, _ = w.Write([]byte(`{"registrations": [{"aor": "alice@x", "contact": "sip:a@b.invalid;transport=ws", "transport": "wss", "source": "1.2.3.4:5"}]}`))
		case "POST /api/v1/reload":
			w.WriteHeader(422)
			_, _ = w.Write([]byte(`{"error": "reload refused, nothing changed", "problems": ["f.yaml:3: a: bad", "f.yaml:9: b: worse"]}`))
		case "DELETE /api/v1/dialogs/c@1":
			_, _ = w.Write([]byte(`{"call_id": "c@1", "ended": 1}`))
		default:
			w.WriteHeader(404)
			_, _ = w.Write([]byte(`{"error": "no such endpoint"}`))
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"no verb", nil, 2, []string{"usage: sipedge ctl"}, nil},
		{"help", []string{"help"}, 0, []string{"unregister AOR"}, nil},
		{"unknown verb", []string{"--addr", addr, "frobnicate"}, 2, nil, []string{`unknown verb "frobnicate"`}},
		{"missing argument", []string{"--addr", addr, "lookup"}, 2, nil, []string{"want lookup AOR"}},
		{"no server", []string{"registrations"}, 2, nil, []string{"no admin server"}},
		{"no token", []string{"--addr", addr, "registrations"}, 1, nil, []string{"unauthorized (HTTP 401)"}},
		{"table", []string{"--addr", addr, "--token", "tok", "registrations"}, 0, []string{"AOR", "alice@x", "sip:a@b.invalid;transport=ws", "wss"}, nil},
		{"json", []string{"--addr", addr, "--token", "tok", "--json", "registrations"}, 0, []string{`"registrations": [{`}, nil},
		{"escaped argument", []string{"--addr", addr, "--token", "tok", "end", "c@1"}, 0, []string{"call_id:", "c@1", "ended:", "1"}, nil},
		{"problems shown", []string{"--addr", addr, "--token", "tok", "reload"}, 1, nil,
			[]string{"reload refused, nothing changed", "\n  f.yaml:3: a: bad\n  f.yaml:9: b: worse", "HTTP 422"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SIPEDGE_ADMIN", "")
			t.Setenv("SIPEDGE_ADMIN_TOKEN", "")
			var out, errb bytes.Buffer
			code := run(append([]string{"ctl"}, tc.args...), &out, &errb)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.code, errb.String())
			}
			for _, s := range tc.stdout {
				if !strings.Contains(out.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, out.String())
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(errb.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, errb.String())
				}
			}
		})
	}
}
