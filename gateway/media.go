package gateway

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/status"
	"github.com/sipedge/sipedge/rtpengine"
)

// side is the kind of a call leg: what its media speaks.
type side int

const (
	classic side = iota // plain RTP (SIP phones, trunks, PBXs)
	browser             // ICE + DTLS-SRTP (WebRTC over a WebSocket flow)
)

func (s side) String() string {
	if s == browser {
		return "browser"
	}
	return "classic"
}

// sideOf classifies a leg by its transport.
func sideOf(transport string) side {
	switch strings.ToLower(transport) {
	case "ws", "wss":
		return browser
	}
	return classic
}

// anchored decides whether rtpengine relays the media between legs a and b.
func (g *Gateway) anchored(a, b side) bool {
	if g.rtp == nil {
		return false
	}
	switch {
	case a == classic && b == classic:
		return g.cfg.Media.ClassicToClassic == "anchor"
	case a == browser && b == browser:
		return g.cfg.Media.BrowserToBrowser == "anchor"
	}
	return true
}

// recipe is how rtpengine rewrites an SDP that goes toward a leg of kind
// toward, coming from a leg of kind from at src (ip:port). An SDP from a
// browser always carries DTLS-reverse passive: otherwise rtpengine starts
// DTLS as client toward the browser before the answer exists and the
// browser's handshake never completes (reference chromium-rtpengine.md §1).
func (g *Gateway) recipe(toward, from side, src string) rtpengine.Options {
	o := rtpengine.ToPlainRTP()
	if toward == browser {
		o = rtpengine.ToBrowser()
	}
	if from == browser {
		o.DTLSReverse = rtpengine.DTLSPassive
	}
	o.Flags = slices.Clone(o.Flags)
	if g.cfg.Media.DTMF == "rfc4733" {
		o.Flags = append(o.Flags, "inject-DTMF")
	}
	if host, _, err := net.SplitHostPort(src); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			o.ReceivedFrom = a.Unmap()
		}
	}
	return o
}

// mediaErr is the answer when no rtpengine node can take a call.
func mediaErr(err error) error {
	return status.New(503, "Service Unavailable", fmt.Errorf("%w: media relay: %w", ErrUnreachable, err))
}

func fromTag(m sip.Message) string {
	if f := m.From(); f != nil {
		t, _ := f.Params.Get("tag")
		return t
	}
	return ""
}

func toTag(m sip.Message) string {
	if t := m.To(); t != nil {
		tag, _ := t.Params.Get("tag")
		return tag
	}
	return ""
}

func contentType(m interface{ GetHeader(string) sip.Header }) string {
	if h := m.GetHeader("Content-Type"); h != nil {
		return h.Value()
	}
	return ""
}

// deleteMedia removes a call (or one fork branch) from rtpengine in the
// background; errors are logged, never returned.
func (g *Gateway) deleteMedia(p rtpengine.DeleteParams) {
	if g.rtp == nil {
		return
	}
	p.Fast = true
	g.bg.Go(func() {
		// Its own deadline: a delete must happen even when the request
		// that ended the call is gone, or the gateway is shutting down.
		ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
		defer cancel()
		if _, err := g.rtp.Delete(ctx, p); err != nil {
			g.log.Debug("rtpengine delete failed", "call_id", p.CallID, "via_branch", p.ViaBranch, "error", err)
		}
	})
}
