package rtpecho_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/sipedge/sipedge/test/rtpecho"
)

func startUA(t *testing.T, cfg rtpecho.Config) *rtpecho.UA {
	t.Helper()
	u, err := rtpecho.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = u.Close() })
	return u
}

// TestUACallEcho: one UA calls another directly; the caller's stream comes
// back echoed; hold and resume by re-INVITE; BYE from each side.
func TestUACallEcho(t *testing.T) {
	for _, byeFromCaller := range []bool{true, false} {
		name := "bye from callee"
		if byeFromCaller {
			name = "bye from caller"
		}
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			callee := startUA(t, rtpecho.Config{})
			caller := startUA(t, rtpecho.Config{User: "caller", Media: rtpecho.MediaConfig{NoEcho: true}})
			out, err := caller.Call(ctx, rtpecho.CallParams{To: callee.URI(), Proxy: callee.Addr()})
			if err != nil {
				t.Fatal(err)
			}
			in, err := callee.WaitCall(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := in.WaitAck(ctx); err != nil {
				t.Fatal(err)
			}
			if in.CallID != out.CallID || in.Outgoing || !out.Outgoing {
				t.Fatalf("calls: in %+v out %+v", in, out)
			}
			if err := out.Media.Send(ctx, 10); err != nil {
				t.Fatal(err)
			}
			if err := out.Media.WaitIn(ctx, 10); err != nil {
				t.Fatal(err)
			}
			if s := out.Media.Stats(); s.OwnIn != 10 {
				t.Errorf("caller got %d own packets back, want 10 (%+v)", s.OwnIn, s)
			}
			// Hold: caller offers sendonly, callee answers recvonly and stops echoing.
			if err := out.Reinvite(ctx, rtpecho.SendOnly); err != nil {
				t.Fatal(err)
			}
			if d := in.Media.Direction(); d != rtpecho.RecvOnly {
				t.Errorf("callee direction on hold %q, want recvonly", d)
			}
			if r := out.Media.Remote(); r.Direction != rtpecho.RecvOnly || r.Addr != in.Media.Addr() {
				t.Errorf("hold answer %+v, want recvonly on the same port %v", r, in.Media.Addr())
			}
			if err := out.Reinvite(ctx, rtpecho.SendRecv); err != nil {
				t.Fatal(err)
			}
			if in.Reinvites() != 2 || out.Reinvites() != 2 {
				t.Errorf("re-INVITEs: callee %d caller %d, want 2", in.Reinvites(), out.Reinvites())
			}
			if err := out.Media.Send(ctx, 5); err != nil {
				t.Fatal(err)
			}
			if err := out.Media.WaitIn(ctx, 15); err != nil {
				t.Fatal(err)
			}
			hangup, other, want := in, out, rtpecho.EndByeReceived
			if byeFromCaller {
				hangup, other = out, in
			}
			if err := hangup.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			if got, err := other.WaitEnded(ctx); err != nil || got != want {
				t.Errorf("other side ended %q (%v), want %q", got, err, want)
			}
			if hangup.EndReason() != rtpecho.EndByeSent {
				t.Errorf("hangup side reason %q", hangup.EndReason())
			}
		})
	}
}

// TestUACancel: the callee rings; the caller gives up (context cancelled
// → CANCEL); the callee's call ends as cancelled.
func TestUACancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	callee := startUA(t, rtpecho.Config{RingFor: 5 * time.Second})
	caller := startUA(t, rtpecho.Config{User: "caller"})
	cctx, ccancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := caller.Call(cctx, rtpecho.CallParams{To: callee.URI(), Proxy: callee.Addr()})
		errc <- err
	}()
	in, err := callee.WaitCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ccancel()
	if got, err := in.WaitEnded(ctx); err != nil || got != rtpecho.EndCancelled {
		t.Errorf("callee call ended %q (%v), want cancelled", got, err)
	}
	if err := <-errc; err == nil {
		t.Error("cancelled call returned no error")
	}
}

// TestUARejectsBadSDP: an offer without audio gets 488.
func TestUARejectsBadSDP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	callee := startUA(t, rtpecho.Config{})
	caller := startUA(t, rtpecho.Config{User: "caller"})
	_, err := caller.Call(ctx, rtpecho.CallParams{To: callee.URI(), Proxy: callee.Addr(), Offer: "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 4000 RTP/AVP 96\r\n"})
	var de *sipgo.ErrDialogResponse
	if !errors.As(err, &de) || de.Res.StatusCode != 488 {
		t.Fatalf("err %v, want a 488 dialog response", err)
	}
}
