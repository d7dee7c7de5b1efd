package tls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	stdtls "crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed ECDSA certificate for cn to dir/cert.pem
// and dir/key.pem (replacing what is there) and returns the file names.
func writeCert(t *testing.T, dir, cn string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
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
