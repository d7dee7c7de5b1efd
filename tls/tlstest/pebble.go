package tlstest

import (
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
)

// PebbleVATask is the function of the goroutine Pebble's validation
// authority never stops, for goleak.IgnoreTopFunction.
const PebbleVATask = "github.com/letsencrypt/pebble/v2/va.VAImpl.processTasks"

// Pebble runs Let's Encrypt's test ACME server in process until the test
// ends: its directory on an httptest TLS server on 127.0.0.1, its
// validation authority connecting to port tlsPort of the names' addresses
// for TLS-ALPN-01 (without Pebble's random sleeps). It returns the
// directory URL, a PEM file trusting the directory's HTTPS, and a pool
// with the root Pebble issues under.
func Pebble(tb testing.TB, tlsPort int) (directory, caFile string, roots *x509.CertPool) {
	tb.Helper()
	tb.Setenv("PEBBLE_VA_NOSLEEP", "1")
	logger := log.New(io.Discard, "pebble ", 0)
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "default"}})
	validator := va.New(logger, 0, tlsPort, false, "", store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	srv := httptest.NewTLSServer(front.Handler())
	tb.Cleanup(srv.Close)
	caFile = filepath.Join(tb.TempDir(), "directory-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		tb.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AppendCertsFromPEM(authority.GetRootCert(0).PEM())
	return srv.URL + wfe.DirectoryPath, caFile, roots
}
