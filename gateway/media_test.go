package gateway

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/self"
	"github.com/sipedge/sipedge/rtpengine"
	"github.com/sipedge/sipedge/rtpengine/rtpenginetest"
	"github.com/sipedge/sipedge/test/loopback"
)

// wsPeer is a browser-like SIP client on a raw WebSocket.
type wsPeer struct {
	t    testing.TB
	c    *websocket.Conn
	host string // our fake .invalid host
}

func dialWS(t testing.TB, addr string) *wsPeer {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", &websocket.DialOptions{Subprotocols: []string{"sip"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return &wsPeer{t: t, c: c, host: "df7jal23ls0d.invalid"}
}

func (w *wsPeer) send(m string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, []byte(strings.ReplaceAll(m, "{src}", w.host))); err != nil {
		w.t.Fatal(err)
	}
}

// recv returns the next SIP message, skipping 100 Trying.
func (w *wsPeer) recv(wait time.Duration) sip.Message {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		_, b, err := w.c.Read(ctx)
		if err != nil {
			w.t.Fatalf("ws read: %v", err)
		}
		m := parse(w.t, string(b))
		if r, ok := m.(*sip.Response); ok && r.StatusCode == 100 {
			continue
		}
		return m
	}
}

func mediaGW(t *testing.T, node string) (*testGW, *rtpengine.Client, *udpPeer) {
	t.Helper()
	rc := rtpengine.Config{Nodes: []rtpengine.Node{{Address: node}}, Timeout: 500 * time.Millisecond}
	rc.SetDefaults()
	rtp, err := rtpengine.New(rc, nil)
	if err != nil {
		t.Fatal(err)
	}
	uas := newUDPPeer(t)
	cfg := baseConfig()
	cfg.Trusted = []string{"127.0.0.1/32"}
	cfg.Routes = []route.Rule{{To: []string{"sip:" + uas.addr()}}}
	gw := startGWWith(t, cfg, Deps{RTP: rtp, Listeners: []Listener{{Transport: "ws", Addr: "127.0.0.1:0", Path: "/ws"}}})
	return gw, rtp, uas
}

func chromeOffer(t testing.TB) string {
	b, err := os.ReadFile("../rtpengine/testdata/chrome-offer.sdp")
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

func sdpMsg(start string, hdrs []string, sdp string) string {
	sdp = strings.ReplaceAll(sdp, "\n", "\r\n")
	lines := append([]string{start}, hdrs...)
	lines = append(lines, "Content-Type: application/sdp", "Content-Length: "+itoa(len(sdp)), "", sdp)
	return strings.Join(lines, "\r\n")
}

const plainAnswer = "v=0\no=uas 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 40000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\na=sendrecv\n"

// TestBrowserCallThroughRTPEngine: a browser-like WebSocket client calls a
// classic UDP endpoint; the real rtpengine rewrites the offer to plain RTP
// and the answer to ICE + DTLS-SRTP with BUNDLE restored; BYE deletes the
// session; a second call is ended by closing the WebSocket (the classic side
// gets our BYE and rtpengine forgets the call).
func TestBrowserCallThroughRTPEngine(t *testing.T) {
	d := rtpenginetest.StartDaemon(t)
	gw, rtp, uas := mediaGW(t, d.UDP)
	inList := func(callID string) bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		ids, err := rtp.List(ctx, rtp.Nodes()[0], 100)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Contains(ids, callID)
	}
	call := func(w *wsPeer, cid string) (route string, in *sip.Request) {
		w.send(sdpMsg("INVITE sip:123@example.test SIP/2.0", []string{
			"Via: SIP/2.0/WSS {src};branch=z9hG4bK-" + cid + ";rport", "Max-Forwards: 70",
			"From: <sip:alice@example.test>;tag=wa1", "To: <sip:123@example.test>", "Call-ID: " + cid,
			"CSeq: 1 INVITE", "Contact: <sip:a1b2@{src};transport=ws;ob>"}, chromeOffer(t)))
		in = recvRequest(t, uas, sip.INVITE)
		body := string(in.Body())
		for _, want := range []string{"RTP/AVP", "c=IN IP4 127.0.0.1"} {
			if !strings.Contains(body, want) {
				t.Fatalf("offer toward plain RTP lacks %q:\n%s", want, body)
			}
		}
		for _, bad := range []string{"a=ice-ufrag", "a=fingerprint", "SAVPF", "a=candidate"} {
			if strings.Contains(body, bad) {
				t.Fatalf("offer toward plain RTP still has %q:\n%s", bad, body)
			}
		}
		if rr := in.GetHeaders("Record-Route"); len(rr) != 2 || !strings.Contains(rr[1].Value(), "transport=ws") ||
			!strings.Contains(rr[1].Value(), self.FlowParam+"=") {
			t.Fatalf("Record-Route %v: want two, the second (WebSocket side) with transport=ws and a flow token", rr)
		}
		res := sip.NewResponseFromRequest(in, 200, "OK", []byte(strings.ReplaceAll(plainAnswer, "\n", "\r\n")))
		res.To().Params.Add("tag", "uas1")
		res.AppendHeader(sip.NewHeader("Contact", "<sip:uas@"+uas.addr()+">"))
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		uas.send(gw.addr["udp"], res.String())
		ok, isRes := w.recv(5 * time.Second).(*sip.Response)
		if !isRes || ok.StatusCode != 200 {
			t.Fatalf("browser got %v, want 200", ok)
		}
		ans := string(ok.Body())
		for _, want := range []string{"UDP/TLS/RTP/SAVPF", "a=ice-ufrag", "a=fingerprint:sha-256", "a=setup:passive", "a=rtcp-mux", "a=group:BUNDLE", "a=mid:"} {
			if !strings.Contains(ans, want) {
				t.Fatalf("answer toward the browser lacks %q:\n%s", want, ans)
			}
		}
		if !inList(cid) {
			t.Fatalf("rtpengine does not list call %s", cid)
		}
		rr := ok.GetHeaders("Record-Route")
		vals := make([]string, 0, len(rr))
		for _, h := range rr {
			vals = append(vals, "<"+strings.Trim(h.Value(), "<>")+">")
		}
		slices.Reverse(vals)
		return strings.Join(vals, ", "), in
	}

	// Call 1: ends with the browser's BYE.
	w := dialWS(t, gw.addr["ws"])
	route, _ := call(w, "media-1")
	w.send(msg(w.host, "ACK sip:uas@"+uas.addr()+" SIP/2.0", "Via: SIP/2.0/WSS {src};branch=z9hG4bK-ack1;rport",
		"Max-Forwards: 70", "Route: "+route, "From: <sip:alice@example.test>;tag=wa1",
		"To: <sip:123@example.test>;tag=uas1", "Call-ID: media-1", "CSeq: 1 ACK", "Content-Length: 0", "", "")[0:])
	recvRequest(t, uas, sip.ACK)
	w.send(msg(w.host, "BYE sip:uas@"+uas.addr()+" SIP/2.0", "Via: SIP/2.0/WSS {src};branch=z9hG4bK-bye1;rport",
		"Max-Forwards: 70", "Route: "+route, "From: <sip:alice@example.test>;tag=wa1",
		"To: <sip:123@example.test>;tag=uas1", "Call-ID: media-1", "CSeq: 2 BYE", "Content-Length: 0", "", ""))
	bye := recvRequest(t, uas, sip.BYE)
	reply(t, uas, gw.addr["udp"], bye, 200, "OK", "")
	if r, ok := w.recv(3 * time.Second).(*sip.Response); !ok || r.StatusCode != 200 {
		t.Fatalf("BYE answer %v", r)
	}
	waitGone(t, inList, "media-1")

	// Call 2: the browser's WebSocket closes mid-call.
	w2 := dialWS(t, gw.addr["ws"])
	call(w2, "media-2")
	_ = w2.c.Close(websocket.StatusGoingAway, "tab closed")
	gbye := recvRequest(t, uas, sip.BYE)
	if callID(gbye) != "media-2" || fromTag(gbye) != "wa1" || toTag(gbye) != "uas1" {
		t.Fatalf("BYE after flow loss has wrong dialog: %s", gbye.String())
	}
	reply(t, uas, gw.addr["udp"], gbye, 200, "OK", "")
	waitGone(t, inList, "media-2")
}

// waitGone polls (bounded) until rtpengine no longer lists callID.
func waitGone(t *testing.T, inList func(string) bool, callID string) {
	t.Helper()
	for i := 0; i < 50; i++ {
		if !inList(callID) {
			return
		}
		time.Sleep(40 * time.Millisecond)
	}
	t.Fatalf("rtpengine still lists %s", callID)
}

// TestRTPEngineDown: with no rtpengine answering, a browser's call gets 503
// within the configured timeout, never a hang.
func TestRTPEngineDown(t *testing.T) {
	dead := "udp:127.0.0.1:" + itoa(loopback.FreePort(t))
	gw, _, _ := mediaGW(t, dead)
	w := dialWS(t, gw.addr["ws"])
	start := time.Now()
	w.send(sdpMsg("INVITE sip:123@example.test SIP/2.0", []string{
		"Via: SIP/2.0/WSS {src};branch=z9hG4bK-down;rport", "Max-Forwards: 70",
		"From: <sip:alice@example.test>;tag=wd1", "To: <sip:123@example.test>", "Call-ID: down-1",
		"CSeq: 1 INVITE", "Contact: <sip:a1b2@{src};transport=ws>"}, chromeOffer(t)))
	r, ok := w.recv(5 * time.Second).(*sip.Response)
	if !ok || r.StatusCode != 503 {
		t.Fatalf("got %v, want 503", r)
	}
	if el := time.Since(start); el > 1500*time.Millisecond {
		t.Fatalf("503 after %s, want within the 500ms rtpengine timeout (+ margin)", el)
	}
}
