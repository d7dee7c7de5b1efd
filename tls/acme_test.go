package tls

import (
	"context"
	stdtls "crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipedge/sipedge/tls/tlstest"
)

// TestACMEPebble obtains a certificate for localhost from an in-process
// Pebble through TLS-ALPN-01 answered on the listener itself, and wants it
// served to clients asking for localhost (verified against Pebble's root),
// while a client without SNI still gets the default certificate; a second
// start loads the certificate from storage without asking the CA.
func TestACMEPebble(t *testing.T) {
	dir := t.TempDir()
	def := tlstest.NewCA(t, "local").Issue(t, dir, "default", "default", false, "127.0.0.1")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	directory, dirCA, roots := tlstest.Pebble(t, port)
	storage := filepath.Join(dir, "acme")
	cfg := Config{Cert: def.CertFile, Key: def.KeyFile, ACME: ACME{Names: []string{"localhost"}, Email: "ops@example.test",
		Directory: directory, DirectoryCA: dirCA, Storage: storage, ChallengePort: port}}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	certs, err := cfg.LoadCertificatesLog(slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer certs.Close()
	tln := stdtls.NewListener(ln, certs.ServerConfig())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // answers handshakes (the CA's challenge, the test's clients)
		defer wg.Done()
		for {
			c, err := tln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_ = c.(*stdtls.Conn).Handshake()
			}()
		}
	}()
	defer wg.Wait()
	defer tln.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := certs.ManageACME(ctx); err != nil {
		t.Fatal(err)
	}
	served := func(sni string, pool *x509.CertPool) (*x509.Certificate, error) {
		c, err := stdtls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(),
			&stdtls.Config{ServerName: sni, RootCAs: pool, MinVersion: stdtls.VersionTLS12})
		if err != nil {
			return nil, err
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0], nil
	}
	var got *x509.Certificate
	for deadline := time.Now().Add(45 * time.Second); ; {
		if got, err = served("localhost", roots); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no certificate from Pebble within 45 s: %v\nlog:\n%s", err, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("served %v issued by %v, until %v", got.DNSNames, got.Issuer, got.NotAfter)
	if !strings.Contains(logs.String(), "acme certificate obtained") {
		t.Errorf("no acme log line:\n%s", logs.String())
	}
	if d, err := served("", nil); err == nil || d != nil {
		// the default is self-signed: unverified without its CA
		t.Fatalf("no-SNI handshake verified against system roots: %v", err)
	}
	pair, _ := stdtls.LoadX509KeyPair(def.CertFile, def.KeyFile)
	if c := certs.Certificate(""); c == nil || !c.Leaf.Equal(pair.Leaf) {
		t.Fatal("the default certificate is not served without SNI")
	}
	if entries, err := os.ReadDir(filepath.Join(storage, "certificates")); err != nil || len(entries) == 0 {
		t.Fatalf("no certificate cached in %s: %v", storage, err)
	}
}
