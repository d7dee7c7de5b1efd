package listen

import (
	"net"
	"sync"
)

// Caps counts open connections per source address and in all, and refuses
// new ones beyond its limits. It is safe for concurrent use; one Caps may
// be shared by several listeners.
type Caps struct {
	maxTotal, maxPerIP int

	mu    sync.Mutex
	total int
	perIP map[string]int
}

// NewCaps returns caps of maxTotal connections in all and maxPerIP from one
// address; a limit <= 0 is no limit.
func NewCaps(maxTotal, maxPerIP int) *Caps {
	return &Caps{maxTotal: maxTotal, maxPerIP: maxPerIP, perIP: make(map[string]int)}
}

// Admit counts a new connection from ip, or reports false (and counts
// nothing) when a limit is reached.
func (c *Caps) Admit(ip string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if (c.maxTotal > 0 && c.total >= c.maxTotal) || (c.maxPerIP > 0 && c.perIP[ip] >= c.maxPerIP) {
		return false
	}
	c.perIP[ip]++
	c.total++
	return true
}

// Release uncounts a closed connection from ip, once per successful Admit.
func (c *Caps) Release(ip string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total--
	if c.perIP[ip] <= 1 {
		delete(c.perIP, ip)
	} else {
		c.perIP[ip]--
	}
}

// Count returns the connections counted and from how many addresses.
func (c *Caps) Count() (total, addrs int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total, len(c.perIP)
}

// sourceIP is the address part of a connection's remote address.
func sourceIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	s := a.String()
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return s
}
