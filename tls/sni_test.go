package tls

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	stdtls "crypto/tls"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipedge/sipedge/tls/tlstest"
)

func TestSNISelection(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "test CA")
	def := ca.Issue(t, dir, "default", "default", false, "default.test")
	exact := ca.Issue(t, dir, "exact", "exact", false, "sip.example.com")
	wild := ca.Issue(t, dir, "wild", "wild", true, "*.example.org")
	deep := ca.Issue(t, dir, "deep", "deep", false, "*.a.example.org")
	special := ca.Issue(t, dir, "special", "special", false, "b.example.org")
	certs, err := Config{Cert: def.CertFile, Key: def.KeyFile, Certificates: []Certificate{
		{Names: []string{"sip.example.com", "*.example.org"}, Cert: exact.CertFile, Key: exact.KeyFile},
		{Names: []string{"*.example.org"}, Cert: wild.CertFile, Key: wild.KeyFile},
		{Names: []string{"*.a.example.org"}, Cert: deep.CertFile, Key: deep.KeyFile},
		{Names: []string{"B.example.org"}, Cert: special.CertFile, Key: special.KeyFile},
	}}.LoadCertificates()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ sni, want string }{
		{"", "default"},
		{"unknown.test", "default"},
		{"sip.example.com", "exact"},
		{"SIP.Example.COM.", "exact"},
		{"x.example.org", "exact"}, // first entry naming *.example.org
		{"b.example.org", "special"},
		{"example.org", "default"},  // a wildcard needs one label
		{"x.a.example.org", "deep"}, // the longer wildcard is the only match
		{"y.x.a.example.org", "default"},
	} {
		if got := certs.Certificate(tt.sni).Leaf.Subject.CommonName; got != tt.want {
			t.Errorf("SNI %q: served %q, want %q", tt.sni, got, tt.want)
		}
	}
	if n := certs.Count(); n != 5 {
		t.Errorf("Count() = %d, want 5", n)
	}
	if c := certs.Certificate(""); len(c.Certificate) != 2 {
		t.Errorf("default chain has %d certificates, want 2 (leaf and CA)", len(c.Certificate))
	}
}

// TestSNIKeyTypes serves an ECDSA and an RSA certificate for one name: a
// client that supports only RSA gets the RSA one.
func TestSNIKeyTypes(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "test CA")
	ec := ca.Issue(t, dir, "ec", "ec", false, "sip.example.com")
	rs := ca.Issue(t, dir, "rsa", "rsa", true, "sip.example.com")
	certs, err := Config{Certificates: []Certificate{
		{Names: []string{"sip.example.com"}, Cert: ec.CertFile, Key: ec.KeyFile},
		{Names: []string{"sip.example.com"}, Cert: rs.CertFile, Key: rs.KeyFile},
	}}.LoadCertificates()
	if err != nil {
		t.Fatal(err)
	}
	sc := certs.ServerConfig()
	for _, tt := range []struct {
		name   string
		suites []uint16
		sigs   []stdtls.SignatureScheme
		rsa    bool
	}{
		{"ecdsa client", []uint16{stdtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, []stdtls.SignatureScheme{stdtls.ECDSAWithP256AndSHA256}, false},
		{"rsa-only client", []uint16{stdtls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, []stdtls.SignatureScheme{stdtls.PSSWithSHA256}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hello := &stdtls.ClientHelloInfo{ServerName: "sip.example.com", CipherSuites: tt.suites,
				SignatureSchemes: tt.sigs, SupportedVersions: []uint16{stdtls.VersionTLS12},
				SupportedCurves: []stdtls.CurveID{stdtls.CurveP256}, SupportedPoints: []uint8{0}}
			c, err := sc.GetCertificate(hello)
			if err != nil {
				t.Fatal(err)
			}
			_, isRSA := c.PrivateKey.(*rsa.PrivateKey)
			_, isEC := c.PrivateKey.(*ecdsa.PrivateKey)
			if isRSA != tt.rsa || isEC == tt.rsa {
				t.Fatalf("served %s, rsa=%v want %v", c.Leaf.Subject.CommonName, isRSA, tt.rsa)
			}
		})
	}
}

// syncBuffer is a log sink safe for the watcher goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// eventually polls cond every 10ms for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// renameInto writes a new certificate for names to a temporary directory
// and renames it over leaf's files, as certbot's symlink swap does.
func renameInto(t *testing.T, ca *tlstest.CA, leaf tlstest.Leaf, cn string, names ...string) {
	t.Helper()
	tmp := t.TempDir()
	n := ca.Issue(t, tmp, "new", cn, false, names...)
	for _, mv := range [][2]string{{n.KeyFile, leaf.KeyFile}, {n.CertFile, leaf.CertFile}} {
		if err := os.Rename(mv[0], mv[1]); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWatchRename(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "test CA")
	def := ca.Issue(t, dir, "default", "default-1", false, "default.test")
	named := ca.Issue(t, dir, "named", "named-1", false, "sip.example.com")
	certs, err := Config{Cert: def.CertFile, Key: def.KeyFile, Certificates: []Certificate{
		{Names: []string{"sip.example.com"}, Cert: named.CertFile, Key: named.KeyFile},
	}}.LoadCertificates()
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		certs.Watch(ctx, 20*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
	}()
	defer wg.Wait()
	defer cancel()
	cn := func(sni string) string { return certs.Certificate(sni).Leaf.Subject.CommonName }

	renameInto(t, ca, named, "named-2", "sip.example.com")
	eventually(t, 5*time.Second, "renamed certificate served", func() bool { return cn("sip.example.com") == "named-2" })
	if cn("") != "default-1" {
		t.Fatalf("default is %q, want default-1", cn(""))
	}

	// A corrupt renewal of the named pair: logged once, the old one stays,
	// and a good renewal of the default in the same state still lands.
	bad := filepath.Join(t.TempDir(), "bad.crt")
	if err := os.WriteFile(bad, []byte("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(bad, named.CertFile); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "reload failure logged", func() bool {
		return strings.Contains(logs.String(), "tls certificate reload failed") && strings.Contains(logs.String(), named.CertFile)
	})
	if cn("sip.example.com") != "named-2" {
		t.Fatalf("after a corrupt renewal served %q, want named-2", cn("sip.example.com"))
	}
	renameInto(t, ca, def, "default-2", "default.test")
	eventually(t, 5*time.Second, "default renewed beside a broken pair", func() bool { return cn("") == "default-2" })
	if cn("sip.example.com") != "named-2" {
		t.Fatalf("served %q, want named-2 kept", cn("sip.example.com"))
	}
	if n := strings.Count(logs.String(), "reload failed"); n != 2 {
		t.Errorf("%d failure lines, want 2 (one per change, the pair still broken at the second):\n%s", n, logs.String())
	}
}

func TestValidateCertificates(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "test CA")
	ok := ca.Issue(t, dir, "ok", "ok", false, "sip.example.com")
	other := ca.Issue(t, dir, "other", "other", false, "x")
	c := Config{Certificates: []Certificate{
		{Names: []string{"sip.example.com", "*.example.org"}, Cert: ok.CertFile, Key: ok.KeyFile},
		{Names: nil, Cert: filepath.Join(dir, "missing.crt"), Key: ok.KeyFile},
		{Names: []string{"a.*.org", "bad_name", "*"}, Cert: ok.CertFile, Key: other.KeyFile},
		{Names: []string{"x.test"}},
	}, Watch: time.Millisecond}
	err := c.Validate()
	for _, w := range []string{
		"certificates[1].names: required",
		"certificates[1].cert (" + filepath.Join(dir, "missing.crt") + "): cannot read",
		"certificates[2].names[0] (a.*.org): must be a host name",
		"certificates[2].names[1] (bad_name): must be a host name",
		"certificates[2].names[2] (*): must be a host name",
		"certificates[2].cert (" + ok.CertFile + "): does not load with key",
		"certificates[3].cert: required",
		"certificates[3].key: required",
		"watch (1ms): must be between 100ms and 1h",
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
	if strings.Contains(err.Error(), "certificates[0]") {
		t.Errorf("certificates[0] is valid, reported:\n%v", err)
	}
	if !c.Enabled() {
		t.Error("certificates alone must enable TLS")
	}
}
