package ban

import (
	"hash/maphash"
	"sync"
)

// The rate sampler is a fixed table, so a flood from spoofed sources
// cannot grow memory: shards × buckets × ways slots, each counting one
// source's requests in the current window. A source not in its bucket
// takes the slot of a window gone by, else the slot with the fewest
// requests: a flooder keeps its slot, one-off spoofed sources churn the
// others.
const (
	shards  = 64
	buckets = 256 // per shard
	ways    = 4
)

// slot counts one source in one window.
type slot struct {
	ip     [16]byte
	window uint32 // window number + 1; 0 = empty
	n      uint32
}

// shard is one lock's share of the table.
type shard struct {
	mu sync.Mutex
	b  [buckets][ways]slot
}

// sampler counts requests per source per window.
type sampler struct {
	seed   maphash.Seed
	shards [shards]shard
}

func newSampler() *sampler { return &sampler{seed: maphash.MakeSeed()} }

// add counts one request from ip in window w and returns the source's
// count in that window.
func (s *sampler) add(ip [16]byte, w uint32) uint32 {
	h := maphash.Bytes(s.seed, ip[:])
	sh := &s.shards[h%shards]
	bk := &sh.b[(h/shards)%buckets]
	w++ // 0 marks an empty slot
	sh.mu.Lock()
	defer sh.mu.Unlock()
	victim := 0
	for i := range bk {
		sl := &bk[i]
		if sl.window != 0 && sl.ip == ip {
			if sl.window != w {
				sl.window, sl.n = w, 0
			}
			sl.n++
			return sl.n
		}
		v := &bk[victim]
		switch {
		case sl.window != w && v.window == w: // stale beats current
			victim = i
		case (sl.window == w) == (v.window == w) && sl.n < v.n:
			victim = i
		}
	}
	bk[victim] = slot{ip: ip, window: w, n: 1}
	return 1
}
