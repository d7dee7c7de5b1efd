package cluster

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

func TestBansShared(t *testing.T) {
	mr := miniredis.RunT(t)
	a, b := node(t, mr, "a"), node(t, mr, "b")
	var mu sync.Mutex
	got := map[string][]Ban{}
	for _, s := range []*Store{a, b} {
		s.SetBanSink(func(x Ban) {
			mu.Lock()
			got[s.cfg.Node] = append(got[s.cfg.Node], x)
			mu.Unlock()
		})
	}
	until := time.Now().Add(time.Minute)
	a.PublishBan(netip.MustParseAddr("::ffff:192.0.2.7"), "rate", until)
	waitFor(t, 2*time.Second, "node b applies a's ban", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got["b"]) > 0
	})
	mu.Lock()
	x := got["b"][0]
	own := len(got["a"])
	mu.Unlock()
	if x.Addr.String() != "192.0.2.7" || x.Reason != "rate" || x.Until.Sub(until).Abs() > 2*time.Second {
		t.Fatalf("b got %+v, want 192.0.2.7 rate until %v", x, until)
	}
	if own != 0 {
		t.Fatalf("node a applied its own ban %d times", own)
	}
	if ttl := mr.TTL(banKey("192.0.2.7")); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("ban key TTL %v, want the ban's remaining time", ttl)
	}
	for range 2 * banQueue { // the queue is bounded: extra bans are dropped, never block
		a.PublishBan(netip.MustParseAddr("192.0.2.8"), "rate", until)
	}
}
