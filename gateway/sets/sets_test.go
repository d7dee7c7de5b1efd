package sets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipedge/sipedge/gateway/route"
)

func build(t *testing.T, c Config) *Sets {
	t.Helper()
	all := map[string]Config{"s": c}
	SetDefaultsAll(all)
	if err := Validate(all, nil); err != nil {
		t.Fatal(err)
	}
	s, err := New(all, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func members(uris ...string) []Member {
	out := make([]Member, len(uris))
	for i, u := range uris {
		out[i] = Member{URI: u}
	}
	return out
}

// first returns the address of the first choice and the failover order.
func order(t *testing.T, s *Sets, k Key) []string {
	t.Helper()
	groups, err := s.Select("s", k)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, g := range groups {
		for _, tg := range g {
			out = append(out, tg.Addr)
		}
	}
	return out
}

const a, b, c = "sip:10.0.0.1", "sip:10.0.0.2", "sip:10.0.0.3"
const aa, ba, ca = "10.0.0.1:5060", "10.0.0.2:5060", "10.0.0.3:5060"

func TestSelectOrders(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want [][]string // successive calls
	}{
		{"priority keeps list order", Config{Algorithm: Priority, Members: members(a, b, c)},
			[][]string{{aa, ba, ca}, {aa, ba, ca}}},
		{"priority by priority", Config{Algorithm: Priority, Members: []Member{{URI: a, Priority: 2}, {URI: b, Priority: 1}, {URI: c, Priority: 2}}},
			[][]string{{ba, aa, ca}}},
		{"round-robin rotates", Config{Algorithm: RoundRobin, Members: members(a, b, c)},
			[][]string{{aa, ba, ca}, {ba, ca, aa}, {ca, aa, ba}, {aa, ba, ca}}},
		{"weighted 2:1", Config{Algorithm: Weighted, Members: []Member{{URI: a, Weight: 2}, {URI: b, Weight: 1}}},
			[][]string{{aa, ba}, {ba, aa}, {aa, ba}, {aa, ba}, {ba, aa}, {aa, ba}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := build(t, tc.cfg)
			for i, want := range tc.want {
				if got := order(t, s, Key{}); strings.Join(got, " ") != strings.Join(want, " ") {
					t.Fatalf("call %d: %v, want %v", i, got, want)
				}
			}
		})
	}
}

func TestSelectParallelOneGroup(t *testing.T) {
	s := build(t, Config{Algorithm: Parallel, Members: members(a, b, c)})
	groups, err := s.Select("s", Key{})
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || len(groups[0]) != 3 {
		t.Fatalf("parallel: %d groups, want one of 3", len(groups))
	}
}

func TestSelectHashStable(t *testing.T) {
	for _, alg := range []string{HashCallID, HashFrom, HashTo, HashRURI} {
		t.Run(alg, func(t *testing.T) {
			s := build(t, Config{Algorithm: alg, Members: members(a, b, c)})
			seen := map[string]int{}
			for i := range 300 {
				v := fmt.Sprintf("v%d", i)
				k := Key{CallID: v, FromUser: v, ToUser: v, RURIUser: v}
				first := order(t, s, k)[0]
				for range 3 { // the same key: the same member
					if got := order(t, s, k)[0]; got != first {
						t.Fatalf("key %s: %s then %s", v, first, got)
					}
				}
				seen[first]++
			}
			for _, m := range []string{aa, ba, ca} {
				if seen[m] < 60 { // 100 expected; fnv is not perfectly fair
					t.Fatalf("member %s chosen %d of 300 times: %v", m, seen[m], seen)
				}
			}
		})
	}
}

func TestSelectWeightedShare(t *testing.T) {
	s := build(t, Config{Algorithm: Weighted, Members: []Member{{URI: a, Weight: 1}, {URI: b, Weight: 2}, {URI: c, Weight: 1}}})
	seen := map[string]int{}
	for range 10000 {
		seen[order(t, s, Key{})[0]]++
	}
	if seen[aa] != 2500 || seen[ba] != 5000 || seen[ca] != 2500 {
		t.Fatalf("1/2/1 weights: %v, want 2500/5000/2500", seen)
	}
	s.sets["s"].members[1].h.failure(time.Now(), 1) // b down: 50/0/50
	seen = map[string]int{}
	for range 1000 {
		seen[order(t, s, Key{})[0]]++
	}
	if seen[ba] != 0 || seen[aa] < 450 || seen[ca] < 450 {
		t.Fatalf("b down: %v, want a and c about 500 each", seen)
	}
}

func TestSelectLeastCalls(t *testing.T) {
	s := build(t, Config{Algorithm: LeastCalls, Members: []Member{{URI: a}, {URI: b, MaxCalls: 2}}})
	pick := func(id string) route.Target {
		groups, err := s.Select("s", Key{CallID: id})
		if err != nil {
			t.Fatal(err)
		}
		tg := groups[0][0]
		tg.Observer.Started(id)
		tg.Observer.Ended(id, 200, false, true)
		return tg
	}
	counts := map[string]int{}
	for i := range 10 {
		counts[pick(fmt.Sprint(i)).Addr]++
	}
	if counts[ba] != 2 || counts[aa] != 8 {
		t.Fatalf("least-calls with b capped at 2: %v, want b 2, a 8", counts)
	}
	for i := range 10 {
		s.CallEnded(fmt.Sprint(i))
	}
	// A MESSAGE answered 200 is no call in progress.
	groups, _ := s.Select("s", Key{CallID: "msg"})
	groups[0][0].Observer.Started("msg")
	groups[0][0].Observer.Ended("msg", 200, false, false)
	for _, st := range s.States() {
		if st.Active != 0 {
			t.Fatalf("%s: %d active after every call ended", st.Member, st.Active)
		}
	}
	// Even spread of concurrent calls: 100 held calls on two members.
	s2 := build(t, Config{Algorithm: LeastCalls, Members: members(a, b)})
	counts = map[string]int{}
	for i := range 100 {
		groups, _ := s2.Select("s", Key{})
		groups[0][0].Observer.Started(fmt.Sprint(i))
		counts[groups[0][0].Addr]++
	}
	if counts[aa] != 50 || counts[ba] != 50 {
		t.Fatalf("100 concurrent calls: %v, want 50/50", counts)
	}
}

func TestSelectLatency(t *testing.T) {
	s := build(t, Config{Algorithm: Latency, Members: members(a, b, c), Probe: Probe{Interval: time.Second}})
	m := s.sets["s"].members
	m[0].h.sample(30 * time.Millisecond)
	m[1].h.sample(5 * time.Millisecond)
	if got := order(t, s, Key{}); strings.Join(got, " ") != ba+" "+aa+" "+ca {
		t.Fatalf("latency order %v, want b (5ms), a (30ms), c (unmeasured)", got)
	}
}

func TestSelectSkipsDown(t *testing.T) {
	s := build(t, Config{Algorithm: RoundRobin, Members: members(a, b), Probe: Probe{Interval: time.Second, DownAfter: 1}})
	s.sets["s"].members[0].h.failure(time.Now(), 1)
	for range 4 {
		if got := order(t, s, Key{}); len(got) != 1 || got[0] != ba {
			t.Fatalf("a down: %v, want only b", got)
		}
	}
	s.sets["s"].members[1].h.failure(time.Now(), 1)
	if _, err := s.Select("s", Key{}); !errors.Is(err, ErrAllDown) {
		t.Fatalf("all down: err %v, want ErrAllDown", err)
	}
	if _, err := s.Select("nope", Key{}); !errors.Is(err, ErrNoSet) {
		t.Fatalf("unknown set: err %v, want ErrNoSet", err)
	}
}

func TestCallFailuresMarkDown(t *testing.T) {
	s := build(t, Config{Algorithm: Priority, Members: members(a, b), DownAfterCalls: 2})
	now := time.Now()
	s.now = func() time.Time { return now }
	first := func() string { return order(t, s, Key{})[0] }
	fail := func() {
		groups, _ := s.Select("s", Key{})
		o := groups[0][0].Observer
		o.Started("x")
		o.Ended("x", 503, true, true) // unreachable
	}
	fail()
	if first() != aa {
		t.Fatal("a down after one failure, want two")
	}
	fail()
	if first() != ba {
		t.Fatal("a still first after two failed calls")
	}
	now = now.Add(retryAfter + time.Second)
	if first() != aa {
		t.Fatal("a not retried after retryAfter")
	}
	groups, _ := s.Select("s", Key{})
	groups[0][0].Observer.Started("y")
	groups[0][0].Observer.Ended("y", 486, false, true) // a real answer: up again
	if st := s.States()[0]; st.Down {
		t.Fatal("a still down after answering a call")
	}
}

func TestFailoverCodes(t *testing.T) {
	s := build(t, Config{Members: members(a, b), Failover: []string{"486", "5xx"}})
	groups, _ := s.Select("s", Key{})
	f := groups[0][0].Failover
	for code, want := range map[int]bool{486: true, 503: true, 500: true, 408: false, 404: false, 200: false} {
		if f(code) != want {
			t.Errorf("failover(%d) = %v, want %v", code, !want, want)
		}
	}
}

// fakeProber answers probes per address.
type fakeProber struct {
	mu    sync.Mutex
	codes map[string]int // 0: no answer (error)
	sent  map[string]int
}

func (p *fakeProber) Probe(ctx context.Context, t route.Target, _ string) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent[t.Addr]++
	if c := p.codes[t.Addr]; c != 0 {
		return c, nil
	}
	return 0, context.DeadlineExceeded
}

func (p *fakeProber) set(addr string, code int) {
	p.mu.Lock()
	p.codes[addr] = code
	p.mu.Unlock()
}

func TestProbeThresholds(t *testing.T) {
	s := build(t, Config{Members: members(a, b), Probe: Probe{Interval: time.Hour, DownAfter: 2, UpAfter: 3, Alive: []string{"200"}}})
	p := &fakeProber{codes: map[string]int{aa: 200, ba: 0}, sent: map[string]int{}}
	m := s.sets["s"].members
	down := func() []bool { return []bool{m[0].h.isDown(), m[1].h.isDown()} }
	for i, step := range []struct {
		bCode int
		want  bool // b down after this probe
	}{{0, false}, {0, true}, {0, true}, {200, true}, {408, true}, {200, true}, {200, true}, {200, false}} {
		p.set(ba, step.bCode)
		m[0].probeOnce(context.Background(), p)
		m[1].probeOnce(context.Background(), p)
		if d := down(); d[0] || d[1] != step.want {
			t.Fatalf("probe %d (b answers %d): down %v, want a up, b down=%v", i, step.bCode, d, step.want)
		}
	}
}

func TestStartClose(t *testing.T) {
	all := map[string]Config{"s": {Members: members(a, "trunk:x"), Probe: Probe{Interval: 100 * time.Millisecond, DownAfter: 1}}}
	SetDefaultsAll(all)
	if err := Validate(all, func(n string) bool { return n == "x" }); err != nil {
		t.Fatal(err)
	}
	s, err := New(all, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &fakeProber{codes: map[string]int{}, sent: map[string]int{}}
	s.Start(p)
	s.Start(p) // once only
	deadline := time.Now().Add(3 * time.Second)
	for !s.sets["s"].members[0].h.isDown() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	_ = s.Close()
	_ = s.Close()
	if !s.States()[0].Down {
		t.Fatal("a silent member was not marked down by the running probes")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.sent) != 1 {
		t.Fatalf("probed %v, want only the SIP member (a trunk probes its own hops)", p.sent)
	}
}

func TestValidate(t *testing.T) {
	all := map[string]Config{
		"bad name!": {Members: members(a)},
		"p": {Algorithm: "random", Members: []Member{{URI: "http://x"}, {URI: "set:q"}, {URI: "trunk:nope"}, {URI: a, Weight: 200}, {URI: a}},
			Failover: []string{"7xx"}, Probe: Probe{Interval: time.Millisecond, Alive: []string{"abc"}}},
		"l":     {Algorithm: Latency, Members: members(a)},
		"empty": {},
	}
	SetDefaultsAll(all)
	err := Validate(all, func(string) bool { return false })
	for _, want := range []string{
		"bad name! (bad name!): set name",
		"empty.members: at least one",
		"l.probe.interval: the latency algorithm needs probing",
		"p.algorithm (random): must be one of",
		"p.members[0] (http://x):",
		"p.members[1] (set:q): a member is a SIP URI or trunk:NAME",
		"p.members[2] (trunk:nope): no trunk named",
		"p.members[3].weight (200): must be 1..100",
		"p.members[4] (sip:10.0.0.1): same member as members[3]",
		"p.failover[0] (7xx):",
		"p.probe.interval (1ms):",
		"p.probe.alive[0] (abc):",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestReloadKeepsHealth(t *testing.T) {
	s := build(t, Config{Members: members(a, b), Probe: Probe{Interval: time.Hour, DownAfter: 1}})
	s.sets["s"].members[0].h.failure(time.Now(), 1)
	all := map[string]Config{"s": {Members: members(b, a), Probe: Probe{Interval: time.Hour, DownAfter: 1}}}
	SetDefaultsAll(all)
	n, err := New(all, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if got := order(t, n, Key{}); len(got) != 1 || got[0] != ba {
		t.Fatalf("after reload: %v, want a still down", got)
	}
}

// TestLeastCallsCountsOtherNodes: the other nodes' calls (SetRemoteCounts)
// weigh in least-calls and in a member's max_calls; ActiveCounts reports
// this node's own.
func TestLeastCallsCountsOtherNodes(t *testing.T) {
	s := build(t, Config{Algorithm: LeastCalls, Members: []Member{{URI: a}, {URI: b, MaxCalls: 3}}})
	order(t, s, Key{}) // the members' health exists once selected
	s.SetRemoteCounts(map[string]int{MemberKey("s", a): 5, MemberKey("s", b): 1})
	if got := order(t, s, Key{})[0]; got != ba {
		t.Fatalf("first choice %s with 5 remote calls on a and 1 on b, want b", got)
	}
	s.SetRemoteCounts(map[string]int{MemberKey("s", b): 3}) // b at its max_calls cluster-wide
	if got := order(t, s, Key{}); len(got) != 1 || got[0] != aa {
		t.Fatalf("order %v with b full cluster-wide, want a alone", got)
	}
	groups, err := s.Select("s", Key{CallID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	groups[0][0].Observer.Started("x")
	groups[0][0].Observer.Ended("x", 200, false, true)
	if c := s.ActiveCounts(); c[MemberKey("s", a)] != 1 || c[MemberKey("s", b)] != 0 {
		t.Fatalf("ActiveCounts %v, want this node's 1 call on a", c)
	}
}
