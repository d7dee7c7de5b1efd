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
