package cluster

import (
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// holders returns the names of the stores holding lease name.
func holders(name string, ss ...*Store) (who []string, token int64) {
	for _, s := range ss {
		if tok, ok := s.Held(name); ok {
			who, token = append(who, s.cfg.Node), tok
		}
	}
	return who, token
}

// TestLeaseOneHolder: of two nodes wanting a lease exactly one holds it;
// closing the holder hands it over at the next heartbeat, a holder that
// vanishes without a word hands it over after the lease time, and the
// fencing token grows with each change of holder.
func TestLeaseOneHolder(t *testing.T) {
	mr := miniredis.RunT(t)
	a, b := node(t, mr, "a"), node(t, mr, "b")
	const name = "trunk:carrier"
	a.Want(name)
	b.Want(name)
	var first string
	var tok1 int64
	waitFor(t, time.Second, "one holder", func() bool {
		who, tok := holders(name, a, b)
		if len(who) == 1 {
			first, tok1 = who[0], tok
		}
		return len(who) == 1
	})
	for range 5 { // stays with one holder across heartbeats
		time.Sleep(a.cfg.Heartbeat)
		if who, tok := holders(name, a, b); len(who) != 1 || who[0] != first || tok != tok1 {
			t.Fatalf("holders %v token %d, want only %s with token %d", who, tok, first, tok1)
		}
	}
	holder, other := a, b
	if first == "b" {
		holder, other = b, a
	}
	_ = holder.Close()
	waitFor(t, 3*other.cfg.Heartbeat, "the other node takes the released lease", func() bool {
		tok, ok := other.Held(name)
		return ok && tok == tok1+1
	})

	// A third node wants it; the holder vanishes without releasing (its
	// key simply stops being renewed): taken after the lease time.
	c := node(t, mr, "c")
	c.Want(name)
	time.Sleep(2 * c.cfg.Heartbeat)
	if _, ok := c.Held(name); ok {
		t.Fatal("node c holds a lease node " + other.cfg.Node + " still renews")
	}
	close(other.stop) // stop renewing, release nothing
	other.wg.Wait()
	other.closeOnce.Do(func() { _ = other.rdb.Close() })
	mr.FastForward(other.leaseTTL())
	waitFor(t, 3*c.cfg.Heartbeat, "node c takes the lapsed lease", func() bool {
		tok, ok := c.Held(name)
		return ok && tok == tok1+2
	})
}
