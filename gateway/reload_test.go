package gateway

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/sets"
)

// setsConfig routes everything to set:NAME, a probed set of one member.
func setsConfig(name string) Config {
	c := baseConfig()
	c.Routes = []route.Rule{{To: []string{"set:" + name}}}
	c.Sets = map[string]sets.Config{name: {Members: []sets.Member{{URI: "sip:127.0.0.1:9"}},
		Probe: sets.Probe{Interval: 100 * time.Millisecond}}}
	return c
}

// TestReloadAtomic reloads two rule sets back and forth while readers
// route: every reader sees routes and sets of one and the same reload
// (the set a route names is in the sets beside it). A broken config is
// refused with its field and leaves the rules alone; the old sets' probes
// end (goleak, in startGW's cleanup).
func TestReloadAtomic(t *testing.T) {
	tg := startGW(t, setsConfig("a"))
	g := tg.g
	before := g.rules()
	bad := setsConfig("a")
	bad.Routes = []route.Rule{{To: []string{"set:nope"}}}
	err := g.Reload(bad)
	if err == nil || !strings.Contains(err.Error(), "routes[0].to[0] (set:nope)") {
		t.Fatalf("broken reload: %v, want the field named", err)
	}
	if g.rules() != before {
		t.Fatal("a refused reload changed the rules")
	}

	var stop atomic.Bool
	var mixed atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				rs := g.rules()
				groups, ok := rs.routes.Lookup("alice", "example.test")
				if !ok || !rs.sets.Has(groups[0][0].Name) {
					mixed.Add(1)
				}
			}
		}()
	}
	for i := range 20 {
		name := "a"
		if i%2 == 0 {
			name = "b"
		}
		c := setsConfig(name)
		c.Users["carol"] = User{Password: "carol-secret"}
		if err := g.Reload(c); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if n := mixed.Load(); n != 0 {
		t.Fatalf("%d lookups saw routes of one reload and sets of another", n)
	}
	if !g.rules().users["carol"] {
		t.Fatal("reloaded users not in effect")
	}
	if st := g.SetStates(); len(st) != 1 || st[0].Set != "a" {
		t.Fatalf("SetStates after the last reload: %+v, want set a's one member (the last reload)", st)
	}
	_ = g.Close()
	if err := g.Reload(setsConfig("a")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reload after Close: %v, want ErrClosed", err)
	}
}
