package tls

import (
	stdtls "crypto/tls"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/tls/tlstest"
)

func TestMutualListener(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA, otherCA := tlstest.NewCA(t, "server CA"), tlstest.NewCA(t, "client CA"), tlstest.NewCA(t, "other CA")
	srv := serverCA.Issue(t, dir, "server", "sipedge", false, "127.0.0.1")
	pbx := clientCA.Issue(t, dir, "pbx", "pbx", false, "pbx.example.com", "sip:trunk.example.com")
	phone := clientCA.Issue(t, dir, "phone", "phone", false, "phone.example.net")
	rogue := otherCA.Issue(t, dir, "rogue", "rogue", false, "pbx.example.com")
	certs, err := Config{Cert: srv.CertFile, Key: srv.KeyFile, ClientAuth: "require",
		ClientCA: clientCA.WriteCA(t, dir, "client-ca"), TrustedNames: []string{"*.example.com"}}.LoadCertificates()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := stdtls.Listen("tcp", "127.0.0.1:0", certs.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*stdtls.Conn).Handshake()
			_, _ = c.Write([]byte("x"))
			_ = c.Close()
		}
	}()
	defer func() { _ = ln.Close(); <-done }()
	for _, tt := range []struct {
		name    string
		leaf    *tlstest.Leaf
		ok      bool
		trusted bool
		names   string // PeerNames, joined
	}{
		{"no certificate", nil, false, false, ""},
		{"trusted name", &pbx, true, true, "pbx.example.com sip:trunk.example.com"},
		{"other name", &phone, true, false, "phone.example.net"},
		{"unknown CA", &rogue, false, false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cc := &stdtls.Config{RootCAs: serverCA.Pool, ServerName: "127.0.0.1"}
			if tt.leaf != nil {
				pair, err := stdtls.LoadX509KeyPair(tt.leaf.CertFile, tt.leaf.KeyFile)
				if err != nil {
					t.Fatal(err)
				}
				cc.Certificates = []stdtls.Certificate{pair}
			}
			c, err := stdtls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", ln.Addr().String(), cc)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, err = c.Read(make([]byte, 1)) // TLS 1.3: the server's verdict comes after the client's Finished
			if (err == nil) != tt.ok {
				t.Fatalf("read err %v, want ok=%v", err, tt.ok)
			}
			if got := certs.TrustedPeerAddr(c.LocalAddr().String()); got != tt.trusted {
				t.Fatalf("TrustedPeerAddr = %v, want %v", got, tt.trusted)
			}
			if got := strings.Join(certs.PeerNames(c.LocalAddr().String()), " "); got != tt.names {
				t.Fatalf("PeerNames = %q, want %q", got, tt.names)
			}
		})
	}
}

func TestClientFor(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "trunk CA")
	me := ca.Issue(t, dir, "me", "me", false, "sipedge.example.com")
	base := Config{CA: ca.WriteCA(t, dir, "ca"), ClientCert: me.CertFile, ClientKey: me.KeyFile}
	tc, err := base.ClientFor(Client{ServerName: "sip.trunk.example"})
	if err != nil {
		t.Fatal(err)
	}
	if tc.ServerName != "sip.trunk.example" || tc.RootCAs == nil || len(tc.Certificates) != 1 || tc.MinVersion != stdtls.VersionTLS12 || tc.InsecureSkipVerify {
		t.Fatalf("ClientFor: %+v", tc)
	}
	if err := (Client{CA: filepath.Join(dir, "nope.pem"), Cert: me.CertFile, ServerName: "*.x"}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "ca (") || !strings.Contains(err.Error(), "key: required when cert is set") || !strings.Contains(err.Error(), "server_name (*.x)") {
		t.Fatalf("Client.Validate() = %v", err)
	}
	err = Config{ClientAuth: "maybe", TrustedNames: []string{"bad name"}, ClientKey: me.KeyFile}.Validate()
	for _, w := range []string{"client_auth (maybe): must be", "trusted_names[0] (bad name)", "client_cert: required when client_key is set"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in %v", w, err)
		}
	}
	err = Config{ClientAuth: "require"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "client_ca: required with client_auth require") {
		t.Errorf("Validate() = %v", err)
	}
}
