package tls

import (
	stdtls "crypto/tls"
	"os"
	"strings"
	"testing"

	"github.com/sipedge/sipedge/tls/tlstest"
)

// writeCert writes a self-signed certificate for cn to dir/cert.pem and
// dir/key.pem (replacing what is there) and returns the file names.
func writeCert(t *testing.T, dir, cn string) (string, string) {
	certFile, keyFile, _ := tlstest.WriteCert(t, dir, cn)
	return certFile, keyFile
}

// served returns the common name of the certificate tc hands out.
func served(t *testing.T, tc *stdtls.Config) string {
	t.Helper()
	cert, err := tc.GetCertificate(&stdtls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return cert.Leaf.Subject.CommonName
}

func TestCertificatesReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir, "first")
	certs, err := Config{Cert: certFile, Key: keyFile}.LoadCertificates()
	if err != nil {
		t.Fatal(err)
	}
	tc := certs.ServerConfig()
	if got := served(t, tc); got != "first" {
		t.Fatalf("served %q, want first", got)
	}
	if tc.MinVersion != stdtls.VersionTLS12 {
		t.Fatalf("MinVersion = %x, want TLS 1.2", tc.MinVersion)
	}

	writeCert(t, dir, "renewed")
	if got := served(t, tc); got != "first" {
		t.Fatalf("served %q before Reload, want first", got)
	}
	if err := certs.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := served(t, tc); got != "renewed" || certs.Subject() != "CN=renewed" {
		t.Fatalf("served %q (subject %q) after Reload, want renewed", got, certs.Subject())
	}

	// A broken renewal keeps the certificate in use and names the file.
	for _, tc2 := range []struct {
		name  string
		write func()
	}{
		{"garbage certificate", func() { _ = os.WriteFile(certFile, []byte("not a certificate"), 0o600) }},
		{"missing key", func() { _ = os.Remove(keyFile) }},
	} {
		t.Run(tc2.name, func(t *testing.T) {
			tc2.write()
			err := certs.Reload()
			if err == nil || !strings.Contains(err.Error(), certFile) {
				t.Fatalf("Reload() = %v, want an error naming %s", err, certFile)
			}
			if got := served(t, tc); got != "renewed" {
				t.Fatalf("served %q after a failed Reload, want renewed", got)
			}
		})
	}
}

func TestMinVersion(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir, "v")
	for _, tt := range []struct {
		in      string
		want    uint16
		invalid bool
	}{
		{"", stdtls.VersionTLS12, false},
		{"1.2", stdtls.VersionTLS12, false},
		{"1.3", stdtls.VersionTLS13, false},
		{"1.1", 0, true},
		{"tls13", 0, true},
	} {
		t.Run(tt.in, func(t *testing.T) {
			c := Config{Cert: certFile, Key: keyFile, MinVersion: tt.in}
			err := c.Validate()
			if tt.invalid {
				if err == nil || !strings.Contains(err.Error(), "min_version") {
					t.Fatalf("Validate() = %v, want a min_version error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.SetDefaults()
			sc, err := c.ServerConfig()
			if err != nil {
				t.Fatal(err)
			}
			cc, err := c.ClientConfig()
			if err != nil {
				t.Fatal(err)
			}
			if sc.MinVersion != tt.want || cc.MinVersion != tt.want {
				t.Fatalf("server %x, client %x, want %x", sc.MinVersion, cc.MinVersion, tt.want)
			}
		})
	}
}
