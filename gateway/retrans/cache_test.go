package retrans

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

var answerDst = netip.MustParseAddrPort("192.0.2.1:5060")

func TestCacheRetransmission(t *testing.T) {
	c := New(1<<20, TimerJ)
	now := time.Now()
	res := []byte("SIP/2.0 401 Unauthorized\r\n\r\n")
	c.Put([]byte("REGISTER z9hG4bK1 a:1 b"), res, answerDst, now)
	got, dst, ok := c.Get([]byte("REGISTER z9hG4bK1 a:1 b"), now.Add(time.Second))
	if !ok || !bytes.Equal(got, res) || dst != answerDst {
		t.Fatalf("get = %q %v %v, want the stored answer", got, dst, ok)
	}
	if _, _, ok := c.Get([]byte("REGISTER z9hG4bK2 a:1 b"), now); ok {
		t.Fatal("another branch found an answer")
	}
	// A newer answer for the same key replaces the old one.
	res2 := []byte("SIP/2.0 200 OK\r\n\r\n")
	c.Put([]byte("REGISTER z9hG4bK1 a:1 b"), res2, answerDst, now)
	if got, _, _ := c.Get([]byte("REGISTER z9hG4bK1 a:1 b"), now); !bytes.Equal(got, res2) {
		t.Fatalf("after replace: %q", got)
	}
	if n, _ := c.Stats(); n != 1 {
		t.Fatalf("%d entries, want 1", n)
	}
}

func TestCacheBoundedBytes(t *testing.T) {
	const budget = 64 << 10
	c := New(budget, TimerJ)
	now := time.Now()
	res := bytes.Repeat([]byte("x"), 400)
	const n = 10000
	for i := range n {
		c.Put(fmt.Appendf(nil, "REGISTER z9hG4bK%d 192.0.2.1:5060 192.0.2.1:5060", i), bytes.Clone(res), answerDst, now)
		if _, size := c.Stats(); size > budget {
			t.Fatalf("after %d answers: %d bytes held, budget %d", i+1, size, budget)
		}
	}
	entries, size := c.Stats()
	per := len(res) + len("REGISTER z9hG4bK9999 192.0.2.1:5060 192.0.2.1:5060") + Overhead
	if entries < budget/per-1 || size < budget-2*per {
		t.Fatalf("%d entries, %d bytes: the budget is not used", entries, size)
	}
	// Oldest first: the newest survive, the first are gone.
	if _, _, ok := c.Get(fmt.Appendf(nil, "REGISTER z9hG4bK%d 192.0.2.1:5060 192.0.2.1:5060", n-1), now); !ok {
		t.Fatal("newest answer evicted")
	}
	if _, _, ok := c.Get(fmt.Appendf(nil, "REGISTER z9hG4bK%d 192.0.2.1:5060 192.0.2.1:5060", 0), now); ok {
		t.Fatal("oldest answer kept beyond the budget")
	}
	// The queue is compacted: its slice does not grow with the answers seen.
	if cap(c.queue) > 4*entries {
		t.Fatalf("queue capacity %d for %d entries", cap(c.queue), entries)
	}
	// An answer larger than the budget is not kept.
	c.Put([]byte("big"), make([]byte, budget), answerDst, now)
	if _, _, ok := c.Get([]byte("big"), now); ok {
		t.Fatal("answer larger than the budget kept")
	}
}

func TestCacheExpiry(t *testing.T) {
	c := New(1<<20, TimerJ)
	now := time.Now()
	c.Put([]byte("old"), []byte("a"), answerDst, now)
	if _, _, ok := c.Get([]byte("old"), now.Add(TimerJ)); !ok {
		t.Fatal("answer gone before Timer J")
	}
	if _, _, ok := c.Get([]byte("old"), now.Add(TimerJ+time.Millisecond)); ok {
		t.Fatal("answer found after Timer J")
	}
	// Expired entries leave on the next insert.
	c.Put([]byte("new"), []byte("b"), answerDst, now.Add(TimerJ+time.Second))
	if n, _ := c.Stats(); n != 1 {
		t.Fatalf("%d entries after expiry, want 1", n)
	}
}
