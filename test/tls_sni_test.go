package test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/tls/tlstest"
)

// handshake dials addr with TLS asking for sni (none when ""), trusting
// pool, and returns the chain the server presented.
func handshake(t *testing.T, addr, sni string, pool *x509.CertPool) []*x509.Certificate {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	cfg := &tls.Config{RootCAs: pool, ServerName: sni, MinVersion: tls.VersionTLS12}
	if sni == "" {
		cfg.ServerName = "127.0.0.1" // an IP: verified, but not sent as SNI
	}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("TLS handshake with %s (SNI %q): %v", addr, sni, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates
}

// opensslSubject runs openssl s_client against addr with -servername sni
// (or -noservername) and returns its output.
func opensslSubject(t *testing.T, addr, sni string, extra ...string) (string, error) {
	t.Helper()
	args := []string{"s_client", "-connect", addr, "-brief"}
	if sni == "" {
		args = append(args, "-noservername")
	} else {
		args = append(args, "-servername", sni)
	}
	args = append(args, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openssl", args...)
	cmd.Stdin = strings.NewReader("") // EOF at once: handshake, then quit
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// sniSetup starts sipedge with tls and wss listeners, a default ECDSA
// certificate for 127.0.0.1, an RSA one for sip.example.com and an ECDSA
// one for *.example.org, all from one test CA.
func sniSetup(t *testing.T) (*sipedgeProc, *tlstest.CA, map[string]tlstest.Leaf) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "sipedge test CA")
	leaves := map[string]tlstest.Leaf{
		"default": ca.Issue(t, dir, "default", "default", false, "127.0.0.1"),
		"sip":     ca.Issue(t, dir, "sip", "sip.example.com", true, "sip.example.com"),
		"org":     ca.Issue(t, dir, "org", "wild.example.org", false, "*.example.org"),
	}
	gw := startSipedge(t, proxyConfig{
		Listen: []string{"udp://127.0.0.1:0", "tls://127.0.0.1:0", "wss://127.0.0.1:0/ws"},
		Users:  map[string]string{"u0": "pw"},
		TLS: map[string]any{
			"cert": leaves["default"].CertFile, "key": leaves["default"].KeyFile,
			"certificates": []map[string]any{
				{"names": []string{"sip.example.com"}, "cert": leaves["sip"].CertFile, "key": leaves["sip"].KeyFile},
				{"names": []string{"*.example.org"}, "cert": leaves["org"].CertFile, "key": leaves["org"].KeyFile},
			},
			"watch": "200ms",
		},
	})
	return gw, ca, leaves
}

// TestTLSSNI asks the tls and wss listeners for two names and none, with Go
// and with openssl s_client: each gets its own certificate with the whole
// chain, verified by the CA; TLS 1.0 and 1.1 are refused.
func TestTLSSNI(t *testing.T) {
	gw, ca, _ := sniSetup(t)
	for _, tr := range []string{"tls", "wss"} {
		addr := gw.Addr(t, tr)
		for _, tt := range []struct{ sni, want string }{
			{"", "default"},
			{"sip.example.com", "sip.example.com"},
			{"a.example.org", "wild.example.org"},
		} { // an unknown name gets the default: openssl checks it below (Go would refuse the name)
			chain := handshake(t, addr, tt.sni, ca.Pool)
			if got := chain[0].Subject.CommonName; got != tt.want {
				t.Errorf("%s SNI %q: Go client got %q, want %q", tr, tt.sni, got, tt.want)
			}
			if len(chain) != 2 || !chain[1].Equal(ca.Cert) {
				t.Errorf("%s SNI %q: chain of %d, want leaf and CA", tr, tt.sni, len(chain))
			}
		}
		for _, tt := range []struct{ sni, want string }{
			{"", "CN = default"},
			{"sip.example.com", "CN = sip.example.com"},
			{"a.example.org", "CN = wild.example.org"},
			{"unknown.example.net", "CN = default"},
		} {
			out, err := opensslSubject(t, addr, tt.sni)
			if err != nil || !strings.Contains(out, "Peer certificate: "+tt.want) {
				t.Errorf("%s openssl -servername %q: err %v, want subject %s in:\n%s", tr, tt.sni, err, tt.want, out)
			}
		}
		out, err := opensslSubject(t, addr, "sip.example.com", "-CAfile", ca.WriteCA(t, t.TempDir(), "ca"), "-verify_return_error")
		if err != nil || !strings.Contains(out, "Verification: OK") {
			t.Errorf("%s: openssl does not verify the chain: %v\n%s", tr, err, out)
		}
		for _, old := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
				&tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1", MinVersion: old, MaxVersion: old})
			if err == nil {
				_ = c.Close()
				t.Errorf("%s: TLS %x handshake succeeded, want refused", tr, old)
			}
		}
		if out, err := opensslSubject(t, addr, "sip.example.com", "-tls1_1"); err == nil || strings.Contains(out, "Peer certificate") {
			t.Errorf("%s: openssl -tls1_1 got through:\n%s", tr, out)
		}
	}
}

// TestTLSRenewByRename replaces the default certificate as certbot does
// (new files renamed into place) while a WSS client stays registered: new
// handshakes on wss and tls get it within 10 s, the old connection keeps
// working; then a corrupt replacement is logged and the renewed certificate
// stays in service.
func TestTLSRenewByRename(t *testing.T) {
	gw, ca, leaves := sniSetup(t)
	wss, sipTLS := gw.Addr(t, "wss"), gw.Addr(t, "tls")
	ctx := withTimeout(t, 60*time.Second)
	kept, err := benchDial(ctx, "wss://"+wss+"/ws", "127.0.0.1", wsDialOpts{Pool: ca.Pool})
	if err != nil {
		t.Fatal(err)
	}
	defer kept.conn.CloseNow()
	if err := kept.register(ctx, "u0", "pw"); err != nil {
		t.Fatal(err)
	}
	def := leaves["default"]
	stage := t.TempDir()
	renewed := ca.Issue(t, stage, "default", "renewed", false, "127.0.0.1")
	for _, mv := range [][2]string{{renewed.KeyFile, def.KeyFile}, {renewed.CertFile, def.CertFile}} {
		if err := os.Rename(mv[0], mv[1]); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	for _, addr := range []string{wss, sipTLS} {
		for handshake(t, addr, "", ca.Pool)[0].Subject.CommonName != "renewed" {
			if time.Since(start) > 10*time.Second {
				t.Fatalf("%s: renewed certificate not served within 10 s", addr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("renewal served after %v", time.Since(start).Round(time.Millisecond))
	if err := kept.register(ctx, "u0", "pw"); err != nil {
		t.Fatalf("REGISTER on the connection made before the renewal: %v", err)
	}
	if got := handshake(t, wss, "sip.example.com", ca.Pool)[0].Subject.CommonName; got != "sip.example.com" {
		t.Fatalf("SNI sip.example.com after the renewal: %q", got)
	}

	bad := filepath.Join(stage, "bad.crt")
	if err := os.WriteFile(bad, []byte("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(bad, def.CertFile); err != nil {
		t.Fatal(err)
	}
	waitLog(t, gw, 10*time.Second, 1, "tls certificate reload failed", def.CertFile)
	for _, addr := range []string{wss, sipTLS} {
		if got := handshake(t, addr, "", ca.Pool)[0].Subject.CommonName; got != "renewed" {
			t.Fatalf("%s after a corrupt replacement serves %q, want renewed", addr, got)
		}
	}
	if err := kept.register(ctx, "u0", "pw"); err != nil {
		t.Fatalf("REGISTER after the corrupt replacement: %v", err)
	}
}
