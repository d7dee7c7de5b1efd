package tls

import (
	"context"
	stdtls "crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"

	"github.com/sipedge/sipedge/tls/tlstest"
)

// pebbleServer runs Let's Encrypt's test ACME server in process, its
// directory on an httptest TLS server, its validation authority connecting
// to 127.0.0.1:tlsPort for TLS-ALPN-01. It returns the directory URL, a
// file trusting the directory's HTTPS, and a pool with pebble's root.
func pebbleServer(t *testing.T, tlsPort int) (string, string, *x509.CertPool) {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	logger := log.New(io.Discard, "pebble ", 0)
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "default"}})
	validator := va.New(logger, 0, tlsPort, false, "", store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	srv := httptest.NewTLSServer(front.Handler())
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "directory-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(authority.GetRootCert(0).PEM())
	return srv.URL + wfe.DirectoryPath, caFile, roots
}

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
	directory, dirCA, roots := pebbleServer(t, port)
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
