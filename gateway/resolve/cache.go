package resolve

import (
	"sync"
	"time"

	"github.com/miekg/dns"
)

// cacheKey is one question.
type cacheKey struct {
	name  string
	qtype uint16
}

// entry is one cached answer: its records (nil for a name or type that
// does not exist) until expires.
type entry struct {
	rrs     []dns.RR
	expires time.Time
}

// cache holds answers for their TTL, at most max entries (the oldest
// expiry goes first when full).
type cache struct {
	mu  sync.Mutex
	m   map[cacheKey]entry
	max int
}

func newCache(max int) *cache { return &cache{m: map[cacheKey]entry{}, max: max} }

func (c *cache) get(k cacheKey, now time.Time) ([]dns.RR, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return nil, false
	}
	if !now.Before(e.expires) {
		delete(c.m, k)
		return nil, false
	}
	return e.rrs, true
}

func (c *cache) put(k cacheKey, rrs []dns.RR, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		var oldest cacheKey
		first := true
		for key, e := range c.m {
			if first || e.expires.Before(c.m[oldest].expires) {
				oldest, first = key, false
			}
		}
		delete(c.m, oldest)
	}
	c.m[k] = entry{rrs: rrs, expires: expires}
}
