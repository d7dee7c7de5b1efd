package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"sync"
	"time"
)

// A nonce is base64url(issued[8] | random[8] | mac[16]) where issued is the
// issue time in Unix nanoseconds (big endian) and mac the first 16 bytes of
// HMAC-SHA256(key, issued|random) under a per-process random key.
const (
	nonceRawLen = 32
	nonceLen    = 43 // base64.RawURLEncoding.EncodedLen(nonceRawLen)
	macLen      = 16
)

// nonceID is the issued|random prefix of a nonce: its identity in the table.
type nonceID [16]byte

// nonceEntry is one slot of the first-use queue.
type nonceEntry struct {
	id     nonceID
	issued int64
}

// nonces mints and verifies nonces and remembers, for nonces in use, the
// highest nonce-count seen. The table is capped: entries leave in first-use
// order, expired ones lazily on insert, live ones when the table is full. A
// live entry pushed out raises floor, and a nonce issued at or before floor
// that is not in the table is treated as stale, so eviction can never make a
// nonce-count acceptable twice.
type nonces struct {
	key  [32]byte
	ttl  time.Duration
	macs sync.Pool // hash.Hash (HMAC-SHA256 under key)

	mu    sync.Mutex
	seen  map[nonceID]uint32 // nonce -> highest nc accepted
	queue []nonceEntry       // ring buffer in first-use order, len == cap
	head  int
	n     int
	floor int64
}

func newNonces(ttl time.Duration, max int) *nonces {
	ns := &nonces{
		ttl:   ttl,
		seen:  make(map[nonceID]uint32),
		queue: make([]nonceEntry, max),
	}
	_, _ = rand.Read(ns.key[:]) // crypto/rand.Read never fails (Go 1.24+)
	ns.macs.New = func() any { return hmac.New(sha256.New, ns.key[:]) }
	return ns
}

// mint returns a fresh nonce issued at now.
func (ns *nonces) mint(now time.Time) string {
	var raw [nonceRawLen]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(now.UnixNano()))
	_, _ = rand.Read(raw[8:16])
	ns.sign(raw[:16], raw[16:])
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

// sign writes the MAC of msg into out (macLen bytes).
func (ns *nonces) sign(msg, out []byte) {
	m := ns.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(msg)
	var sum [sha256.Size]byte
	copy(out, m.Sum(sum[:0]))
	ns.macs.Put(m)
}

// verify checks that s is a nonce we minted and returns its identity and
// issue time (Unix nanoseconds).
func (ns *nonces) verify(s string) (nonceID, int64, bool) {
	var id nonceID
	if len(s) != nonceLen {
		return id, 0, false
	}
	var raw [nonceRawLen]byte
	if n, err := base64.RawURLEncoding.Decode(raw[:], []byte(s)); err != nil || n != nonceRawLen {
		return id, 0, false
	}
	var want [macLen]byte
	ns.sign(raw[:16], want[:])
	if !hmac.Equal(want[:], raw[16:]) {
		return id, 0, false
	}
	copy(id[:], raw[:16])
	return id, int64(binary.BigEndian.Uint64(raw[:8])), true
}

// expired reports whether a nonce issued at issued is past its lifetime.
func (ns *nonces) expired(issued int64, now time.Time) bool {
	return now.UnixNano()-issued > int64(ns.ttl)
}

// use records nonce-count nc for the nonce id. It returns ErrReplay when nc
// is not above the highest count seen for id, and ErrStale when the table
// has forgotten id (see floor).
func (ns *nonces) use(id nonceID, issued int64, nc uint32, now time.Time) error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if last, ok := ns.seen[id]; ok {
		if nc <= last {
			return ErrReplay
		}
		ns.seen[id] = nc
		return nil
	}
	if issued <= ns.floor {
		return ErrStale
	}
	// Lazy sweep of expired entries at the head of the queue.
	for ns.n > 0 && ns.expired(ns.queue[ns.head].issued, now) {
		ns.pop()
	}
	if ns.n == len(ns.queue) {
		e := ns.pop()
		if e.issued > ns.floor {
			ns.floor = e.issued
		}
	}
	ns.queue[(ns.head+ns.n)%len(ns.queue)] = nonceEntry{id: id, issued: issued}
	ns.n++
	ns.seen[id] = nc
	return nil
}

// pop removes the oldest entry; the caller holds mu and ensures n > 0.
func (ns *nonces) pop() nonceEntry {
	e := ns.queue[ns.head]
	delete(ns.seen, e.id)
	ns.head = (ns.head + 1) % len(ns.queue)
	ns.n--
	return e
}

// size returns how many nonces the table remembers.
func (ns *nonces) size() int {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return len(ns.seen)
}
