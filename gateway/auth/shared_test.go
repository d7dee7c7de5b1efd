package auth

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeShared is an in-process cluster record (cluster.Store does this on
// Redis; its tests cover that side).
type fakeShared struct {
	key  []byte
	mu   sync.Mutex
	last map[string]uint32
	down bool
}

func (f *fakeShared) NonceKey() []byte { return f.key }

func (f *fakeShared) UseNonce(id string, nc uint32, _ time.Duration) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return false, errors.New("down")
	}
	if nc <= f.last[id] {
		return false, nil
	}
	f.last[id] = nc
	return true, nil
}

// TestSharedNonces: a nonce one node issued is accepted by another, with
// the same opaque, and a nonce-count used on one node is a replay on the
// other; with the shared record unavailable each node's own table decides.
func TestSharedNonces(t *testing.T) {
	sh := &fakeShared{key: make([]byte, 32), last: map[string]uint32{}}
	for i := range sh.key {
		sh.key[i] = byte(i)
	}
	nodes := make([]*Authenticator, 2)
	for i := range nodes {
		a, err := New(Config{Realm: testRealm, Algorithms: []string{MD5}, NonceTTL: time.Minute, MaxNonces: 64}, testUsers(), nil, WithShared(sh))
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = a
	}
	a, b := nodes[0], nodes[1]
	req := loadRequest(t, "register_jssip.sip")
	chal := challengeFor(t, a, req, false, MD5)
	for i, s := range []struct {
		node  *Authenticator
		count int
		err   error
	}{
		{b, 1, nil},       // challenged by a, answered to b
		{a, 1, ErrReplay}, // the same header replayed to a
		{a, 2, nil},
		{b, 2, ErrReplay}, // b's own table has seen 1 only; the record says 2
		{b, 3, nil},
	} {
		r := authorize(t, req, chal, client{user: "alice", password: "s3cret", alg: MD5, count: s.count}, false)
		if _, err := s.node.Check(r, false); !errors.Is(err, s.err) {
			t.Fatalf("step %d (nc=%d): err %v, want %v", i, s.count, err, s.err)
		}
	}
	sh.down = true
	r := authorize(t, req, chal, client{user: "alice", password: "s3cret", alg: MD5, count: 4}, false)
	if _, err := a.Check(r, false); err != nil {
		t.Fatalf("shared record down: %v, want this node's table to accept nc 4", err)
	}
	if _, err := a.Check(r, false); !errors.Is(err, ErrReplay) {
		t.Fatalf("shared record down, replay on the same node: %v, want ErrReplay", err)
	}

	// A node of another cluster (another key) does not accept the nonce.
	other := newTestAuth(t, MD5)
	r = authorize(t, req, chal, client{user: "alice", password: "s3cret", alg: MD5, count: 9}, false)
	if _, err := other.Check(r, false); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("foreign node: %v, want ErrBadCredentials", err)
	}
}
