package test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/rtpengine"
	"github.com/sipedge/sipedge/test/rtpecho"
	"github.com/sipedge/sipedge/test/webrtcpeer"
)

// These tests prove the media peers against the real rtpengine, without
// sipedge: the ng offer/answer a gateway would send for each direction,
// then ICE + DTLS-SRTP between the pion peer and rtpengine and plain RTP
// between rtpengine and the echoing endpoint.

const (
	mediaPackets = 100 // 2 s of 20 ms packets
	mediaMinPct  = 80  // share that must come back
)

func newNGClient(t *testing.T, r *rtpengineProc) *rtpengine.Client {
	t.Helper()
	c, err := rtpengine.New(rtpengine.Config{Nodes: []rtpengine.Node{{Address: r.NG}}, Timeout: 2 * time.Second},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func newPeer(t *testing.T) *webrtcpeer.Peer {
	t.Helper()
	p, err := webrtcpeer.NewPeer(webrtcpeer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func newMedia(t *testing.T) *rtpecho.Media {
	t.Helper()
	m, err := rtpecho.NewMedia(rtpecho.MediaConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// sdpLines returns the lines of sdp that start with prefix.
func sdpLines(sdp, prefix string) []string {
	var out []string
	for _, l := range strings.Split(sdp, "\n") {
		if l = strings.TrimRight(l, "\r"); strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// checkPlainSDP fails unless sdp is plain RTP: RTP/AVP, no ICE, no DTLS.
func checkPlainSDP(t *testing.T, what, sdp string) {
	t.Helper()
	m := sdpLines(sdp, "m=audio ")
	if len(m) != 1 || !strings.Contains(m[0], " RTP/AVP ") {
		t.Errorf("%s: m= line %q, want one RTP/AVP audio line\n%s", what, m, sdp)
	}
	for _, bad := range []string{"a=candidate:", "a=ice-ufrag:", "a=fingerprint:", "a=setup:", "a=crypto:"} {
		if len(sdpLines(sdp, bad)) > 0 {
			t.Errorf("%s: plain RTP SDP has %s\n%s", what, bad, sdp)
		}
	}
}

// checkBrowserSDP fails unless sdp is what a browser needs: SAVPF over
// DTLS, ICE candidates, rtcp-mux, a mid.
func checkBrowserSDP(t *testing.T, what, sdp string) {
	t.Helper()
	m := sdpLines(sdp, "m=audio ")
	if len(m) != 1 || !strings.Contains(m[0], " UDP/TLS/RTP/SAVPF ") {
		t.Errorf("%s: m= line %q, want one UDP/TLS/RTP/SAVPF audio line\n%s", what, m, sdp)
	}
	for _, want := range []string{"a=candidate:", "a=ice-ufrag:", "a=fingerprint:", "a=setup:", "a=rtcp-mux", "a=mid:"} {
		if len(sdpLines(sdp, want)) == 0 {
			t.Errorf("%s: browser SDP lacks %s\n%s", what, want, sdp)
		}
	}
}

// deleteAndCheckGone deletes the call and checks query and list no longer
// know it.
func deleteAndCheckGone(ctx context.Context, t *testing.T, ng *rtpengine.Client, callID, fromTag string) {
	t.Helper()
	if _, err := ng.Delete(ctx, rtpengine.DeleteParams{CallID: callID, FromTag: fromTag}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := ng.Query(ctx, rtpengine.CallRef{CallID: callID}); !errors.Is(err, rtpengine.ErrRejected) {
		t.Errorf("query after delete: err %v, want ErrRejected (unknown call)", err)
	}
	calls, err := ng.List(ctx, "", 0)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if slices.Contains(calls, callID) {
		t.Errorf("list after delete still has %s: %v", callID, calls)
	}
}

// exchangeMedia has the peer send mediaPackets packets and checks that at
// least mediaMinPct percent come back as its own payloads through rtpecho.
func exchangeMedia(ctx context.Context, t *testing.T, peer *webrtcpeer.Peer, echo *rtpecho.Media) {
	t.Helper()
	if err := peer.WaitConnected(ctx); err != nil {
		t.Fatalf("ICE+DTLS with rtpengine: %v", err)
	}
	if err := peer.Send(ctx, mediaPackets); err != nil {
		t.Fatalf("send: %v", err)
	}
	want := mediaPackets * mediaMinPct / 100
	wctx, cancel := context.WithTimeout(ctx, time.Second) // the last echoes in flight
	defer cancel()
	_ = peer.WaitReceived(wctx, mediaPackets)
	ps, es := peer.Stats(), echo.Stats()
	t.Logf("peer %+v; rtpecho %+v", ps, es)
	if ps.PacketsSent != mediaPackets {
		t.Errorf("peer sent %d packets, want %d", ps.PacketsSent, mediaPackets)
	}
	if es.PacketsIn < want {
		t.Errorf("rtpecho received %d plain RTP packets, want >= %d", es.PacketsIn, want)
	}
	if ps.Echoed < want {
		t.Errorf("peer got %d of its own payloads back (decrypted), want >= %d", ps.Echoed, want)
	}
	if ps.PayloadType != 0 || es.LastPayloadType != 0 {
		t.Errorf("payload types: peer got %d, rtpecho got %d, want PCMU 0 both", ps.PayloadType, es.LastPayloadType)
	}
}

// TestMediaBrowserToPlainRTP is the browser-calls-phone leg pair: the pion
// peer's offer goes to rtpengine with ToPlainRTP, rtpecho answers the plain
// offer, the answer goes back with ToBrowser and the BUNDLE group restored.
func TestMediaBrowserToPlainRTP(t *testing.T) {
	ctx := withTimeout(t, 20*time.Second)
	rtpe := startRTPEngine(t)
	ng := newNGClient(t, rtpe)
	peer, echo := newPeer(t), newMedia(t)
	callID, fromTag, toTag := randHex(8)+"@media-test", randHex(4), randHex(4)

	offer, err := peer.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	if !webrtcpeer.SDPHasCandidates(offer) || len(sdpLines(offer, "a=group:BUNDLE")) != 1 {
		t.Fatalf("peer offer lacks candidates or BUNDLE:\n%s", offer)
	}
	for _, c := range sdpLines(offer, "a=candidate:") {
		if !strings.Contains(c, " 127.0.0.1 ") {
			t.Fatalf("peer gathered a non-loopback candidate: %s", c)
		}
	}
	off, err := ng.Offer(ctx, rtpengine.OfferParams{CallID: callID, FromTag: fromTag, SDP: offer, Options: rtpengine.ToPlainRTP()})
	if err != nil {
		t.Fatalf("ng offer: %v", err)
	}
	checkPlainSDP(t, "offer toward plain RTP", off.SDP)
	answer, err := echo.Answer(off.SDP)
	if err != nil {
		t.Fatalf("rtpecho answer: %v", err)
	}
	ans, err := ng.Answer(ctx, rtpengine.AnswerParams{CallID: callID, FromTag: fromTag, ToTag: toTag, SDP: answer, Options: rtpengine.ToBrowser()})
	if err != nil {
		t.Fatalf("ng answer: %v", err)
	}
	checkBrowserSDP(t, "answer toward browser", ans.SDP)
	t.Logf("rtpengine answer toward browser has BUNDLE group: %v; a=setup: %v", len(sdpLines(ans.SDP, "a=group:BUNDLE")) > 0, sdpLines(ans.SDP, "a=setup:"))
	if len(sdpLines(ans.SDP, "a=group:BUNDLE")) == 0 { // rtpengine 10.5 drops it: a browser-like peer refuses
		if err := peer.SetAnswer(ans.SDP); !errors.Is(err, webrtcpeer.ErrNotBrowserSDP) {
			t.Fatalf("answer without BUNDLE group: SetAnswer err %v, want ErrNotBrowserSDP", err)
		}
	}
	if err := peer.SetAnswer(rtpengine.RestoreBundle(offer, ans.SDP)); err != nil {
		t.Fatalf("answer refused by the peer: %v\n%s", err, ans.SDP)
	}
	exchangeMedia(ctx, t, peer, echo)
	deleteAndCheckGone(ctx, t, ng, callID, fromTag)
}

// TestMediaPlainRTPToBrowser is the phone-calls-browser leg pair: a plain
// RTP offer goes to rtpengine with ToBrowser, the pion peer answers, and
// the answer goes back with ToPlainRTP. Both ends send their own stream
// and rtpecho echoes the peer's.
func TestMediaPlainRTPToBrowser(t *testing.T) {
	ctx := withTimeout(t, 20*time.Second)
	rtpe := startRTPEngine(t)
	ng := newNGClient(t, rtpe)
	peer, echo := newPeer(t), newMedia(t)
	callID, fromTag, toTag := randHex(8)+"@media-test", randHex(4), randHex(4)

	plain := echo.Offer("")
	off, err := ng.Offer(ctx, rtpengine.OfferParams{CallID: callID, FromTag: fromTag, SDP: plain, Options: rtpengine.ToBrowser()})
	if err != nil {
		t.Fatalf("ng offer: %v", err)
	}
	checkBrowserSDP(t, "offer toward browser", off.SDP)
	t.Logf("rtpengine offer toward browser: BUNDLE group %v, a=setup: %v", len(sdpLines(off.SDP, "a=group:BUNDLE")) > 0, sdpLines(off.SDP, "a=setup:"))
	answer, err := peer.AcceptOffer(rtpengine.EnsureBundle(off.SDP))
	if err != nil {
		t.Fatalf("offer refused by the peer: %v\n%s", err, off.SDP)
	}
	ans, err := ng.Answer(ctx, rtpengine.AnswerParams{CallID: callID, FromTag: fromTag, ToTag: toTag, SDP: answer, Options: rtpengine.ToPlainRTP()})
	if err != nil {
		t.Fatalf("ng answer: %v", err)
	}
	checkPlainSDP(t, "answer toward plain RTP", ans.SDP)
	if err := echo.SetAnswer(ans.SDP); err != nil {
		t.Fatal(err)
	}
	// rtpecho's own stream runs beside the echo, so the peer sees two
	// SSRCs: its echo and rtpecho's stream.
	if err := peer.WaitConnected(ctx); err != nil {
		t.Fatalf("ICE+DTLS with rtpengine: %v", err)
	}
	own := make(chan error, 1)
	go func() { own <- echo.Send(ctx, mediaPackets/2) }()
	exchangeMedia(ctx, t, peer, echo)
	if err := <-own; err != nil {
		t.Fatalf("rtpecho send: %v", err)
	}
	if ps := peer.Stats(); ps.Foreign < mediaPackets/2*mediaMinPct/100 {
		t.Errorf("peer got %d packets of rtpecho's own stream, want >= %d", ps.Foreign, mediaPackets/2*mediaMinPct/100)
	}
	deleteAndCheckGone(ctx, t, ng, callID, fromTag)
}
