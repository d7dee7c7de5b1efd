package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
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
		case "GET /api/v1/sets":
			_, _ = w.Write([]byte(`[{"name": "pbx", "algorithm": "round-robin", "members": [{"member": "sip:10.0.0.1:5060", "up": true, "disabled": true, "calls": 2, "rtt_ms": 1.5}]}]`))
		case "POST /api/v1/sets/pbx/members/sip:10.0.0.1:5060;transport=tcp/disable":
			_, _ = w.Write([]byte(`{"set": "pbx", "member": "sip:10.0.0.1:5060;transport=tcp", "disabled": true}`))
		case "POST /api/v1/trunks/static/register":
			w.WriteHeader(409)
			_, _ = w.Write([]byte(`{"error": "trunk: no registration for this trunk: \"static\" has register: false"}`))
		case "POST /api/v1/bans":
			b, _ := io.ReadAll(r.Body)
			if r.Header.Get("Content-Type") != "application/json" {
				w.WriteHeader(400)
			}
			_, _ = w.Write([]byte(`{"got": ` + strconv.Quote(string(b)) + `}`))
		case "GET /api/v1/bans":
			_, _ = w.Write([]byte(`[{"address": "192.0.2.7", "reason": "manual", "since": "2026-12-03T19:00:00Z", "until": "2026-12-03T19:10:00Z", "note": "scans us"}]`))
		case "DELETE /api/v1/bans/192.0.2.7":
			_, _ = w.Write([]byte(`{"address": "192.0.2.7", "banned": false}`))
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
		{"sets table", []string{"--addr", addr, "--token", "tok", "sets"}, 0,
			[]string{"SET", "ADMIN", "pbx", "round-robin", "sip:10.0.0.1:5060", "up", "disabled", "1.5"}, nil},
		{"sets disable", []string{"--addr", addr, "--token", "tok", "sets", "disable", "pbx", "sip:10.0.0.1:5060;transport=tcp"}, 0,
			[]string{"disabled:", "true", "member:", "sip:10.0.0.1:5060;transport=tcp"}, nil},
		{"sets enable without member", []string{"--addr", addr, "sets", "enable", "pbx"}, 2, nil, []string{"want sets enable SET MEMBER"}},
		{"trunks register refused", []string{"--addr", addr, "--token", "tok", "trunks", "register", "static"}, 1, nil,
			[]string{`sipedge ctl trunks register: trunk: no registration for this trunk: "static" has register: false (HTTP 409)`}},
		{"bans add body", []string{"--addr", addr, "--token", "tok", "--json", "bans", "add", "192.0.2.7", "10m", "scans", "us"}, 0,
			[]string{`{\"address\":\"192.0.2.7\",\"duration\":\"10m\",\"reason\":\"scans us\"}`}, nil},
		{"bans add address only", []string{"--addr", addr, "--token", "tok", "--json", "bans", "add", "192.0.2.7"}, 0,
			[]string{`{\"address\":\"192.0.2.7\"}`}, nil},
		{"bans add without address", []string{"--addr", addr, "bans", "add"}, 2, nil, []string{"want bans add ADDRESS [DURATION] [REASON]"}},
		{"bans table", []string{"--addr", addr, "--token", "tok", "bans"}, 0, []string{"ADDRESS", "192.0.2.7", "manual", "2026-12-03T19:10:00Z", "scans us"}, nil},
		{"bans lift", []string{"--addr", addr, "--token", "tok", "bans", "lift", "192.0.2.7"}, 0, []string{"banned:", "false"}, nil},
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
