package webrtcpeer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/webrtcpeer"
)

func newPeer(t *testing.T, cfg webrtcpeer.Config) *webrtcpeer.Peer {
	t.Helper()
	p, err := webrtcpeer.NewPeer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// TestPeerToPeer connects two peers directly over loopback: each gets the
// other's packets (foreign payloads, no echo).
func TestPeerToPeer(t *testing.T) {
	for _, codec := range []string{webrtcpeer.CodecPCMU, webrtcpeer.CodecOpus} {
		t.Run(codec, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			a, b := newPeer(t, webrtcpeer.Config{Codec: codec}), newPeer(t, webrtcpeer.Config{Codec: codec})
			offer, err := a.CreateOffer()
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"a=group:BUNDLE", "a=rtcp-mux", "a=setup:actpass", "c=IN IP4 127.0.0.1", " 127.0.0.1 "} {
				if !strings.Contains(offer, want) {
					t.Errorf("offer lacks %q:\n%s", want, offer)
				}
			}
			answer, err := b.AcceptOffer(offer)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.SetAnswer(answer); err != nil {
				t.Fatal(err)
			}
			for _, p := range []*webrtcpeer.Peer{a, b} {
				if err := p.WaitConnected(ctx); err != nil {
					t.Fatal(err)
				}
			}
			errc := make(chan error, 1)
			go func() { errc <- b.Send(ctx, 25) }()
			if err := a.Send(ctx, 25); err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			for _, p := range []*webrtcpeer.Peer{a, b} {
				wctx, wcancel := context.WithTimeout(ctx, time.Second)
				_ = p.WaitReceived(wctx, 25)
				wcancel()
				s := p.Stats()
				if s.PacketsSent != 25 || s.PacketsReceived < 20 || s.Echoed != 0 || s.Foreign != s.PacketsReceived || !p.Connected() {
					t.Errorf("stats %+v", s)
				}
			}
		})
	}
}

func TestNewPeerRejectsUnknownCodec(t *testing.T) {
	if _, err := webrtcpeer.NewPeer(webrtcpeer.Config{Codec: "G729"}); err == nil {
		t.Fatal("NewPeer accepted codec G729")
	}
}

func TestBrowserLikeSDP(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"pion offer", "v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\na=candidate:1 2 udp 2130706431 127.0.0.1 5000 typ host\r\n",
			"v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 5000 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 127.0.0.1\r\na=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\na=candidate:1 2 udp 2130706431 127.0.0.1 5000 typ host\r\n"},
		{"no candidate", "v=0\nm=audio 9 X 0\nc=IN IP4 0.0.0.0\n", "v=0\nm=audio 9 X 0\nc=IN IP4 0.0.0.0\n"},
		{"rejected section kept at port 0", "m=audio 0 X 0\r\nc=IN IP4 0.0.0.0\r\na=candidate:1 1 udp 1 127.0.0.1 7 typ host\r\n", "m=audio 0 X 0\r\nc=IN IP4 127.0.0.1\r\na=candidate:1 1 udp 1 127.0.0.1 7 typ host\r\n"},
		{"ipv6 candidate ignored", "m=audio 9 X 0\nc=IN IP4 0.0.0.0\na=candidate:1 1 udp 1 ::1 7 typ host\n", "m=audio 9 X 0\nc=IN IP4 0.0.0.0\na=candidate:1 1 udp 1 ::1 7 typ host\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := webrtcpeer.BrowserLikeSDP(tt.in); got != tt.want {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func FuzzBrowserLikeSDP(f *testing.F) {
	f.Add("m=audio 9 X 0\r\nc=IN IP4 0.0.0.0\r\na=candidate:1 1 udp 1 127.0.0.1 7 typ host\r\n")
	f.Add("a=candidate:\nm=\n")
	f.Fuzz(func(t *testing.T, s string) {
		_ = webrtcpeer.BrowserLikeSDP(s) // must not panic
	})
}

func TestCheckChromiumRules(t *testing.T) {
	const ok = "v=0\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=audio 5 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=rtcp-mux\r\n"
	tests := []struct {
		name, sdp string
		wantErr   bool
	}{
		{"bundled and muxed", ok, false},
		{"no BUNDLE group (rtpengine 10.5 answer)", strings.Replace(ok, "a=group:BUNDLE 0\r\n", "", 1), true},
		{"mid outside group", strings.Replace(ok, "a=mid:0", "a=mid:1", 1), true},
		{"no rtcp-mux", strings.Replace(ok, "a=rtcp-mux\r\n", "", 1), true},
		{"rejected section ignored", ok + "m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:v\r\n", false},
		{"no m= line", "v=0\r\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webrtcpeer.CheckChromiumRules(tt.sdp)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, webrtcpeer.ErrNotBrowserSDP) {
				t.Errorf("err %v does not wrap ErrNotBrowserSDP", err)
			}
		})
	}
}

func FuzzCheckChromiumRules(f *testing.F) {
	f.Add("v=0\r\na=group:BUNDLE 0\r\nm=audio 5 X 0\r\na=mid:0\r\na=rtcp-mux\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		if err := webrtcpeer.CheckChromiumRules(s); err != nil && !errors.Is(err, webrtcpeer.ErrNotBrowserSDP) {
			t.Fatal(err)
		}
	})
}

// TestTelephoneEventOffer: with Config.TelephoneEvent the offer lists
// telephone-event/8000 on payload type 101 after the audio codec, as
// Chromium's does; without it, only the codec.
func TestTelephoneEventOffer(t *testing.T) {
	for _, te := range []bool{true, false} {
		p, err := webrtcpeer.NewPeer(webrtcpeer.Config{TelephoneEvent: te})
		if err != nil {
			t.Fatal(err)
		}
		offer, err := p.CreateOffer()
		_ = p.Close()
		if err != nil {
			t.Fatal(err)
		}
		hasTE := strings.Contains(offer, "a=rtpmap:101 telephone-event/8000")
		if hasTE != te || strings.Contains(offer, "UDP/TLS/RTP/SAVPF 0 101") != te {
			t.Errorf("TelephoneEvent %v: offer has telephone-event %v:\n%s", te, hasTE, offer)
		}
	}
}
