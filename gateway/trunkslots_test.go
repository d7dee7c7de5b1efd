package gateway

import (
	"testing"
	"time"
)

func TestTrunkSlots(t *testing.T) {
	s := newTrunkSlots()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		trunk, call string
		at          time.Duration
		want        bool
	}{
		{"a", "c1", 0, true},
		{"a", "c1", time.Second, true}, // the same call again: no new slot
		{"a", "c2", time.Second, true},
		{"a", "c3", time.Second, false}, // full (2)
		{"b", "c3", time.Second, true},  // another trunk
		{"a", "c3", 11 * time.Hour, false},
		{"a", "c3", 13 * time.Hour, true}, // c1 and c2 outlived 12h: dropped
	}
	for i, st := range steps {
		if got := s.acquire(st.trunk, st.call, 2, t0.Add(st.at), 12*time.Hour); got != st.want {
			t.Errorf("step %d: acquire(%s, %s) = %v, want %v", i, st.trunk, st.call, got, st.want)
		}
	}
	s.release("c3")
	if n, m := s.inUse("a"), s.inUse("b"); n != 0 || m != 0 {
		t.Errorf("after release: a %d, b %d slots, want 0", n, m)
	}
}

// fakeCounters is a cluster-wide count that other nodes also fill.
type fakeCounters struct{ n map[string]int }

func (f *fakeCounters) Acquire(name string, limit int) bool {
	if limit > 0 && f.n[name] >= limit {
		return false
	}
	f.n[name]++
	return true
}
func (f *fakeCounters) Release(name string) { f.n[name]-- }

// TestTrunkSlotsShared: with a cluster, max_calls counts every node's
// calls; this node's slots give their counts back when released.
func TestTrunkSlotsShared(t *testing.T) {
	sh := &fakeCounters{n: map[string]int{"trunk:carrier": 1}} // another node's call
	s := newTrunkSlots()
	s.shared = sh
	now := time.Now()
	if !s.acquire("carrier", "c1", 2, now, time.Hour) {
		t.Fatal("the second call of the cluster refused with max_calls 2")
	}
	if s.acquire("carrier", "c2", 2, now, time.Hour) {
		t.Fatal("a third call of the cluster taken with max_calls 2")
	}
	if !s.acquire("carrier", "c1", 2, now, time.Hour) || sh.n["trunk:carrier"] != 2 {
		t.Fatalf("the same call again must hold its one slot (count %d)", sh.n["trunk:carrier"])
	}
	s.release("c1")
	if sh.n["trunk:carrier"] != 1 {
		t.Fatalf("count %d after release, want the other node's 1", sh.n["trunk:carrier"])
	}
}
