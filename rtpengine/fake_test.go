package rtpengine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sipedge/sipedge/rtpengine"
	"github.com/sipedge/sipedge/rtpengine/rtpenginetest"
)

const testSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n"

func newClient(t *testing.T, cfg rtpengine.Config) *rtpengine.Client {
	t.Helper()
	c, err := rtpengine.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func offer(ctx context.Context, c *rtpengine.Client, callID string) (rtpengine.Result, error) {
	return c.Offer(ctx, rtpengine.OfferParams{CallID: callID, FromTag: "f", SDP: testSDP, Options: rtpengine.ToPlainRTP()})
}

// TestResendSameCookie: lost replies are resent with the same bytes and the
// command succeeds.
func TestResendSameCookie(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			srv := rtpenginetest.New(t, network)
			srv.SetFault("offer", rtpenginetest.Fault{Drop: 2})
			c := newClient(t, rtpengine.Config{Nodes: []rtpengine.Node{{Address: srv.Addr()}}, ResendInterval: 20 * time.Millisecond})
			res, err := offer(context.Background(), c, "call-1")
			if err != nil {
				t.Fatal(err)
			}
			if res.SDP != testSDP {
				t.Errorf("sdp %q", res.SDP)
			}
			reqs := srv.Requests()
			if len(reqs) != 3 {
				t.Fatalf("server saw %d copies, want 3", len(reqs))
			}
			for _, r := range reqs[1:] {
				if r.Cookie != reqs[0].Cookie || !bytes.Equal(r.Raw, reqs[0].Raw) {
					t.Errorf("resend differs: %q vs %q", r.Raw, reqs[0].Raw)
				}
			}
			if st := c.Stats()[0]; st.Resends != 2 || st.Replies != 1 || st.State != rtpengine.StateUp {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestFailover: a dead node makes new calls move to the next node within
// the configured timeout, and calls pinned to the dead node fail fast.
func TestFailover(t *testing.T) {
	const timeout = 400 * time.Millisecond
	dead := rtpenginetest.New(t, "udp")
	alive := rtpenginetest.New(t, "udp")
	c := newClient(t, rtpengine.Config{
		Nodes:          []rtpengine.Node{{Address: dead.Addr()}, {Address: alive.Addr()}},
		Timeout:        timeout,
		NodeTimeout:    100 * time.Millisecond,
		ResendInterval: 25 * time.Millisecond,
	})
	ctx := context.Background()

	// Pin one call to each node while both work.
	var onDead string
	for i := 0; i < 50 && onDead == ""; i++ {
		id := fmt.Sprintf("pin-%d", i)
		r, err := offer(ctx, c, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Node == dead.Addr() {
			onDead = id
		}
	}
	if onDead == "" {
		t.Fatal("hashing never chose the first node")
	}

	dead.SetFault("", rtpenginetest.Fault{DropAll: true})
	for i := 0; i < 20; i++ {
		start := time.Now()
		r, err := offer(ctx, c, fmt.Sprintf("new-%d", i))
		took := time.Since(start)
		if err != nil {
			t.Fatalf("offer %d: %v", i, err)
		}
		if r.Node != alive.Addr() {
			t.Errorf("offer %d went to %s", i, r.Node)
		}
		if took > timeout {
			t.Errorf("offer %d took %s, more than timeout %s", i, took, timeout)
		}
	}
	if st := c.Stats()[0]; st.State != rtpengine.StateFailed || st.Timeouts == 0 {
		t.Errorf("dead node stats %+v", st)
	}

	// The call pinned to the dead node does not move.
	start := time.Now()
	_, err := c.Answer(ctx, rtpengine.AnswerParams{CallID: onDead, FromTag: "f", ToTag: "t", SDP: testSDP})
	if !errors.Is(err, rtpengine.ErrNodeDown) || time.Since(start) > 50*time.Millisecond {
		t.Errorf("answer on dead node: %v after %s; want ErrNodeDown at once", err, time.Since(start))
	}

	// With every node dead a new call fails within the timeout, never later.
	alive.SetFault("", rtpenginetest.Fault{DropAll: true})
	for i := 0; i < 3; i++ {
		start = time.Now()
		_, err = offer(ctx, c, fmt.Sprintf("none-%d", i))
		took := time.Since(start)
		if !errors.Is(err, rtpengine.ErrTimeout) && !errors.Is(err, rtpengine.ErrNoNode) {
			t.Errorf("offer with all nodes dead: %v", err)
		}
		if took > timeout+50*time.Millisecond {
			t.Errorf("offer with all nodes dead took %s (timeout %s)", took, timeout)
		}
	}

	// A caller deadline shorter than the timeout wins.
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, _ = offer(short, c, "short")
	if took := time.Since(start); took > 80*time.Millisecond {
		t.Errorf("caller deadline 30ms, offer took %s", took)
	}
}

// TestHealthPingsBringNodeBack: Run's pings bring a failed node back after
// disable_duration.
func TestHealthPingsBringNodeBack(t *testing.T) {
	srv := rtpenginetest.New(t, "udp")
	c := newClient(t, rtpengine.Config{
		Nodes: []rtpengine.Node{{Address: srv.Addr()}}, Timeout: 200 * time.Millisecond,
		ResendInterval: 20 * time.Millisecond, PingInterval: 100 * time.Millisecond, DisableDuration: 100 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	srv.SetFault("offer", rtpenginetest.Fault{DropAll: true})
	if _, err := offer(context.Background(), c, "a"); !errors.Is(err, rtpengine.ErrTimeout) {
		t.Fatalf("want timeout, got %v", err)
	}
	if _, err := offer(context.Background(), c, "b"); !errors.Is(err, rtpengine.ErrNoNode) {
		t.Fatalf("failed node still chosen: %v", err)
	}
	srv.SetFault("offer", rtpenginetest.Fault{})
	deadline := time.Now().Add(3 * time.Second)
	for c.Stats()[0].State != rtpengine.StateUp {
		if time.Now().After(deadline) {
			t.Fatal("node never came back")
		}
		if _, err := c.Ping(context.Background(), ""); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // polling a state the pinger sets
	}
	if _, err := offer(context.Background(), c, "c"); err != nil {
		t.Fatal(err)
	}
}

// TestOverloadMovesNewCalls: "load limit" and capacity errors move new
// calls; the overloaded node keeps its existing calls.
func TestOverloadMovesNewCalls(t *testing.T) {
	for _, f := range []rtpenginetest.Fault{
		{Result: "load limit"},
		{Result: "error", Reason: "Ran out of ports"},
		{Result: "error", Reason: "Parallel session limit reached"},
	} {
		t.Run(f.Result+" "+f.Reason, func(t *testing.T) {
			a := rtpenginetest.New(t, "udp")
			b := rtpenginetest.New(t, "udp")
			c := newClient(t, rtpengine.Config{Nodes: []rtpengine.Node{{Address: a.Addr(), Weight: 1000}, {Address: b.Addr(), Weight: 1}}})
			ctx := context.Background()
			if r, err := offer(ctx, c, "old"); err != nil || r.Node != a.Addr() {
				t.Fatalf("first call: %v on %s", err, r.Node)
			}
			a.SetFault("offer", f)
			r, err := offer(ctx, c, "new")
			if err != nil || r.Node != b.Addr() {
				t.Fatalf("new call: %v on %s, want %s", err, r.Node, b.Addr())
			}
			st := c.Stats()[0]
			if st.State != rtpengine.StateOverloaded || st.Overloads != 1 {
				t.Errorf("stats %+v", st)
			}
			if _, err := c.Answer(ctx, rtpengine.AnswerParams{CallID: "old", FromTag: "f", ToTag: "t", SDP: testSDP}); err != nil {
				t.Errorf("existing call on overloaded node: %v", err)
			}
			var ce *rtpengine.CommandError
			b.SetFault("offer", f)
			if _, err := offer(ctx, c, "third"); !errors.As(err, &ce) || !errors.Is(err, rtpengine.ErrOverloaded) {
				t.Errorf("all overloaded: %v", err)
			}
		})
	}
}

// TestBadReplies: garbage, oversize and wrong-cookie replies are errors,
// duplicates are dropped.
func TestBadReplies(t *testing.T) {
	cases := []struct {
		name  string
		fault rtpenginetest.Fault
		want  error
	}{
		{"garbage", rtpenginetest.Fault{Garbage: true}, rtpengine.ErrMalformedReply},
		{"oversize", rtpenginetest.Fault{Oversize: 8000}, rtpengine.ErrReplyTooLarge},
		{"wrong cookie", rtpenginetest.Fault{WrongCookie: true}, rtpengine.ErrTimeout},
		{"error without reason", rtpenginetest.Fault{Result: "error"}, rtpengine.ErrRejected},
		{"unknown result", rtpenginetest.Fault{Result: "maybe"}, rtpengine.ErrMalformedReply},
		{"duplicate", rtpenginetest.Fault{Duplicate: true}, nil},
		{"delayed", rtpenginetest.Fault{Delay: 30 * time.Millisecond}, nil},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range cases {
			t.Run(network+" "+tc.name, func(t *testing.T) {
				srv := rtpenginetest.New(t, network)
				srv.SetFault("offer", tc.fault)
				c := newClient(t, rtpengine.Config{
					Nodes: []rtpengine.Node{{Address: srv.Addr()}}, MaxReplySize: 4096,
					Timeout: 200 * time.Millisecond, ResendInterval: 50 * time.Millisecond,
				})
				_, err := offer(context.Background(), c, "x")
				if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				// The client still works for other commands afterwards.
				if _, err := c.Ping(context.Background(), ""); err != nil {
					t.Errorf("ping after %s: %v", tc.name, err)
				}
			})
		}
	}
}

// TestConcurrentOffers: 1,000 concurrent offers over one socket all
// complete with their own reply.
func TestConcurrentOffers(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			srv := rtpenginetest.New(t, network)
			srv.Handle("offer", func(r rtpenginetest.Request) map[string]any {
				return map[string]any{"result": "ok", "sdp": "sdp-of-" + r.Dict["call-id"].(string)}
			})
			c := newClient(t, rtpengine.Config{Nodes: []rtpengine.Node{{Address: srv.Addr()}}, Timeout: 10 * time.Second})
			const n = 1000
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					id := fmt.Sprintf("c%d", i)
					r, err := offer(context.Background(), c, id)
					if err == nil && r.SDP != "sdp-of-"+id {
						err = fmt.Errorf("call %s got %q", id, r.SDP)
					}
					if err != nil {
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if st := c.Stats()[0]; st.Pinned != n {
				t.Errorf("pinned %d calls, want %d", st.Pinned, n)
			}
		})
	}
}

// TestEnableDisable: a disabled node takes no new calls but keeps its own.
func TestEnableDisable(t *testing.T) {
	a := rtpenginetest.New(t, "udp")
	b := rtpenginetest.New(t, "udp")
	c := newClient(t, rtpengine.Config{Nodes: []rtpengine.Node{{Address: a.Addr(), Weight: 1000}, {Address: b.Addr()}}})
	ctx := context.Background()
	if r, _ := offer(ctx, c, "old"); r.Node != a.Addr() {
		t.Fatalf("old call on %s", r.Node)
	}
	if err := c.Disable(a.Addr()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if r, err := offer(ctx, c, fmt.Sprint("n", i)); err != nil || r.Node != b.Addr() {
			t.Fatalf("new call on disabled node: %v %s", err, r.Node)
		}
	}
	if _, err := c.Delete(ctx, rtpengine.DeleteParams{CallID: "old"}); err != nil {
		t.Fatal(err)
	}
	if a.Count("delete") != 1 {
		t.Errorf("delete of old call did not reach its node")
	}
	if err := c.Enable(a.Addr()); err != nil {
		t.Fatal(err)
	}
	if r, _ := offer(ctx, c, "again"); r.Node != a.Addr() {
		t.Errorf("re-enabled node not chosen")
	}
	if err := c.Disable("udp:127.0.0.1:1"); !errors.Is(err, rtpengine.ErrUnknownNode) {
		t.Errorf("unknown node: %v", err)
	}
}

// TestSets: a call names its set; offers never leave it.
func TestSets(t *testing.T) {
	a := rtpenginetest.New(t, "udp")
	b := rtpenginetest.New(t, "udp")
	c := newClient(t, rtpengine.Config{Nodes: []rtpengine.Node{{Address: a.Addr(), Set: "east"}, {Address: b.Addr(), Set: "west"}}})
	r, err := c.Offer(context.Background(), rtpengine.OfferParams{CallID: "w", FromTag: "f", SDP: testSDP, Set: "west"})
	if err != nil || r.Node != b.Addr() {
		t.Fatalf("%v on %s", err, r.Node)
	}
	r, err = offer(context.Background(), c, "e") // default set: the first node's
	if err != nil || r.Node != a.Addr() {
		t.Fatalf("%v on %s", err, r.Node)
	}
	if _, err := c.Offer(context.Background(), rtpengine.OfferParams{CallID: "n", FromTag: "f", SDP: testSDP, Set: "north"}); !errors.Is(err, rtpengine.ErrNoNode) {
		t.Errorf("unknown set: %v", err)
	}
}

// TestInvalidParams: missing keys are refused before anything is sent.
func TestInvalidParams(t *testing.T) {
	srv := rtpenginetest.New(t, "udp")
	c := newClient(t, rtpengine.Config{Nodes: []rtpengine.Node{{Address: srv.Addr()}}})
	ctx := context.Background()
	errs := []error{
		func() error { _, err := c.Offer(ctx, rtpengine.OfferParams{CallID: "x"}); return err }(),
		func() error {
			_, err := c.Answer(ctx, rtpengine.AnswerParams{CallID: "x", FromTag: "f", SDP: "v=0"})
			return err
		}(),
		func() error { _, err := c.Delete(ctx, rtpengine.DeleteParams{}); return err }(),
		func() error { _, err := c.Query(ctx, rtpengine.CallRef{}); return err }(),
		c.PlayDTMF(ctx, rtpengine.PlayDTMFParams{CallRef: rtpengine.CallRef{CallID: "x"}}),
	}
	for i, err := range errs {
		if !errors.Is(err, rtpengine.ErrInvalidParams) {
			t.Errorf("%d: %v", i, err)
		}
	}
	if n := srv.Count(""); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestCloseEndsCommands: Close is idempotent and later commands fail.
func TestCloseEndsCommands(t *testing.T) {
	srv := rtpenginetest.New(t, "tcp")
	c := newClient(t, rtpengine.Config{Nodes: []rtpengine.Node{{Address: srv.Addr()}}})
	if _, err := offer(context.Background(), c, "a"); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	_ = c.Close()
	if _, err := offer(context.Background(), c, "b"); !errors.Is(err, rtpengine.ErrClosed) {
		t.Errorf("after close: %v", err)
	}
}

// TestCloseEndsCommandsInFlight: Close wakes a command waiting for a reply
// with ErrClosed at once, without marking the node failed, over UDP and
// TCP.
func TestCloseEndsCommandsInFlight(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) { testCloseEndsCommandsInFlight(t, network) })
	}
}

func testCloseEndsCommandsInFlight(t *testing.T, network string) {
	srv := rtpenginetest.New(t, network)
	srv.SetFault("offer", rtpenginetest.Fault{DropAll: true})
	cfg := rtpengine.Config{Nodes: []rtpengine.Node{{Address: srv.Addr()}}, Timeout: 5 * time.Second}
	c, err := rtpengine.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Offer(context.Background(), rtpengine.OfferParams{CallID: "close-1", FromTag: "a", SDP: "v=0\r\n"})
		errc <- err
	}()
	for i := 0; srv.Count("offer") == 0 && i < 200; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	_ = c.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, rtpengine.ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("offer ended %s after Close", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("offer still waiting after Close")
	}
	if st := c.Stats()[0].State; st != rtpengine.StateUp {
		t.Errorf("node %s after Close, want up", st)
	}
}
