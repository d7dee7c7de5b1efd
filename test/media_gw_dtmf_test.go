package test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/rtpecho"
	"github.com/sipedge/sipedge/test/webrtcpeer"
	"github.com/sipedge/sipedge/test/wsua"
)

// TestMediaGWDTMF: with media.dtmf rfc4733, the browser's SIP INFO
// application/dtmf-relay (what JsSIP sends by default) is answered by
// sipedge itself and rtpengine plays the digit as RFC 4733 events toward
// rtpecho, on the telephone-event payload type the two ends negotiated
// (the browser offers and accepts telephone-event/8000 as Chromium does),
// whether the browser placed the call or answered it. A body without a
// valid digit gets 400 and plays nothing.
func TestMediaGWDTMF(t *testing.T) {
	m := startMediaGW(t, mgwOptions{Media: map[string]any{"dtmf": "rfc4733"}, EchoMedia: rtpecho.MediaConfig{TelephoneEvent: true}})
	for _, dir := range []string{"browser calls", "browser called"} {
		t.Run(dir, func(t *testing.T) { dtmfCall(t, m, dir) })
	}
}

// dtmfCall runs the DTMF table on one call between the browser and
// rtpecho, placed in direction dir.
func dtmfCall(t *testing.T, m *mediaGW, dir string) {
	ctx := withTimeout(t, 15*time.Second)
	b := m.newBrowser(ctx, t, browserOptions{Peer: webrtcpeer.Config{TelephoneEvent: true}})
	var call *wsua.Call
	var ec *rtpecho.Call
	if dir == "browser calls" {
		call, ec = m.browserCallsEcho(ctx, t, b)
	} else {
		ec, call = m.echoCallsBrowser(ctx, t, b)
	}
	if r := ec.Media.Remote(); len(r.Payloads) != 2 || r.Payloads[1] != webrtcpeer.TelephoneEventPT {
		t.Fatalf("SDP toward rtpecho has payload types %v, want [0 %d] (PCMU, telephone-event)", r.Payloads, webrtcpeer.TelephoneEventPT)
	}
	echoExchange(ctx, t, "before DTMF", b.peer, ec.Media, mgwPackets/2)

	// The browser keeps talking while it sends digits: rtpengine puts the
	// events into its stream toward rtpecho.
	sctx, stop := context.WithCancel(ctx)
	talking := make(chan error, 1)
	go func() { talking <- b.peer.Send(sctx, 250) }() // at most 5 s
	defer stop()
	want := ""
	for _, tc := range []struct {
		name  string
		body  string
		code  int
		digit string
	}{
		{"digit 5", "Signal=5\r\nDuration=160\r\n", 200, "5"},
		{"digit #", "Signal=#\r\nDuration=100\r\n", 200, "#"},
		{"no signal", "Duration=100\r\n", 400, ""},
		{"bad signal", "Signal=X\r\nDuration=100\r\n", 400, ""},
		{"bad duration", "Signal=1\r\nDuration=-5\r\n", 400, ""},
		{"digit 9", "Signal=9\r\nDuration=120\r\n", 200, "9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := call.Request(ctx, "INFO", "application/dtmf-relay", []byte(tc.body))
			if err != nil {
				t.Fatalf("INFO: %v", err)
			}
			if res.StatusCode != tc.code {
				t.Fatalf("INFO %q: %d %s, want %d", tc.body, res.StatusCode, res.Reason, tc.code)
			}
			want += tc.digit
			deadline := time.Now().Add(2 * time.Second)
			for ec.Media.Stats().DTMF != want && time.Now().Before(deadline) {
				pause(10 * time.Millisecond)
			}
			s := ec.Media.Stats()
			if s.DTMF != want {
				t.Errorf("rtpecho received DTMF %q, want %q (packets per payload type %v)", s.DTMF, want, s.ByPayloadType)
			}
		})
	}
	s := ec.Media.Stats()
	t.Logf("rtpecho: DTMF %q, packets per payload type %v", s.DTMF, s.ByPayloadType)
	if s.ByPayloadType[webrtcpeer.TelephoneEventPT] == 0 {
		t.Errorf("rtpecho got no packet of payload type %d (telephone-event)", webrtcpeer.TelephoneEventPT)
	}
	stop()
	if err := <-talking; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("browser send: %v", err)
	}
	hangUp(ctx, t, "browser", call, ec, m.echo.Addr())
	m.waitSessionGone(ctx, t, ec.CallID)
}
