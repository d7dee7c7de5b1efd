package test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// goUAS is a sipgo user agent server on a loopback address that answers every
// INVITE with 200 (an SDP answer), takes ACKs and answers BYE with 200.
type goUAS struct {
	Addr    string // host:port it listens on
	invites atomic.Int64
	byes    atomic.Int64
}

// startGoUAS serves network ("udp", or "tls" with tc) on ip, port 0, until
// the test ends.
func startGoUAS(t *testing.T, ip, network string, tc *tls.Config) *goUAS {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("go-uas"), sipgo.WithUserAgentHostname(ip))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	u := &goUAS{}
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		u.invites.Add(1)
		sdp := []byte("v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 " + ip + "\r\nt=0 0\r\nm=audio 6002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
		res := sip.NewResponseFromRequest(req, 200, "OK", sdp)
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		host, port, _ := net.SplitHostPort(u.Addr)
		tr := "udp"
		if network == "tls" {
			tr = "tls"
		}
		res.AppendHeader(sip.NewHeader("Contact", "<sip:uas@"+host+":"+port+";transport="+tr+">"))
		_ = tx.Respond(res)
	})
	srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		u.byes.Add(1)
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	var serve func() error
	var closeFn func() error
	switch network {
	case "udp":
		pc, err := net.ListenPacket("udp", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		u.Addr, closeFn = pc.LocalAddr().String(), pc.Close
		serve = func() error { return srv.ServeUDP(pc) }
	case "tls":
		ln, err := tls.Listen("tcp", ip+":0", tc)
		if err != nil {
			t.Fatal(err)
		}
		u.Addr, closeFn = ln.Addr().String(), ln.Close
		serve = func() error { return srv.ServeTLS(ln) }
	default:
		t.Fatalf("startGoUAS: network %q", network)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := serve(); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, context.Canceled) {
			t.Logf("go UAS: %v", err)
		}
	}()
	t.Cleanup(func() {
		_ = closeFn()
		_ = srv.Close()
		_ = ua.Close()
		wg.Wait()
	})
	return u
}
