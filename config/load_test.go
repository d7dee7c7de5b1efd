package config

import (
	"errors"
	"strings"
	"testing"
)

func TestLoadExamples(t *testing.T) {
	for _, f := range []string{"examples/sipedge.yaml", "examples/demo.yaml"} {
		if _, err := Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestLoadBroken checks that every problem is reported at once, each with
// file, line and field.
func TestLoadBroken(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"testdata/broken.yaml", []string{
			"testdata/broken.yaml:1: listen[1] (bogus://x): scheme",
			"testdata/broken.yaml:4: users.alice: needs password or ha1",
			"testdata/broken.yaml:5: users.bob.ha1 (nothex): must be 32 hex digits",
			"testdata/broken.yaml:7: routes[0].match.user ((): bad regular expression",
			"testdata/broken.yaml:8: routes[0].to[0] (http://nowhere):",
			"testdata/broken.yaml:10: registrar.max_contacts (-1): must be >= 1",
			"testdata/broken.yaml:12: auth.algorithms[0] (SHA-1): must be MD5 or SHA-256",
			"testdata/broken.yaml:13: invite_timeout (1ms): must be >= 100ms",
			"testdata/broken.yaml:14: log.level (loud):",
		}},
		{"testdata/unknown-key.yaml", []string{`testdata/unknown-key.yaml:3: unknown field "rutes"`}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			_, err := Load(tc.file)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
		})
	}
}

func TestParseListen(t *testing.T) {
	tests := []struct {
		in      string
		wantErr bool
	}{
		{"udp://127.0.0.1:5060", false},
		{"tcp://[::1]:5060", false},
		{"tls://0.0.0.0:5061", false},
		{"udp://example.com:5060", true},
		{"sctp://127.0.0.1:1", true},
		{"udp://127.0.0.1", true},
		{"udp://127.0.0.1:99999", true},
		{"udp://127.0.0.1:5060/path", true},
	}
	for _, tc := range tests {
		_, err := ParseListen(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseListen(%q) err=%v, wantErr %v", tc.in, err, tc.wantErr)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("listen: [udp://127.0.0.1:5060]\ndomains: [a.test]\n"))
	f.Add([]byte("routes:\n - to: [sip:1.2.3.4]\n   match: {user: x}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Parse("fuzz.yaml", b)
	})
}
