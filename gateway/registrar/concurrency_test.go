package registrar

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestConcurrent registers, refreshes, looks up, drops flows and sweeps
// from many goroutines at once (run with -race), then checks the flow
// index still agrees with the bindings.
func TestConcurrent(t *testing.T) {
	cfg := testConfig()
	cfg.MaxContacts = 8 // one binding per worker instance
	r := New(cfg, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var sweeper sync.WaitGroup
	sweeper.Add(1)
	go func() {
		defer sweeper.Done()
		r.Run(ctx, time.Millisecond)
	}()

	const workers, rounds = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				aor := fmt.Sprintf("user%d@example.com", i%10)
				flow := fmt.Sprintf("ws-%d-%d", w, i%4)
				req := sample(t, "jssip_ws.sip",
					edit{"Call-ID", fmt.Sprintf("w%d-%d", w, i)},
					edit{"Contact", fmt.Sprintf(`<sip:u%d@x.invalid;transport=ws>;reg-id=1;+sip.instance="<urn:uuid:%d>"`, w, w)})
				src := Source{Addr: "203.0.113.1:5000", Transport: "wss", FlowID: flow}
				if _, err := r.Register(req, aor, src, time.Now()); err != nil {
					t.Errorf("register: %v", err)
					return
				}
				r.Lookup(aor, time.Now())
				if i%7 == 0 {
					r.RemoveFlow(flow)
				}
				if i%50 == 0 {
					r.Snapshot()
				}
			}
		}()
	}
	wg.Wait()
	cancel()
	sweeper.Wait()

	// Every remaining binding must be reachable through its flow.
	for _, b := range r.Snapshot() {
		found := false
		for _, aor := range r.store.FlowAORs(b.Source.FlowID) {
			found = found || aor == b.AOR
		}
		if !found {
			t.Fatalf("binding %s on %s missing from the flow index", b.AOR, b.Source.FlowID)
		}
	}
	// Dropping every flow empties the registrar and the index.
	for w := range workers {
		for f := range 4 {
			r.RemoveFlow(fmt.Sprintf("ws-%d-%d", w, f))
		}
	}
	if n := len(r.Snapshot()); n != 0 {
		t.Fatalf("%d bindings left after all flows closed", n)
	}
	ms := r.store.(*memoryStore)
	if len(ms.flows) != 0 {
		t.Fatalf("flow index not empty: %v", ms.flows)
	}
}

// TestRunStops checks that Run sweeps and returns once ctx is done.
func TestRunStops(t *testing.T) {
	r := New(testConfig(), nil, nil)
	if _, err := r.Register(sample(t, "sipp_udp.sip"), "alice@example.com", udp, time.Now().Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx, time.Millisecond)
	}()
	deadline := time.After(5 * time.Second)
	for len(r.Snapshot()) != 0 {
		select {
		case <-deadline:
			t.Fatal("Run did not sweep within 5s")
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}

func FuzzRegister(f *testing.F) {
	for _, name := range []string{"sipp_udp.sip", "jssip_ws.sip", "jssip_ws_reconnect.sip", "jssip_ws_unregister.sip", "path.sip", "multi_q.sip", "star.sip", "query.sip"} {
		f.Add([]byte(sample(f, name).String()))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := sip.NewParser().ParseSIP(data)
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		r := New(testConfig(), nil, nil)
		src := Source{Addr: "127.0.0.1:1", Transport: "ws", FlowID: "f"}
		for i := range 2 { // twice: the second run meets existing bindings
			got, err := r.Register(req, "fuzz@example.com", src, t0.Add(time.Duration(i)*time.Second))
			if err != nil {
				if code, _ := StatusCode(err); code < 400 {
					t.Fatalf("error %v maps to %d", err, code)
				}
				continue
			}
			if len(got) > r.cfg.MaxContacts {
				t.Fatalf("%d bindings > MaxContacts", len(got))
			}
			for _, b := range got {
				if e := ExpiresFor(b, t0); e < 1 || e > 3601 {
					t.Fatalf("expires %d out of range", e)
				}
				_ = ResponseContact(b, t0).Value()
			}
		}
		r.RemoveFlow("f")
		if n := len(r.Snapshot()); n != 0 {
			t.Fatalf("%d bindings left after RemoveFlow", n)
		}
	})
}
