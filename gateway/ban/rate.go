package ban

import (
	"hash/maphash"
	"sync"
)

// The rate sampler is a fixed table, so a flood from spoofed sources
// cannot grow memory: shards × buckets × ways slots, each counting one
// source's requests in the current window and the one before. A source's
// rate is the sliding-window estimate cur + prev × (time left of the
// current window): a flood that starts just before a window boundary is
// held to about max_requests over any window-long span, not twice that
// as with fixed windows (Kamailio's pike samples fixed windows). A
// source not in its bucket
// takes the slot of a window gone by, else the slot with the fewest
// requests: a flooder keeps its slot, one-off spoofed sources churn the
// others.
const (
	shards  = 64
	buckets = 256 // per shard
	ways    = 4
)

// slot counts one source in one window and the window before it.
type slot struct {
	ip     [16]byte
	window uint32 // window number + 1; 0 = empty
	n      uint32 // requests in window
	prev   uint32 // requests in window-1
}

// fracOne is 1.0 of the fixed-point fraction of a window passed to add.
const fracOne = 1 << 16

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

// add counts one request from ip in window w, frac/fracOne of the way
// through it, and returns the source's sliding-window request count.
func (s *sampler) add(ip [16]byte, w, frac uint32) uint32 {
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
			switch {
			case sl.window == w-1:
				sl.window, sl.prev, sl.n = w, sl.n, 0
			case sl.window != w:
				sl.window, sl.prev, sl.n = w, 0, 0
			}
			sl.n++
			return sl.n + uint32(uint64(sl.prev)*uint64(fracOne-frac)/fracOne)
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
