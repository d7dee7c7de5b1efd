package sets

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipedge/sipedge/gateway/route"
)

// Key is what the hash algorithms hash, taken from the request.
type Key struct {
	CallID   string
	FromUser string
	ToUser   string
	RURIUser string
}

// Sets is the configured destination sets with their members' health.
// Select is safe for concurrent use; Start runs the probes; Close stops
// them and waits.
type Sets struct {
	log  *slog.Logger
	reg  *registry
	sets map[string]*set
	now  func() time.Time

	mu      sync.Mutex
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closed  bool
	started bool
}

// set is one configured set.
type set struct {
	name     string
	cfg      Config
	members  []*member
	failover *route.Codes
	alive    *route.Codes
	rr       atomic.Uint64

	wrrMu  sync.Mutex
	wrrCur []int // smooth weighted round-robin current weights
}

// member is one destination of a set.
type member struct {
	s      *set
	sets   *Sets
	idx    int
	cfg    Member
	target route.Target
	h      *health
}

// New builds the sets of a validated `sets` section (SetDefaultsAll and
// Validate applied). prev, if not nil, is the Sets it replaces (a
// reload): members keep their health and calls in progress.
func New(all map[string]Config, prev *Sets, log *slog.Logger) (*Sets, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sets{log: log.With("component", "sets"), sets: map[string]*set{}, now: time.Now, reg: newRegistry()}
	if prev != nil {
		s.reg = prev.reg
	}
	for name, c := range all {
		st := &set{name: name, cfg: c, wrrCur: make([]int, len(c.Members))}
		var err error
		if st.failover, err = route.ParseCodes(c.Failover); err != nil {
			return nil, fmt.Errorf("sets: %s.failover: %w", name, err)
		}
		if st.alive, err = route.ParseCodes(c.Probe.Alive); err != nil {
			return nil, fmt.Errorf("sets: %s.probe.alive: %w", name, err)
		}
		for i, mc := range c.Members {
			t, err := route.ParseTarget(mc.URI)
			if err != nil {
				return nil, fmt.Errorf("sets: %s.members[%d]: %w", name, i, err)
			}
			m := &member{s: st, sets: s, idx: i, cfg: mc, h: s.reg.member(name, mc.URI)}
			t.Observer = m
			t.Failover = st.failover.Has
			m.target = t
			st.members = append(st.members, m)
		}
		s.sets[name] = st
	}
	return s, nil
}

// Has reports whether a set is configured.
func (s *Sets) Has(name string) bool {
	_, ok := s.sets[name]
	return ok
}

// Algorithm is set name's algorithm ("" when not configured).
func (s *Sets) Algorithm(name string) string {
	if st, ok := s.sets[name]; ok {
		return st.cfg.Algorithm
	}
	return ""
}

// Select returns the targets of set name for one request, in the order
// the set's algorithm gives, leaving out members that are down, disabled
// by an operator or full:
// each one its own group (serial failover), or all of them in one group
// for parallel. A member may be trunk:NAME, for the caller to expand.
func (s *Sets) Select(name string, k Key) ([]route.Group, error) {
	st, ok := s.sets[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNoSet, name)
	}
	order := st.order(k, s.now())
	if len(order) == 0 {
		return nil, fmt.Errorf("%w: set %q", ErrAllDown, name)
	}
	if st.cfg.Algorithm == Parallel {
		g := make(route.Group, 0, len(order))
		for _, m := range order {
			g = append(g, m.target)
		}
		return []route.Group{g}, nil
	}
	groups := make([]route.Group, 0, len(order))
	for _, m := range order {
		groups = append(groups, route.Group{m.target})
	}
	return groups, nil
}

// order is the members to try, first choice first.
func (st *set) order(k Key, now time.Time) []*member {
	probing := st.cfg.Probe.Interval > 0
	up := make([]*member, 0, len(st.members))
	for _, m := range st.members {
		if m.h.usable(now, probing, m.cfg.MaxCalls) {
			up = append(up, m)
		}
	}
	if len(up) == 0 {
		return nil
	}
	switch st.cfg.Algorithm {
	case HashCallID:
		return rotate(up, hash(k.CallID))
	case HashFrom:
		return rotate(up, hash(k.FromUser))
	case HashTo:
		return rotate(up, hash(k.ToUser))
	case HashRURI:
		return rotate(up, hash(k.RURIUser))
	case RoundRobin:
		return rotate(up, int(st.rr.Add(1)-1))
	case Weighted:
		return st.weighted(up)
	case LeastCalls:
		start := rotate(up, int(st.rr.Add(1)-1)) // equal loads take turns
		slices.SortStableFunc(start, func(a, b *member) int {
			x, _, _ := a.h.snapshot()
			y, _, _ := b.h.snapshot()
			return x - y
		})
		return start
	case Latency:
		slices.SortStableFunc(up, func(a, b *member) int {
			_, x, okx := a.h.snapshot()
			_, y, oky := b.h.snapshot()
			switch {
			case okx && !oky:
				return -1
			case !okx && oky:
				return 1
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		})
		return up
	case Priority:
		slices.SortStableFunc(up, func(a, b *member) int { return a.cfg.Priority - b.cfg.Priority })
		return up
	}
	return up // parallel: list order
}

// weighted picks the first member by smooth weighted round-robin (nginx's:
// every member gains its weight, the largest is chosen and loses the
// total), then the others by weight.
func (st *set) weighted(up []*member) []*member {
	st.wrrMu.Lock()
	total, best := 0, -1
	for _, m := range up {
		st.wrrCur[m.idx] += m.cfg.Weight
		total += m.cfg.Weight
		if best < 0 || st.wrrCur[m.idx] > st.wrrCur[up[best].idx] {
			best = slices.Index(up, m)
		}
	}
	st.wrrCur[up[best].idx] -= total
	st.wrrMu.Unlock()
	out := make([]*member, 0, len(up))
	out = append(out, up[best])
	rest := slices.Delete(slices.Clone(up), best, best+1)
	slices.SortStableFunc(rest, func(a, b *member) int { return b.cfg.Weight - a.cfg.Weight })
	return append(out, rest...)
}

// rotate returns ms starting at index i mod len, the rest following in
// list order (wrapping).
func rotate(ms []*member, i int) []*member {
	n := len(ms)
	i %= n
	if i < 0 {
		i += n
	}
	out := make([]*member, 0, n)
	out = append(out, ms[i:]...)
	return append(out, ms[:i]...)
}

func hash(s string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return int(h.Sum32() & 0x7fffffff)
}

// CallEnded releases a call in progress (its BYE was seen): least-calls
// stops counting it.
func (s *Sets) CallEnded(callID string) { s.reg.ended(callID) }

// Started implements route.Observer: a branch to the member was sent.
func (m *member) Started(string) {
	m.h.selected.Add(1)
	m.h.addActive(1)
}

// Ended implements route.Observer: a 2xx to an INVITE leaves the call in
// progress until CallEnded; any other end releases it. A branch we gave
// up ourselves (unreachable, no response in fr_timer) is a failure of the
// member; a real answer is a sign of life.
func (m *member) Ended(callID string, code int, local, invite bool) {
	switch {
	case invite && code >= 200 && code < 300:
		m.sets.reg.answered(callID, m.h, m.sets.now())
	default:
		m.h.addActive(-1)
	}
	if local || code == 408 || code >= 500 && code < 600 {
		m.h.failedOver.Add(1) // route.Failover's codes: the next member is tried
	}
	if local && (code == 0 || code == 408 || code == 503) {
		m.logChange(m.h.failure(m.sets.now(), m.s.cfg.DownAfterCalls), "calls failed")
	} else if code != 0 && !local && m.s.cfg.Probe.Interval == 0 {
		m.logChange(m.h.success(1), "answered a call")
	}
}

// logChange logs a state change once.
func (m *member) logChange(c change, why string) {
	switch c {
	case wentDown:
		m.sets.log.Warn("set member down", "set", m.s.name, "member", m.cfg.URI, "reason", why)
	case wentUp:
		m.sets.log.Info("set member up", "set", m.s.name, "member", m.cfg.URI, "reason", why)
	}
}

// SetEnabled enables or disables member (its URI as configured, or
// trunk:NAME) of set, as an operator does: a disabled member gets no new
// call, whatever its health, until it is enabled again; calls in progress
// go on. Its probes keep running, so its health is known when it comes
// back. The state outlives reloads that keep the member. It reports
// whether the state changed; ErrNoSet or ErrNoMember for unknown names.
func (s *Sets) SetEnabled(set, member string, on bool) (bool, error) {
	st, ok := s.sets[set]
	if !ok {
		return false, fmt.Errorf("%w: %q", ErrNoSet, set)
	}
	for _, m := range st.members {
		if m.cfg.URI != member {
			continue
		}
		changed := m.h.setDisabled(!on)
		if changed && on {
			s.log.Info("set member enabled by operator", "set", set, "member", member)
		} else if changed {
			s.log.Warn("set member disabled by operator", "set", set, "member", member)
		}
		return changed, nil
	}
	return false, fmt.Errorf("%w: %q has no member %q", ErrNoMember, set, member)
}

// State is one member's health as seen from outside (admin, tests).
type State struct {
	Set, Member string
	Down        bool
	// Disabled is the operator's state (SetEnabled), apart from Down.
	Disabled bool
	Active   int
	RTT      time.Duration // moving average of probe round trips (0: none yet)
	// Selections are the branches sent to the member; Failovers those
	// that failed with 408, a 5xx or no answer, so the call moved on.
	Selections, Failovers uint64
}

// States lists every member's state, set by set in name order.
func (s *Sets) States() []State {
	var out []State
	names := make([]string, 0, len(s.sets))
	for n := range s.sets {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		for _, m := range s.sets[n].members {
			a, rtt, _ := m.h.snapshot()
			out = append(out, State{Set: n, Member: m.cfg.URI, Down: m.h.isDown(), Disabled: m.h.isDisabled(), Active: a, RTT: rtt,
				Selections: m.h.selected.Load(), Failovers: m.h.failedOver.Load()})
		}
	}
	return out
}
