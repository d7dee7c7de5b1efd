package config

import (
	"errors"
	"strings"
	"testing"
)

// TestLoadBrokenTLS checks that sipedge check names each problem of the
// tls.certificates list by file, line and field.
func TestLoadBrokenTLS(t *testing.T) {
	_, err := Load("testdata/tls-broken.yaml")
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	for _, w := range []string{
		"testdata/tls-broken.yaml:5: tls.certificates[0].names[1] (bad_name): must be a host name",
		"testdata/tls-broken.yaml:6: tls.certificates[0].cert (testdata/no-such.crt): cannot read",
		"testdata/tls-broken.yaml:7: tls.certificates[0].key (testdata/no-such.key): cannot read",
		"testdata/tls-broken.yaml:8: tls.certificates[1].names: required",
		"testdata/tls-broken.yaml:8: tls.certificates[1].cert: required",
		"testdata/tls-broken.yaml:9: tls.watch (1ms): must be between 100ms and 1h",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
}

// TestLoadBrokenBan checks the ban section's problems by file, line and
// field.
func TestLoadBrokenBan(t *testing.T) {
	_, err := Load("testdata/ban-broken.yaml")
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	for _, w := range []string{
		"testdata/ban-broken.yaml:4: ban.window (1ms): must be between 100ms and 1m0s",
		"testdata/ban-broken.yaml:5: ban.max_requests (3): must be >= 10",
		"testdata/ban-broken.yaml:6: ban.scanners[1]: must not be empty",
		"testdata/ban-broken.yaml:7: ban.time (500ms): must be between 1s and 720h0m0s",
		"testdata/ban-broken.yaml:8: ban.max_bans (2): must be >= 16",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
}

// TestLoadBrokenTrunkTLSNames checks a trunk's tls_names: a bad entry, one
// that two trunks share, and what they need of tls and the listeners.
func TestLoadBrokenTrunkTLSNames(t *testing.T) {
	_, err := Load("testdata/trunk-tls-names-broken.yaml")
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	for _, w := range []string{
		"trunks.carrier.tls_names[1] (bad_name): must be a DNS name",
		"trunks.other.tls_names[0] (CARRIER.example): also in trunks.carrier.tls_names",
		`trunks.carrier.tls_names: needs tls.client_auth "request" or "require"`,
		"trunks.other.tls_names: needs a tls:// or wss:// listener",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
}
