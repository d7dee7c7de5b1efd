package trunk

import (
	"slices"
	"testing"
	"time"
)

// TestManagerUpdate applies a reloaded trunk list: an unchanged trunk
// sends nothing; a removed one unregisters; a password fixed after a 403
// registers at once with the same Call-ID; changed URIs unregister the old
// binding before registering the new one; an added trunk registers at
// once (no start delay).
func TestManagerUpdate(t *testing.T) {
	at := func(port string, mod func(*Config)) Config {
		c := carrier("sip:127.0.0.1:" + port)
		if mod != nil {
			mod(&c)
		}
		return c
	}
	before := map[string]Config{
		"keep":  at("5070", nil),
		"gone":  at("5072", nil),
		"fix":   at("5073", func(c *Config) { c.Password = "wrong" }),
		"moved": at("5074", nil),
	}
	h := start(t, before, RegistrationConfig{StartDelay: -time.Second}, nil)
	h.until(t, time.Second)
	n := len(h.reg.sent())
	if n != 8 {
		t.Fatalf("%d REGISTERs before the update, want 8 (401 and an answer each): %+v", n, h.reg.sent())
	}
	if st, _ := h.m.StatusOf("fix"); st.State != StateForbidden {
		t.Fatalf("fix: %+v, want forbidden (wrong password)", st)
	}
	fixCallID := ""
	for _, s := range h.reg.sent() {
		if s.hop == "127.0.0.1:5073" {
			fixCallID = s.callID
		}
	}
	after := map[string]Config{
		"keep":  at("5070", func(c *Config) { c.MaxCalls = 3; c.FromUser = "+1555" }), // not registration settings
		"fix":   at("5073", nil),
		"moved": at("5075", nil),
		"added": at("5076", nil),
	}
	var retired []*Registration
	for _, name := range []string{"gone", "fix", "moved"} {
		retired = append(retired, h.m.regs[name])
	}
	ch := h.m.Update(after)
	for _, r := range retired { // their timers gone: runUntil counts the new ones
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			t.Fatalf("retired registration %s did not end", r.name)
		}
	}
	want := Changes{Added: []string{"added"}, Removed: []string{"gone"}, Changed: []string{"fix", "moved"}, Kept: []string{"keep"}}
	if !slices.Equal(ch.Added, want.Added) || !slices.Equal(ch.Removed, want.Removed) || !slices.Equal(ch.Changed, want.Changed) || !slices.Equal(ch.Kept, want.Kept) {
		t.Fatalf("changes %+v, want %+v", ch, want)
	}
	h.until(t, 2*time.Second)
	byHop := map[string][]sent{}
	order := map[string]int{}
	for i, s := range h.reg.sent()[n:] {
		byHop[s.hop] = append(byHop[s.hop], s)
		if _, ok := order[s.hop]; !ok {
			order[s.hop] = i
		}
	}
	if got := byHop["127.0.0.1:5070"]; len(got) != 0 {
		t.Errorf("unchanged trunk sent %+v, want nothing", got)
	}
	unregistered := func(hop string) {
		t.Helper()
		got := byHop[hop]
		if len(got) != 2 || got[0].expires != 0 || got[1].expires != 0 || got[1].code != 200 {
			t.Errorf("%s: %+v, want an authorized expires=0", hop, got)
		}
	}
	unregistered("127.0.0.1:5072")
	unregistered("127.0.0.1:5074")
	if got := byHop["127.0.0.1:5073"]; len(got) != 2 || got[1].code != 200 || got[0].callID != fixCallID || got[0].expires != 300 {
		t.Errorf("fixed trunk: %+v, want registered at once in Call-ID %s", got, fixCallID)
	}
	if got := byHop["127.0.0.1:5075"]; len(got) != 2 || got[1].code != 200 || order["127.0.0.1:5075"] < order["127.0.0.1:5074"]+2 {
		t.Errorf("moved trunk: %+v (at %d, unregister at %d), want registered after the old binding went", got, order["127.0.0.1:5075"], order["127.0.0.1:5074"])
	}
	if got := byHop["127.0.0.1:5076"]; len(got) != 2 || got[1].code != 200 || h.offset(got[0]) > 2*time.Second {
		t.Errorf("added trunk: %+v, want registered at once", got)
	}
	for _, name := range []string{"keep", "fix", "moved", "added"} {
		if st, ok := h.m.StatusOf(name); !ok || st.State != StateRegistered {
			t.Errorf("%s: %+v, want registered", name, st)
		}
	}
	if _, ok := h.m.StatusOf("gone"); ok {
		t.Error("removed trunk still has a registration")
	}
	h.m.Close()
	if got := h.m.Update(before); len(got.Added)+len(got.Removed)+len(got.Changed)+len(got.Kept) != 0 {
		t.Errorf("Update after Close did %+v, want nothing", got)
	}
}
