package test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// servedSerial returns the serial number of the certificate sipedge
// presents at addr in a new TLS handshake.
func servedSerial(t *testing.T, addr string) *big.Int {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	// Only the served certificate is of interest here, not its trust.
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber
}

// fileSerial returns the serial number of the PEM certificate in file.
func fileSerial(t *testing.T, file string) *big.Int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM block", file)
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert.SerialNumber
}

// TestTLSCertificateReload renews sipedge's certificate under a running
// gateway: after SIGHUP new handshakes on the wss and tls listeners get the
// new certificate while a registered WSS client stays connected and keeps
// working; a broken renewal is logged and the certificate in use stays.
func TestTLSCertificateReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := writeTestCert(t, dir)
	first := fileSerial(t, certFile)
	gw := startSipedge(t, proxyConfig{
		Listen:  []string{"udp://127.0.0.1:0", "tls://127.0.0.1:0", "wss://127.0.0.1:0/ws"},
		Users:   map[string]string{"u0": "pw"},
		TLSCert: certFile, TLSKey: keyFile,
	})
	wss, sipTLS := gw.Addr(t, "wss"), gw.Addr(t, "tls")
	for _, addr := range []string{wss, sipTLS} {
		if got := servedSerial(t, addr); got.Cmp(first) != 0 {
			t.Fatalf("%s serves serial %v, want %v", addr, got, first)
		}
	}
	ctx := withTimeout(t, 30*time.Second)
	kept, err := benchDial(ctx, "wss://"+wss+"/ws", "127.0.0.1", wsDialOpts{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer kept.conn.CloseNow()
	if err := kept.register(ctx, "u0", "pw"); err != nil {
		t.Fatal(err)
	}

	// Renew: new files in place, then SIGHUP.
	writeTestCert(t, dir)
	renewed := fileSerial(t, certFile)
	if err := gw.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, gw, 5*time.Second, 1, "tls certificate reloaded")
	for _, addr := range []string{wss, sipTLS} {
		if got := servedSerial(t, addr); got.Cmp(renewed) != 0 {
			t.Fatalf("%s serves serial %v after reload, want %v", addr, got, renewed)
		}
	}
	// The connection made before the renewal is still up and served.
	if err := kept.register(ctx, "u0", "pw"); err != nil {
		t.Fatalf("REGISTER on the connection made before the reload: %v", err)
	}

	// A broken renewal: logged, and the renewed certificate stays.
	if err := os.WriteFile(certFile, []byte("-----BEGIN CERTIFICATE-----\ngarbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := gw.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, gw, 5*time.Second, 1, "tls certificate reload failed", certFile)
	if got := servedSerial(t, wss); got.Cmp(renewed) != 0 {
		t.Fatalf("wss serves serial %v after a failed reload, want %v", got, renewed)
	}
	if err := kept.register(ctx, "u0", "pw"); err != nil {
		t.Fatalf("REGISTER after the failed reload: %v", err)
	}
}

// TestHangupWithoutTLS sends SIGHUP to a sipedge with no certificate: it
// must say there is nothing to reload and keep serving (SIGHUP's default
// action would have ended the process).
func TestHangupWithoutTLS(t *testing.T) {
	gw := startSipedge(t, proxyConfig{Users: map[string]string{"alice": "pw"}})
	if err := gw.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, gw, 5*time.Second, 1, "nothing to reload")
	c := newUDPClient(t, gw.Addr(t, "udp"))
	if res := c.register(t, "alice", "", ""); res.StatusCode != 401 {
		t.Fatalf("REGISTER after SIGHUP: %d, want the 401 challenge", res.StatusCode)
	}
}
