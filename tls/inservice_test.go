package tls

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sipedge/sipedge/tls/tlstest"
)

// TestInService lists the default pair and a named one with the expiry
// the test gave them, and a reload shows the renewed default's.
func TestInService(t *testing.T) {
	defDir, namedDir := t.TempDir(), t.TempDir()
	defUntil := time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)
	namedUntil := time.Date(2032, 7, 8, 9, 10, 11, 0, time.UTC)
	defCert, defKey, _ := tlstest.WriteCertUntil(t, defDir, "def", defUntil)
	namedCert, namedKey, _ := tlstest.WriteCertUntil(t, namedDir, "named", namedUntil)
	certs, err := Config{Cert: defCert, Key: defKey, Certificates: []Certificate{
		{Names: []string{"sip.example.test", "*.example.test"}, Cert: namedCert, Key: namedKey}}}.LoadCertificates()
	if err != nil {
		t.Fatal(err)
	}
	check := func(wantDefault time.Time) {
		t.Helper()
		in := certs.InService()
		if len(in) != 2 {
			t.Fatalf("%d certificates in service, want 2: %+v", len(in), in)
		}
		want := []struct {
			name, file, subject string
			until               time.Time
		}{{DefaultName, defCert, "CN=def", wantDefault}, {"sip.example.test", namedCert, "CN=named", namedUntil}}
		for i, w := range want {
			c := in[i]
			if c.Name != w.name || c.Source != "file" || c.File != w.file || c.Subject != w.subject || !c.NotAfter.Equal(w.until) {
				t.Errorf("certificate %d = %+v, want name %s, file %s, subject %s, not after %v", i, c, w.name, w.file, w.subject, w.until)
			}
			if len(c.Names) != 3 || c.Names[0] != "localhost" || c.Names[1] != "127.0.0.1" {
				t.Errorf("certificate %d names %v, want localhost, 127.0.0.1, ::1", i, c.Names)
			}
		}
	}
	check(defUntil)
	renewed := defUntil.Add(90 * 24 * time.Hour)
	tlstest.WriteCertUntil(t, defDir, "def", renewed)
	if err := certs.Reload(); err != nil {
		t.Fatal(err)
	}
	check(renewed)
	// A broken file keeps the certificate in service, and so its expiry.
	if err := os.WriteFile(filepath.Join(defDir, "cert.pem"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := certs.Reload(); err == nil {
		t.Fatal("reload of a garbage certificate succeeded")
	}
	check(renewed)
}
