package cluster

import (
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

func TestCountersClusterWide(t *testing.T) {
	mr := miniredis.RunT(t)
	a, b := node(t, mr, "a"), node(t, mr, "b")
	const name = "trunk:carrier"
	for i, step := range []struct {
		s    *Store
		want bool
	}{{a, true}, {a, true}, {b, true}, {a, false}, {b, false}} {
		if got := step.s.Acquire(name, 3); got != step.want {
			t.Fatalf("step %d on %s: Acquire = %v, want %v", i, step.s.cfg.Node, got, step.want)
		}
	}
	if n := a.Count(name); n != 3 {
		t.Fatalf("Count = %d, want 3", n)
	}
	b.Release(name)
	if !a.Acquire(name, 3) {
		t.Fatal("a could not take the count b released")
	}
	if a.Acquire("other", 0) != true || a.Count("other") != 1 {
		t.Fatal("limit 0 must mean no limit")
	}

	// b dies: once its heartbeat lapses its calls no longer count.
	_ = b.Close()
	mr.FastForward(deadAfter * b.cfg.Heartbeat)
	if n := a.Count(name); n != 3 {
		t.Fatalf("Count with b dead = %d, want a's own 3", n)
	}
}

func TestCountersRedisDown(t *testing.T) {
	mr := miniredis.RunT(t)
	a := node(t, mr, "a")
	const name = "set:pbx/sip:10.0.0.5"
	a.Acquire(name, 0)
	mr.Close()
	for range 2 {
		if !a.Acquire(name, 3) {
			t.Fatal("Acquire refused below the limit with Redis down")
		}
	}
	if a.Acquire(name, 3) {
		t.Fatal("the node's own count must still enforce the limit with Redis down")
	}
	a.Release(name)
	if err := mr.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "a's count of 2 published again", func() bool {
		return mr.HGet(counterKey(name), "a") == "2"
	})
}

func TestShareCounts(t *testing.T) {
	mr := miniredis.RunT(t)
	a, b := node(t, mr, "a"), node(t, mr, "b")
	if _, err := a.ShareCounts(map[string]int{"set:pbx/sip:m1": 2, "set:pbx/sip:m2": 0}); err != nil {
		t.Fatal(err)
	}
	got, err := b.ShareCounts(map[string]int{"set:pbx/sip:m1": 1, "set:pbx/sip:m2": 4})
	if err != nil {
		t.Fatal(err)
	}
	if got["set:pbx/sip:m1"] != 3 || got["set:pbx/sip:m2"] != 4 {
		t.Fatalf("totals %v, want m1 3 (a 2 + b 1) and m2 4", got)
	}
	_ = a.Close()
	mr.FastForward(deadAfter * a.cfg.Heartbeat)
	if got, _ := b.ShareCounts(map[string]int{"set:pbx/sip:m1": 1}); got["set:pbx/sip:m1"] != 1 {
		t.Fatalf("totals %v with a dead, want b's own 1", got)
	}
}
