package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/tls/tlstest"
)

func TestLoadExamples(t *testing.T) {
	if _, err := Load("examples/sipedge.yaml"); err != nil {
		t.Errorf("examples/sipedge.yaml: %v", err)
	}
	// demo.yaml names the certificate scripts/demo.sh makes in demo-run/,
	// relative to the repository root: make one the same way elsewhere.
	demo, err := filepath.Abs("examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeSelfSigned(t, filepath.Join(dir, "demo-run"))
	t.Chdir(dir)
	if _, err := Load(demo); err != nil {
		t.Errorf("examples/demo.yaml: %v", err)
	}
}

// writeSelfSigned writes cert.pem and key.pem (ECDSA P-256) into dir.
func writeSelfSigned(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tlstest.WriteCert(t, dir, "127.0.0.1")
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
			"testdata/broken.yaml:15: runtime.memory_limit_mb (-5): must be >= 0",
			"testdata/broken.yaml:15: runtime.gc_percent (-3): must be -1 (off), 0 (default) or a positive percentage",
		}},
		{"testdata/broken-trunks.yaml", []string{
			`testdata/broken-trunks.yaml:6: trunks.carrier.password: required: username "acct123" is set`,
			`testdata/broken-trunks.yaml:7: trunks.carrier.uris[1] (http://bad.example): scheme "http" not supported (sip, sips)`,
			`testdata/broken-trunks.yaml:9: trunks.carrier.dids.+15550101 (nobody): no user named "nobody" (users:)`,
			`testdata/broken-trunks.yaml:10: trunks.nouris.uris: at least one provider URI is required`,
			`testdata/broken-trunks.yaml:13: routes[0].to[1] (trunk:missing): no trunk named "missing" (trunks:)`,
		}},
		{"testdata/unknown-key.yaml", []string{`testdata/unknown-key.yaml:3: rutes: unknown key`}},
		{"testdata/unknown-target.yaml", []string{
			`testdata/unknown-target.yaml:5: routes[0].to[0] (trunk:carrier): no trunk named "carrier" (trunks:)`,
			`testdata/unknown-target.yaml:6: routes[0].to[1] (set:pbx): no destination set named "pbx" (sets:)`,
		}},
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

// TestLoadEveryProblem checks that decoding goes on past unknown keys and
// values of the wrong type to the defaults and Validate: each problem of
// the file is reported, in line order, one per line with file:line:field,
// and nothing else.
func TestLoadEveryProblem(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"testdata/three-problems.yaml", []string{
			`testdata/three-problems.yaml:3: listen[1] (tcp://nowhere.example:5060): host "nowhere.example" must be an IP address`,
			`testdata/three-problems.yaml:7: rutes: unknown key`,
			`testdata/three-problems.yaml:9: routes[0].to[0] (http://10.0.0.1:5060): scheme "http" not supported (sip, sips)`,
		}},
		{"testdata/sets-routing.yaml", []string{
			"testdata/sets-routing.yaml:5: sets.pbx.algorithm (random): must be one of hash-callid, hash-from, hash-to, hash-ruri, round-robin, weighted, priority, least-calls, latency, parallel",
			"testdata/sets-routing.yaml:6: sets.pbx.members[1] (http://10.0.0.6): scheme \"http\" not supported (sip, sips)",
			"testdata/sets-routing.yaml:6: sets.pbx.members[1].weight (200): must be 1..100",
			"testdata/sets-routing.yaml:6: sets.pbx.members[2] (trunk:carrier): no trunk named \"carrier\" (trunks:)",
			"testdata/sets-routing.yaml:7: sets.pbx.probe.alive[1] (9xx): a status code (100..699) or a class (1xx..6xx)",
			"testdata/sets-routing.yaml:8: sets.latency.probe.interval: the latency algorithm needs probing (probe.interval)",
			"testdata/sets-routing.yaml:10: routes[0].match.methods[0] (invite): must be a method name in capitals (INVITE, MESSAGE)",
			"testdata/sets-routing.yaml:10: routes[0].match.source[0] (10.0.0.0/33): must be a CIDR prefix or an address",
			"testdata/sets-routing.yaml:10: routes[0].match.transports[0] (sctp): must be udp, tcp, tls, ws or wss",
			"testdata/sets-routing.yaml:10: routes[0].match.headers.X-A ((): bad regular expression: error parsing regexp: missing closing ): `(`",
			"testdata/sets-routing.yaml:11: routes[0].actions.strip (-1): must be 0..32",
			"testdata/sets-routing.yaml:11: routes[0].actions.remove_headers[0] (Via): the proxy needs this header",
			"testdata/sets-routing.yaml:11: routes[0].actions.add_headers[0] (Call-ID: x): the proxy sets this header itself",
			"testdata/sets-routing.yaml:12: routes[0].api.url (ftp://x): must be an http:// or https:// URL with a host",
			"testdata/sets-routing.yaml:12: routes[0].api.timeout (1h0m0s): must be 10ms..10s and under invite_timeout",
			"testdata/sets-routing.yaml:12: routes[0].api.failover[0] (7xx): a status code (100..699) or a class (1xx..6xx)",
			"testdata/sets-routing.yaml:13: routes[0].fr_timer (1ms): must be 100ms..32s",
			"testdata/sets-routing.yaml:14: routes[1].to[1] (set:nope): no destination set named \"nope\" (sets:)",
		}},
		{"testdata/types.yaml", []string{
			`testdata/types.yaml:5: invite_timeout (soon): must be a duration such as 30s, 500ms or 2m`,
			`testdata/types.yaml:7: auth.nonce_ttl: must be a duration such as 30s, 500ms or 2m`,
			`testdata/types.yaml:8: auth.realmm: unknown key`,
			`testdata/types.yaml:9: registrar.max_contacts (many): must be an integer`,
			`testdata/types.yaml:12: rtpengine.nodes[0].weight (heavy): must be an integer`,
			`testdata/types.yaml:12: rtpengine.nodes[0].colour: unknown key`,
			`testdata/types.yaml:13: log.level (loud): must be debug, info, warn or error`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			_, err := Load(tc.file)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			head, body, _ := strings.Cut(err.Error(), "\n")
			if want := fmt.Sprintf("config: invalid (%d problems):", len(tc.want)); head != want {
				t.Errorf("first line %q, want %q", head, want)
			}
			if got := strings.Split(body, "\n"); !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestLoadSyntaxError checks that a YAML syntax error, after which nothing
// can be read, is reported alone with its line.
func TestLoadSyntaxError(t *testing.T) {
	_, err := Parse("syntax.yaml", []byte("listen: [udp://127.0.0.1:5060\ndomains: x\n"))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "(1 problem):\nsyntax.yaml:") {
		t.Fatalf("err = %v, want one problem with file and line", err)
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

func TestValidateRuntime(t *testing.T) {
	for _, tc := range []struct {
		name string
		rt   Runtime
		want string // "" = valid
	}{
		{"defaults", Runtime{}, ""},
		{"limit only", Runtime{MemoryLimitMB: 512}, ""},
		{"limit and off", Runtime{MemoryLimitMB: 512, GCPercent: -1}, ""},
		{"lower percent", Runtime{GCPercent: 50}, ""},
		{"negative limit", Runtime{MemoryLimitMB: -1}, "runtime.memory_limit_mb (-1): must be >= 0"},
		{"off without limit", Runtime{GCPercent: -1}, "runtime.gc_percent (-1): -1 turns collection off: it needs runtime.memory_limit_mb"},
		{"bad percent", Runtime{GCPercent: -7}, "runtime.gc_percent (-7): must be -1 (off)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Listen: []string{"udp://127.0.0.1:5060"}, Runtime: tc.rt}
			c.Gateway.Domains = []string{"example.test"}
			c.SetDefaults()
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestAuthSection checks that the auth section is auth.Config itself: a
// default file offers MD5 first, then SHA-256, in the first domain's realm,
// and every auth.Config key (max_nonces included) can be set.
func TestAuthSection(t *testing.T) {
	base := "listen: [udp://127.0.0.1:5060]\ndomains: [a.test, b.test]\n"
	c, err := Parse("default.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Gateway.Auth
	if !slices.Equal(a.Algorithms, []string{"MD5"}) || a.Realm != "a.test" || a.NonceTTL != 300*time.Second || a.MaxNonces != 65536 {
		t.Errorf("default auth = %+v, want realm a.test, [MD5 SHA-256], 5m0s, 65536", a)
	}
	c, err = Parse("set.yaml", []byte(base+"auth: {realm: r.test, algorithms: [SHA-256], nonce_ttl: 1m, max_nonces: 128}\n"))
	if err != nil {
		t.Fatal(err)
	}
	a = c.Gateway.Auth
	if !slices.Equal(a.Algorithms, []string{"SHA-256"}) || a.Realm != "r.test" || a.NonceTTL != time.Minute || a.MaxNonces != 128 {
		t.Errorf("auth = %+v, want realm r.test, [SHA-256], 1m0s, 128", a)
	}
	_, err = Parse("bad.yaml", []byte(base+"auth:\n  algorithms: [MD5, MD5]\n  max_nonces: -1\n"))
	for _, w := range []string{
		"bad.yaml:4: auth.algorithms[1] (MD5): listed twice",
		"bad.yaml:5: auth.max_nonces (-1): must be >= 1",
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in %v", w, err)
		}
	}
}
