// Package retrans keeps answers as bytes instead of transactions: a proxy
// or registrar must answer a retransmitted request with the same response
// for as long as the request may be retransmitted (RFC 3261 §17.2.2, Timer
// J, 32 s over UDP), and sipgo keeps a whole transaction with its parsed
// messages for that. Cache holds recent answers by the request's key
// (RequestKey, TxKey, OKKey) within a byte budget and a lifetime, so memory
// stays bounded under any request rate: a flood only shortens the window.
package retrans

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

const (
	// TimerJ is how long an answer is kept at most (64*T1).
	TimerJ = 64 * 500 * time.Millisecond
	// Overhead is what an entry costs beyond its key and bytes: its
	// queue slot, its map entry and the slice and string headers.
	Overhead = 128
)

// Cache holds recent stateless answers by request key, oldest first,
// within a byte budget and a lifetime. It is safe for concurrent use.
type Cache struct {
	max int
	ttl time.Duration

	mu    sync.Mutex
	index map[string]uint64 // key -> sequence number of its newest entry
	queue []Entry           // queue[head:] are live, oldest first
	head  int
	base  uint64 // sequence number of queue[0]
	size  int    // accounted bytes of queue[head:]
}

// Entry is one answer: the response's bytes and where they went.
type Entry struct {
	Key string
	Res []byte
	Dst netip.AddrPort
	At  int64 // Unix nanoseconds

	// For a relayed 2xx: the socket to write Res on, or (not over UDP)
	// what sends the response again and what it holds in memory.
	PC     PacketWriter
	Resend func() error
	Held   int
}

func (e *Entry) cost() int { return len(e.Key) + len(e.Res) + e.Held + Overhead }

func New(maxBytes int, ttl time.Duration) *Cache {
	return &Cache{max: maxBytes, ttl: ttl, index: make(map[string]uint64)}
}

// Get returns the answer stored for key if it is younger than the TTL at
// now. The bytes must not be modified.
func (c *Cache) Get(key []byte, now time.Time) ([]byte, netip.AddrPort, bool) {
	e, ok := c.Entry(key, now)
	return e.Res, e.Dst, ok
}

// Entry returns a copy of the entry stored for key if it is younger than
// the TTL at now. A nil cache holds nothing.
func (c *Cache) Entry(key []byte, now time.Time) (Entry, bool) {
	if c == nil {
		return Entry{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	seq, ok := c.index[string(key)]
	if !ok {
		return Entry{}, false
	}
	e := c.queue[seq-c.base]
	if now.UnixNano()-e.At > int64(c.ttl) {
		return Entry{}, false
	}
	return e, true
}

// Put stores res (which the cache now owns) for key at now, replacing an
// older answer for it, and evicts expired entries and then the oldest ones
// until the budget holds. An answer larger than the whole budget is not
// kept.
func (c *Cache) Put(key []byte, res []byte, dst netip.AddrPort, now time.Time) {
	c.PutEntry(Entry{Key: string(key), Res: res, Dst: dst, At: now.UnixNano()}, now)
}

// PutEntry is Put for a whole entry (with its socket).
func (c *Cache) PutEntry(e Entry, now time.Time) {
	if e.cost() > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.head < len(c.queue) && (now.UnixNano()-c.queue[c.head].At > int64(c.ttl) || c.size+e.cost() > c.max) {
		c.pop()
	}
	if c.head > 0 && c.head >= len(c.queue)/2 {
		// Compact: live entries move to the front of the slice.
		n := copy(c.queue, c.queue[c.head:])
		clear(c.queue[n:])
		c.queue = c.queue[:n]
		c.base += uint64(c.head)
		c.head = 0
	}
	c.index[e.Key] = c.base + uint64(len(c.queue))
	c.queue = append(c.queue, e)
	c.size += e.cost()
}

// pop drops the oldest entry; the caller holds mu and ensures one exists.
func (c *Cache) pop() {
	e := &c.queue[c.head]
	seq := c.base + uint64(c.head)
	if c.index[e.Key] == seq {
		delete(c.index, e.Key)
	}
	c.size -= e.cost()
	*e = Entry{}
	c.head++
}

// Stats returns the number of answers held and their accounted bytes.
func (c *Cache) Stats() (entries, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.index), c.size
}

// RequestKey appends the key of req's transaction for the answer caches to
// buf: method, top Via branch and sent-by, and the source address. ok is
// false when req cannot be answered statelessly: INVITE and ACK (the
// transaction absorbs the ACK), a reliable transport (sipgo ends those
// transactions at once anyway), or a top Via without an RFC 3261 branch
// (its transaction is matched on other fields).
func RequestKey(buf []byte, req *sip.Request) ([]byte, bool) {
	if req.Method == sip.INVITE {
		return nil, false
	}
	return TxKey(buf, req)
}

// TxKey is RequestKey for any method but ACK: the key of req's server
// transaction over UDP (the gateway keys accepted INVITEs with it).
func TxKey(buf []byte, req *sip.Request) ([]byte, bool) {
	if req.Method == sip.ACK || sip.IsReliable(req.Transport()) {
		return nil, false
	}
	via := req.Via()
	if via == nil {
		return nil, false
	}
	branch, _ := via.Params.Get("branch")
	if !strings.HasPrefix(branch, sip.RFC3261BranchMagicCookie) {
		return nil, false
	}
	buf = append(buf, req.Method...)
	buf = append(buf, ' ')
	buf = append(buf, branch...)
	buf = append(buf, ' ')
	buf = append(buf, via.Host...)
	buf = append(buf, ':')
	buf = appendUint(buf, via.Port)
	buf = append(buf, ' ')
	buf = append(buf, req.Source()...)
	return buf, true
}

func appendUint(b []byte, n int) []byte {
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(b, d[i:]...)
}

// PacketWriter is what a sipgo UDP connection offers to write raw bytes.
type PacketWriter interface {
	WriteTo(b []byte, addr net.Addr) (int, error)
}

// WritePacket writes b to dst on pc, without allocating an address when pc
// is the UDP socket itself.
func WritePacket(pc PacketWriter, b []byte, dst netip.AddrPort) error {
	if u, ok := pc.(*net.UDPConn); ok {
		_, err := u.WriteToUDPAddrPort(b, dst)
		return err
	}
	_, err := pc.WriteTo(b, net.UDPAddrFromAddrPort(dst))
	return err
}

// OKKey appends the key of a 2xx to an INVITE, kept to relay its
// retransmissions as the first was relayed: the
// top Via branch (ours, on the way back), the To tag and the CSeq number.
func OKKey(buf []byte, res *sip.Response) ([]byte, bool) {
	via, to, cseq := res.Via(), res.To(), res.CSeq()
	if via == nil || to == nil || cseq == nil || cseq.MethodName != sip.INVITE || !res.IsSuccess() {
		return nil, false
	}
	branch, _ := via.Params.Get("branch")
	tag, _ := to.Params.Get("tag")
	buf = append(buf, "2xx "...)
	buf = append(buf, branch...)
	buf = append(buf, ' ')
	buf = append(buf, tag...)
	buf = append(buf, ' ')
	return appendUint(buf, int(cseq.SeqNo)), true
}
