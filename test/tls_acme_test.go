package test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/loopback"
	"github.com/sipedge/sipedge/tls/tlstest"
)

// TestTLSACME runs sipedge with tls.acme for localhost against Pebble in
// the test process: sipedge answers the TLS-ALPN-01 challenge on its tls
// listener, and the issued certificate is then served for SNI localhost
// on the tls and wss listeners (verified against Pebble's root), the
// default one without SNI. A second sipedge on the same storage serves the
// cached certificate without a new order.
func TestTLSACME(t *testing.T) {
	port := loopback.FreePort(t)
	directory, dirCA, roots := tlstest.Pebble(t, port)
	dir := t.TempDir()
	def := tlstest.NewCA(t, "local").Issue(t, dir, "default", "default", false, "127.0.0.1")
	storage := filepath.Join(dir, "acme")
	cfg := proxyConfig{
		Listen: []string{"udp://127.0.0.1:0", "tls://127.0.0.1:" + strconv.Itoa(port), "wss://127.0.0.1:0/ws"},
		TLS: map[string]any{"cert": def.CertFile, "key": def.KeyFile, "acme": map[string]any{
			"names": []string{"localhost"}, "email": "ops@example.test", "directory": directory,
			"directory_ca": dirCA, "storage": storage, "challenge_port": port}},
		Admin: map[string]any{"listen": "127.0.0.1:0"},
	}
	served := func(addr, sni string, pool *x509.CertPool) (*x509.Certificate, error) {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
			&tls.Config{ServerName: sni, RootCAs: pool, MinVersion: tls.VersionTLS12})
		if err != nil {
			return nil, err
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0], nil
	}
	for run, wantObtained := range []bool{true, false} {
		gw := startSipedge(t, cfg)
		if wantObtained {
			waitLog(t, gw, 60*time.Second, 1, "acme certificate obtained", "localhost")
		}
		var issued *x509.Certificate
		for _, tr := range []string{"tls", "wss"} {
			var got *x509.Certificate
			var err error
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				if got, err = served(gw.Addr(t, tr), "localhost", roots); err == nil || time.Now().After(deadline) {
					break
				}
			}
			if err != nil {
				t.Fatalf("run %d, %s: SNI localhost: %v", run, tr, err)
			}
			t.Logf("run %d, %s: localhost served %v issued by %s", run, tr, got.DNSNames, got.Issuer.CommonName)
			issued = got
			if got, err := served(gw.Addr(t, tr), "", nil); err == nil || got != nil {
				t.Fatalf("run %d, %s: no SNI verified against system roots, want the self-signed default", run, tr)
			}
		}
		// The ACME certificate's expiry is exported beside the default's.
		fams, _ := scrape(t, adminAddr(t, gw), "")
		const metric = "sipedge_tls_certificate_expiry_timestamp_seconds"
		for name, want := range map[string]time.Time{"localhost": issued.NotAfter, "default": def.Cert.NotAfter} {
			if v, ok := metricValue(fams, metric, "name", name); !ok || v != float64(want.Unix()) {
				t.Errorf("run %d: %s{name=%q} = %v (present %v), want %d", run, metric, name, v, ok, want.Unix())
			}
		}
		if !wantObtained && len(logLines(gw, "acme certificate obtained")) != 0 {
			t.Fatal("second start ordered a new certificate instead of loading the cached one")
		}
		gw.stop(t)
	}
}
