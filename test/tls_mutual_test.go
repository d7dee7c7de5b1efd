package test

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/tls/tlstest"
)

// TestTLSMutualToUAS calls from a phone on UDP through sipedge to a Go UAS
// over TLS that requires a client certificate from its CA: with sipedge's
// client certificate and the UAS's CA as tls.ca the call completes; with
// another CA as tls.ca the phone gets 503 at once and the log names the
// certificate error. (Without a client certificate the UAS, under TLS 1.3,
// refuses after the handshake: sipedge answers 503 at once or only after
// its write times out, depending on which comes first; not tested here.)
func TestTLSMutualToUAS(t *testing.T) {
	dir := t.TempDir()
	uasCA, edgeCA, otherCA := tlstest.NewCA(t, "UAS CA"), tlstest.NewCA(t, "edge CA"), tlstest.NewCA(t, "other CA")
	uasLeaf := uasCA.Issue(t, dir, "uas", "uas", false, edgeUASIP)
	edgeLeaf := edgeCA.Issue(t, dir, "edge", "sipedge", false, "sipedge.example.com")
	pair, err := tls.LoadX509KeyPair(uasLeaf.CertFile, uasLeaf.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	uas := startGoUAS(t, edgeUASIP, "tls", &tls.Config{Certificates: []tls.Certificate{pair},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: edgeCA.Pool, MinVersion: tls.VersionTLS12})
	for _, tt := range []struct {
		name string
		ca   string
		want string // "" = the call completes
		log  string // in the "request failed" line
	}{
		{"right CA", uasCA.WriteCA(t, dir, "uas-ca"), "", ""},
		{"wrong CA", otherCA.WriteCA(t, dir, "other-ca"), "INVITE with credentials: 503", "certificate signed by unknown authority"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := banConfig(uas.Addr + ";transport=tls")
			cfg.Listen = []string{"udp://127.0.0.1:0", "tls://127.0.0.1:0"} // a tls listener to send from
			cfg.TLS = map[string]any{"cert": edgeLeaf.CertFile, "key": edgeLeaf.KeyFile,
				"ca": tt.ca, "client_cert": edgeLeaf.CertFile, "client_key": edgeLeaf.KeyFile}
			gw := startSipedge(t, cfg)
			c, err := newEdgeCaller(edgePhoneIP, gw.Addr(t, "udp"), "alice", "alice-secret")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			err = c.Call("15551234", 10*time.Second)
			took := time.Since(start)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("mutual TLS call: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("call with the wrong CA: %v, want %q", err, tt.want)
			}
			if tt.want != "" {
				if took > 3*time.Second {
					t.Errorf("503 after %v, want at once", took)
				}
				waitLog(t, gw, 2*time.Second, 1, `msg="request failed"`, "code=503", tt.log)
			}
		})
	}
	if uas.byes.Load() != 1 {
		t.Fatalf("UAS saw %d BYEs, want 1 (the mutual TLS call)", uas.byes.Load())
	}
}

// TestTLSMutualListener has sipedge's tls listener request client
// certificates from a CA and trust pbx.example.com: an INVITE over TLS
// from a client with that certificate is forwarded without a challenge;
// one with another name is challenged (407), and so is one whose
// certificate is from another CA (Go's client does not offer a certificate
// the server's CA list does not cover; the listener only requests one).
func TestTLSMutualListener(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA, otherCA := tlstest.NewCA(t, "server CA"), tlstest.NewCA(t, "client CA"), tlstest.NewCA(t, "other CA")
	srv := serverCA.Issue(t, dir, "server", "sipedge", false, "127.0.0.1")
	uas := startGoUAS(t, edgeUASIP, "udp", nil)
	cfg := banConfig(uas.Addr)
	cfg.Listen = []string{"udp://127.0.0.1:0", "tls://127.0.0.1:0"}
	cfg.TLS = map[string]any{"cert": srv.CertFile, "key": srv.KeyFile, "client_auth": "request",
		"client_ca": clientCA.WriteCA(t, dir, "client-ca"), "trusted_names": []string{"pbx.example.com"}}
	gw := startSipedge(t, cfg)
	addr := gw.Addr(t, "tls")
	for _, tt := range []struct {
		name string
		leaf tlstest.Leaf
		want string // status line prefix, "" = handshake refused
	}{
		{"trusted certificate", clientCA.Issue(t, dir, "pbx", "pbx", false, "pbx.example.com"), "SIP/2.0 200"},
		{"other name", clientCA.Issue(t, dir, "phone", "phone", false, "phone.example.com"), "SIP/2.0 407"},
		{"other CA", otherCA.Issue(t, dir, "rogue", "rogue", false, "pbx.example.com"), "SIP/2.0 407"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pair, err := tls.LoadX509KeyPair(tt.leaf.CertFile, tt.leaf.KeyFile)
			if err != nil {
				t.Fatal(err)
			}
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(edgePhoneIP)}}, "tcp", addr,
				&tls.Config{RootCAs: serverCA.Pool, ServerName: "127.0.0.1", Certificates: []tls.Certificate{pair}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			local := c.LocalAddr().String()
			sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n"
			msg := fmt.Sprintf("INVITE sip:15551234@example.test SIP/2.0\r\nVia: SIP/2.0/TLS %s;branch=z9hG4bK%s\r\n"+
				"From: <sip:pbx@pbx.example.com>;tag=p1\r\nTo: <sip:15551234@example.test>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"+
				"Contact: <sip:pbx@%s;transport=tls>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
				local, randHex(8), randHex(8), local, len(sdp), sdp)
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write([]byte(msg)); err != nil {
				if tt.want == "" {
					return
				}
				t.Fatal(err)
			}
			var got strings.Builder
			buf := make([]byte, 8192)
			for {
				n, err := c.Read(buf)
				got.Write(buf[:n])
				s := got.String()
				if tt.want != "" && (strings.Contains(s, "SIP/2.0 200") || strings.Contains(s, "SIP/2.0 4")) {
					if !strings.Contains(s, tt.want) {
						t.Fatalf("got %q, want %s", firstLines(s), tt.want)
					}
					return
				}
				if err != nil {
					if tt.want == "" && !strings.Contains(s, "SIP/2.0") {
						return // refused in the handshake, nothing answered
					}
					t.Fatalf("read: %v after %q", err, firstLines(s))
				}
			}
		})
	}
}

// firstLines is the status lines of the responses in s.
func firstLines(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\r\n") {
		if strings.HasPrefix(l, "SIP/2.0 ") {
			out = append(out, l)
		}
	}
	return strings.Join(out, " | ")
}
