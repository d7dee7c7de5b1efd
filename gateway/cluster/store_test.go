package cluster

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/registrar"
)

// node starts a Store named name on the miniredis mr.
func node(t *testing.T, mr *miniredis.Miniredis, name string) *Store {
	t.Helper()
	return nodeBeating(t, mr, name, 100*time.Millisecond)
}

// nodeBeating is node with heartbeat as its heartbeat interval.
func nodeBeating(t *testing.T, mr *miniredis.Miniredis, name string, heartbeat time.Duration) *Store {
	t.Helper()
	cfg := Config{Node: name, Redis: "redis://" + mr.Addr(), Address: "sip:" + name + ".internal:5060",
		Heartbeat: heartbeat, CacheTTL: -1}
	cfg.SetDefaults()
	cfg.CacheTTL = 0 // every Get reads Redis unless it is down
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := NewStore(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func binding(t *testing.T, aor, contact string, expires time.Duration, flow string) registrar.Binding {
	t.Helper()
	b := registrar.Binding{AOR: aor, Q: 1, Expires: time.Now().Add(expires).Truncate(time.Millisecond),
		Registered: time.Now().Truncate(time.Millisecond), CallID: "c-" + contact, CSeq: 1,
		Source: registrar.Source{Addr: "127.0.0.1:5070", Transport: "ws", FlowID: flow},
		Params: sip.HeaderParams{{K: "expires", V: "60"}}, Path: []string{"<sip:edge;lr>"}}
	if err := sip.ParseUri(contact, &b.Contact); err != nil {
		t.Fatal(err)
	}
	b.RawContact = "<" + contact + ">"
	return b
}

// add appends b to aor's bindings in s.
func add(t *testing.T, s *Store, b registrar.Binding) {
	t.Helper()
	err := s.Update(b.AOR, func(cur []registrar.Binding) ([]registrar.Binding, error) {
		return append(append([]registrar.Binding(nil), cur...), b), nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func contacts(bs []registrar.Binding) map[string]string {
	m := map[string]string{}
	for _, b := range bs {
		m[b.Contact.String()] = b.Node
	}
	return m
}

// waitFor polls cond every 20ms for at most d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("not within %s: %s", d, what)
}

func TestSharedBetweenNodes(t *testing.T) {
	mr := miniredis.RunT(t)
	a, b := node(t, mr, "a"), node(t, mr, "b")
	add(t, a, binding(t, "alice@example.test", "sip:alice@x.invalid;transport=ws", time.Minute, "flow-1"))

	got := b.Get("alice@example.test")
	if len(got) != 1 {
		t.Fatalf("node b sees %d bindings, want 1", len(got))
	}
	if got[0].Node != "a" || got[0].Source.FlowID != "flow-1" || got[0].Path[0] != "<sip:edge;lr>" {
		t.Fatalf("node b sees %+v", got[0])
	}
	if ttl := mr.TTL(aorKey("alice@example.test")); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("key TTL %s, want the binding's expiry (<= 1m)", ttl)
	}
	// b adds its own binding; a sees both, each with its node.
	add(t, b, binding(t, "alice@example.test", "sip:alice@y.invalid;transport=ws", time.Minute, "flow-9"))
	want := map[string]string{"sip:alice@x.invalid;transport=ws": "a", "sip:alice@y.invalid;transport=ws": "b"}
	if got := contacts(a.Get("alice@example.test")); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("node a sees %v, want %v", got, want)
	}
	if aors := a.FlowAORs("flow-1"); len(aors) != 1 || aors[0] != "alice@example.test" {
		t.Fatalf("FlowAORs(flow-1) on a = %v", aors)
	}
	// Deleting every binding deletes the key.
	for _, s := range []*Store{a, b} {
		if err := s.Update("alice@example.test", func([]registrar.Binding) ([]registrar.Binding, error) { return nil, nil }); err != nil {
			t.Fatal(err)
		}
	}
	if b := mr.HGet(aorKey("alice@example.test"), "b"); b != "" {
		t.Fatalf("record %q after the last binding went, want none", b)
	}
	if ttl := mr.TTL(aorKey("alice@example.test")); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("emptied record lives %s, want at most a minute (its version outlives the bindings briefly)", ttl)
	}
}

func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	mr := miniredis.RunT(t)
	a, b := node(t, mr, "a"), node(t, mr, "b")
	var wg sync.WaitGroup
	const each = 20
	for i, s := range []*Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				bd := binding(t, "bob@example.test", fmt.Sprintf("sip:bob@10.0.%d.%d", i, j), time.Minute, "")
				if err := s.Update(bd.AOR, func(cur []registrar.Binding) ([]registrar.Binding, error) {
					return append(append([]registrar.Binding(nil), cur...), bd), nil
				}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if n := len(a.Get("bob@example.test")); n != 2*each {
		t.Fatalf("%d bindings after %d concurrent adds", n, 2*each)
	}
}

func TestUpdateErrorChangesNothing(t *testing.T) {
	mr := miniredis.RunT(t)
	a := node(t, mr, "a")
	add(t, a, binding(t, "carol@example.test", "sip:carol@10.0.0.1", time.Minute, ""))
	boom := errors.New("too many contacts")
	err := a.Update("carol@example.test", func([]registrar.Binding) ([]registrar.Binding, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the caller's own", err)
	}
	if n := len(a.Get("carol@example.test")); n != 1 {
		t.Fatalf("%d bindings after a failed update, want 1", n)
	}
}

func TestCorruptRecordIsAbsent(t *testing.T) {
	mr := miniredis.RunT(t)
	a := node(t, mr, "a")
	mr.HSet(aorKey("dave@example.test"), "v", "3", "b", "{not json")
	if got := a.Get("dave@example.test"); len(got) != 0 {
		t.Fatalf("corrupt record read as %v", got)
	}
	if a.Stats().Failures == 0 {
		t.Fatal("corrupt record not counted")
	}
	add(t, a, binding(t, "dave@example.test", "sip:dave@10.0.0.2", time.Minute, ""))
	if n := len(a.Get("dave@example.test")); n != 1 {
		t.Fatalf("%d bindings after replacing a corrupt record, want 1", n)
	}
}

// TestRedisDownAndBack: while Redis is down the node keeps its own
// registrations (served locally, no request waits), and when Redis is
// back they are published for the other nodes.
func TestRedisDownAndBack(t *testing.T) {
	mr := miniredis.RunT(t)
	a, b := node(t, mr, "a"), node(t, mr, "b")
	add(t, a, binding(t, "erin@example.test", "sip:erin@x.invalid;transport=ws", time.Minute, "f1"))
	mr.Close()

	start := time.Now()
	add(t, a, binding(t, "erin@example.test", "sip:erin@z.invalid;transport=ws", time.Minute, "f2"))
	add(t, a, binding(t, "frank@example.test", "sip:frank@10.0.0.3", time.Minute, ""))
	for range 50 {
		if n := len(a.Get("erin@example.test")); n != 2 {
			t.Fatalf("node a serves %d bindings of erin while Redis is down, want 2", n)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("52 store calls took %s with Redis down: they must not wait for it each", d)
	}
	if st := a.Stats(); !st.Down || st.Pending != 2 {
		t.Fatalf("stats %+v, want down with 2 pending AORs", st)
	}

	if err := mr.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "node b sees erin's two and frank's binding", func() bool {
		return len(b.Get("erin@example.test")) == 2 && len(b.Get("frank@example.test")) == 1
	})
	waitFor(t, time.Second, "node a has nothing pending", func() bool {
		st := a.Stats()
		return !st.Down && st.Pending == 0
	})
}

// TestRedisLostState: a Redis that comes back empty (restarted without
// persistence, flushed) gets every node's own bindings again.
func TestRedisLostState(t *testing.T) {
	mr := miniredis.RunT(t)
	a, b := node(t, mr, "a"), node(t, mr, "b")
	add(t, a, binding(t, "gina@example.test", "sip:gina@x.invalid;transport=ws", time.Minute, "f1"))
	add(t, b, binding(t, "hal@example.test", "sip:hal@y.invalid;transport=ws", time.Minute, "f2"))
	mr.FlushAll()
	waitFor(t, 3*time.Second, "both records published again", func() bool {
		return mr.Exists(aorKey("gina@example.test")) && mr.Exists(aorKey("hal@example.test"))
	})
	if got := contacts(b.Get("gina@example.test")); got["sip:gina@x.invalid;transport=ws"] != "a" {
		t.Fatalf("node b sees %v", got)
	}
}

// TestVersionsNeverRepeat: a Redis that lost its data must not hand out
// a version a node still holds from before, or that node's next
// compare-and-set succeeds on a record it never read and drops another
// node's binding (versions counted from 0 again did: a held 1, b's first
// write after the flush made 1). No heartbeat runs here, so no
// republishing hides the loss.
func TestVersionsNeverRepeat(t *testing.T) {
	mr := miniredis.RunT(t)
	a, b := nodeBeating(t, mr, "a", time.Minute), nodeBeating(t, mr, "b", time.Minute)
	const aor = "ivy@example.test"
	add(t, a, binding(t, aor, "sip:ivy@x.invalid;transport=ws", time.Minute, "f1"))
	mr.FlushAll()
	add(t, b, binding(t, aor, "sip:ivy@y.invalid;transport=ws", time.Minute, "f2"))
	add(t, a, binding(t, aor, "sip:ivy@z.invalid;transport=ws", time.Minute, "f3"))
	raw := mr.HGet(aorKey(aor), "b")
	if !strings.Contains(raw, "sip:ivy@y.invalid") || !strings.Contains(raw, "sip:ivy@z.invalid") {
		t.Fatalf("after a's write on a stale version Redis holds %s: want b's binding and a's new one", raw)
	}
}

func TestNodeAlive(t *testing.T) {
	mr := miniredis.RunT(t)
	a, b := node(t, mr, "a"), node(t, mr, "b")
	if addr, ok := a.NodeAlive("b"); !ok || addr != "sip:b.internal:5060" {
		t.Fatalf("NodeAlive(b) = %q %v", addr, ok)
	}
	if _, ok := a.NodeAlive("nobody"); ok {
		t.Fatal("an unknown node is alive")
	}
	_ = b.Close()
	mr.FastForward(deadAfter * b.cfg.Heartbeat)
	time.Sleep(b.cfg.Heartbeat) // what a read of b's heartbeat is cached for
	if _, ok := a.NodeAlive("b"); ok {
		t.Fatal("node b still alive after it stopped beating for 3 heartbeats")
	}
	if _, ok := a.NodeAlive("a"); !ok {
		t.Fatal("a node is always alive to itself")
	}
}

func TestNoncesShared(t *testing.T) {
	mr := miniredis.RunT(t)
	a, b := node(t, mr, "a"), node(t, mr, "b")
	if len(a.NonceKey()) != 32 || string(a.NonceKey()) != string(b.NonceKey()) {
		t.Fatal("nodes do not share one 32-byte nonce key")
	}
	for i, tc := range []struct {
		s     *Store
		nc    uint32
		fresh bool
	}{{a, 1, true}, {b, 1, false}, {b, 2, true}, {a, 2, false}, {a, 5, true}, {b, 3, false}} {
		fresh, err := tc.s.UseNonce("n1", tc.nc, time.Minute)
		if err != nil || fresh != tc.fresh {
			t.Fatalf("step %d: nc %d on %s: fresh %v err %v, want fresh %v", i, tc.nc, tc.s.cfg.Node, fresh, err, tc.fresh)
		}
	}
	mr.Close()
	if _, err := a.UseNonce("n1", 9, time.Minute); err == nil {
		t.Fatal("no error with Redis down")
	}
}
