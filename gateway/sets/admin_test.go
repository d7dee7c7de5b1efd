package sets

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestSetEnabled: a member an operator disables is left out of every
// selection, whatever its probes answer, shows as disabled, and comes
// back when enabled; unknown names are ErrNoSet and ErrNoMember.
func TestSetEnabled(t *testing.T) {
	all := map[string]Config{"s": {Algorithm: RoundRobin, Members: members(a, b, "trunk:x"),
		Probe: Probe{Interval: time.Hour, DownAfter: 1, UpAfter: 1, Alive: []string{"200"}}}}
	SetDefaultsAll(all)
	if err := Validate(all, func(n string) bool { return n == "x" }); err != nil {
		t.Fatal(err)
	}
	s, err := New(all, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &fakeProber{codes: map[string]int{aa: 200, ba: 200}, sent: map[string]int{}}
	m := s.sets["s"].members
	for _, tc := range []struct {
		set, member string
		on          bool
		changed     bool
		err         error
	}{
		{"s", a, false, true, nil},
		{"s", a, false, false, nil}, // disabled already
		{"s", "trunk:x", false, true, nil},
		{"nope", a, false, false, ErrNoSet},
		{"s", "sip:10.9.9.9", false, false, ErrNoMember},
	} {
		changed, err := s.SetEnabled(tc.set, tc.member, tc.on)
		if changed != tc.changed || !errors.Is(err, tc.err) {
			t.Fatalf("SetEnabled(%s, %s, %v) = %v, %v; want %v, %v", tc.set, tc.member, tc.on, changed, err, tc.changed, tc.err)
		}
	}
	for range 3 {
		m[0].probeOnce(context.Background(), p) // answered: must not enable it
		if got := order(t, s, Key{}); strings.Join(got, " ") != ba {
			t.Fatalf("a and trunk:x disabled: %v, want only b", got)
		}
	}
	st := s.States()
	if !st[0].Disabled || st[0].Down || st[1].Disabled || !st[2].Disabled {
		t.Fatalf("states %+v, want a and trunk:x disabled (a not down), b enabled", st)
	}
	if _, err := s.SetEnabled("s", b, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Select("s", Key{}); !errors.Is(err, ErrAllDown) {
		t.Fatalf("every member disabled: %v, want ErrAllDown", err)
	}
	for _, u := range []string{a, b} {
		if changed, err := s.SetEnabled("s", u, true); !changed || err != nil {
			t.Fatalf("enable %s: %v, %v", u, changed, err)
		}
	}
	seen := map[string]int{}
	for range 4 {
		seen[order(t, s, Key{})[0]]++
	}
	if seen[aa] != 2 || seen[ba] != 2 {
		t.Fatalf("enabled again: first choices %v, want a and b twice each", seen)
	}
}

// TestDisabledSurvivesReload: a reload keeping the member keeps it
// disabled.
func TestDisabledSurvivesReload(t *testing.T) {
	s := build(t, Config{Members: members(a, b)})
	if _, err := s.SetEnabled("s", a, false); err != nil {
		t.Fatal(err)
	}
	all := map[string]Config{"s": {Members: members(b, a)}}
	SetDefaultsAll(all)
	n, err := New(all, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if got := order(t, n, Key{}); len(got) != 1 || got[0] != ba {
		t.Fatalf("after reload: %v, want a still disabled", got)
	}
}
