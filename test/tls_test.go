package test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/tls/tlstest"
)

// writeTestCert creates a self-signed ECDSA certificate for 127.0.0.1 and
// localhost in dir and returns the PEM file paths and a pool trusting it.
func writeTestCert(t testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	certFile, keyFile, cert := tlstest.WriteCert(t, dir, "sipedge test")
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestTLSCall places calls over TLS into sipedge (certificate made by the
// test) that leave over UDP to a SIPp UAS. Debian's SIPp is built without
// TLS, so the caller is a sipgo dialog client verifying the certificate;
// it follows the Record-Route set for ACK and BYE.
func TestTLSCall(t *testing.T) {
	const calls = 3
	certFile, keyFile, pool := writeTestCert(t, t.TempDir())
	uas := startSIPp(t, sippRun{Name: "uas", Scenario: "uas_call.xml", Calls: calls})
	cfg := callConfig(sipURI(uas.Port, "udp"))
	cfg.Listen = []string{"udp://127.0.0.1:0", "tls://127.0.0.1:0"}
	cfg.TLSCert, cfg.TLSKey = certFile, keyFile
	gw := startSipedge(t, cfg)
	_, port, err := sip.ParseAddr(gw.Addr(t, "tls"))
	if err != nil {
		t.Fatal(err)
	}

	ua, err := sipgo.NewUA(sipgo.WithUserAgent("tls-uac"),
		sipgo.WithUserAgenTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	params := sip.NewParams()
	params.Add("transport", "tls")
	contact := sip.ContactHeader{Address: sip.Uri{User: "tls-uac", Host: "127.0.0.1", UriParams: params}}
	dc := sipgo.NewDialogClientCache(client, contact)

	var target sip.Uri
	if err := sip.ParseUri(fmt.Sprintf("sip:15551234@127.0.0.1:%d;transport=tls", port), &target); err != nil {
		t.Fatal(err)
	}
	sdp := []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
	for i := range calls {
		ctx := withTimeout(t, 5*time.Second)
		sess, err := dc.Invite(ctx, target, sdp, sip.NewHeader("Content-Type", "application/sdp"))
		if err != nil {
			t.Fatalf("call %d: INVITE over TLS: %v", i, err)
		}
		if err := sess.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
			_ = sess.Close()
			t.Fatalf("call %d: waiting for 200: %v", i, err)
		}
		if rr := sess.InviteResponse.GetHeaders("Record-Route"); len(rr) == 0 {
			t.Errorf("call %d: 200 OK carries no Record-Route", i)
		}
		if err := sess.Ack(ctx); err != nil {
			t.Fatalf("call %d: ACK: %v", i, err)
		}
		// The call lasts 100 ms (what SIPp's -d does): a BYE sent in the same
		// instant as the ACK may overtake it through any parallel proxy.
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
		if err := sess.Bye(ctx); err != nil {
			t.Fatalf("call %d: BYE: %v", i, err)
		}
		_ = sess.Close()
	}
	uas.expectAllSuccessful(t, calls)
}
