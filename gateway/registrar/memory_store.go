package registrar

import (
	"hash/maphash"
	"sync"
	"time"
)

// shardCount is the number of independently locked AOR shards.
const shardCount = 64

// memoryStore is the embedded Store: AORs spread over shards, each with
// its own mutex, plus a flow index under a separate mutex. Lock order is
// shard, then flow index; never the reverse.
type memoryStore struct {
	seed   maphash.Seed
	shards [shardCount]shard

	flowMu sync.Mutex
	flows  map[string]flowRefs // flow id -> bindings per AOR on that flow
}

type shard struct {
	mu   sync.Mutex
	aors map[string][]Binding
	_    [40]byte // keep shards on separate cache lines
}

// NewMemoryStore returns an in-memory Store for a single node.
func NewMemoryStore() Store {
	s := &memoryStore{seed: maphash.MakeSeed(), flows: make(map[string]flowRefs)}
	for i := range s.shards {
		s.shards[i].aors = make(map[string][]Binding)
	}
	return s
}

func (s *memoryStore) shard(aor string) *shard {
	return &s.shards[maphash.String(s.seed, aor)%shardCount]
}

// Get implements Store.
func (s *memoryStore) Get(aor string) []Binding {
	sh := s.shard(aor)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.aors[aor]
}

// Update implements Store.
func (s *memoryStore) Update(aor string, fn func(cur []Binding) ([]Binding, error)) error {
	sh := s.shard(aor)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	cur := sh.aors[aor]
	next, err := fn(cur)
	if err != nil {
		return err
	}
	if len(next) == 0 {
		delete(sh.aors, aor)
	} else {
		sh.aors[aor] = next
	}
	s.reindex(aor, cur, next)
	return nil
}

// reindex moves aor's flow index entries from old to new bindings. The
// caller holds the AOR's shard lock.
func (s *memoryStore) reindex(aor string, old, new []Binding) {
	if !hasFlow(old) && !hasFlow(new) {
		return
	}
	s.flowMu.Lock()
	defer s.flowMu.Unlock()
	for i := range old {
		if f := old[i].Source.FlowID; f != "" {
			if r, ok := s.flows[f]; ok {
				if r.add(aor, -1) {
					s.flows[f] = r
				} else {
					delete(s.flows, f)
				}
			}
		}
	}
	for i := range new {
		if f := new[i].Source.FlowID; f != "" {
			r := s.flows[f]
			r.add(aor, 1)
			s.flows[f] = r
		}
	}
}

// flowRefs counts the bindings per AOR on one flow. Nearly every flow
// carries one AOR (a browser registers one user), so the first AOR is held
// inline and a map is made only for a second one: an idle registered flow
// costs one map entry here, not a map of its own.
type flowRefs struct {
	aor  string
	n    int
	more map[string]int // further AORs, nil until needed
}

// add changes aor's count by d and reports whether any binding is left.
func (r *flowRefs) add(aor string, d int) bool {
	switch {
	case r.aor == aor || (r.n == 0 && r.aor == ""):
		r.aor = aor
		r.n += d
	default:
		if r.more == nil {
			r.more = make(map[string]int, 1)
		}
		if r.more[aor] += d; r.more[aor] <= 0 {
			delete(r.more, aor)
		}
	}
	if r.n <= 0 && r.aor != "" {
		// Promote an AOR from more (or clear the inline slot).
		r.aor, r.n = "", 0
		for a, n := range r.more {
			r.aor, r.n = a, n
			delete(r.more, a)
			break
		}
	}
	if len(r.more) == 0 {
		r.more = nil
	}
	return r.n > 0
}

// aors returns the AORs with bindings on the flow.
func (r flowRefs) aors() []string {
	if r.n <= 0 {
		return nil
	}
	out := make([]string, 0, 1+len(r.more))
	out = append(out, r.aor)
	for a := range r.more {
		out = append(out, a)
	}
	return out
}

func hasFlow(bs []Binding) bool {
	for i := range bs {
		if bs[i].Source.FlowID != "" {
			return true
		}
	}
	return false
}

// FlowAORs implements Store.
func (s *memoryStore) FlowAORs(flowID string) []string {
	s.flowMu.Lock()
	defer s.flowMu.Unlock()
	if out := s.flows[flowID].aors(); out != nil {
		return out
	}
	return []string{}
}

// Expire implements Store.
func (s *memoryStore) Expire(now time.Time) int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for aor, bs := range sh.aors {
			live := 0
			for j := range bs {
				if bs[j].Expires.After(now) {
					live++
				}
			}
			if live == len(bs) {
				continue
			}
			n += len(bs) - live
			var next []Binding
			if live > 0 {
				next = make([]Binding, 0, live)
				for j := range bs {
					if bs[j].Expires.After(now) {
						next = append(next, bs[j])
					}
				}
				sh.aors[aor] = next
			} else {
				delete(sh.aors, aor)
			}
			s.reindex(aor, bs, next)
		}
		sh.mu.Unlock()
	}
	return n
}

// All implements Store.
func (s *memoryStore) All() []Binding {
	var out []Binding
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, bs := range sh.aors {
			out = append(out, bs...)
		}
		sh.mu.Unlock()
	}
	return out
}

// Each implements Store.
func (s *memoryStore) Each(fn func(b *Binding) bool) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, bs := range sh.aors {
			for j := range bs {
				if !fn(&bs[j]) {
					sh.mu.Unlock()
					return
				}
			}
		}
		sh.mu.Unlock()
	}
}
