package cluster

import (
	"errors"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sipedge/sipedge/gateway/registrar"
)

// deadAfter is how many missed heartbeats make a node dead.
const deadAfter = 3

func nodeKey(node string) string { return keyPrefix + "node:" + node }

// heartbeat refreshes this node's liveness key every cfg.Heartbeat and,
// when Redis answers again (or lost our key: restarted or flushed),
// publishes the bindings it missed.
func (s *Store) heartbeat() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.beat()
	}
}

// beat is one heartbeat.
func (s *Store) beat() {
	ctx, cancel := s.ctx()
	defer cancel()
	// SET ... GET tells whether the key was there: a Redis that restarted
	// empty has lost our bindings too.
	prev, err := s.rdb.SetArgs(ctx, nodeKey(s.cfg.Node), s.cfg.Address,
		redis.SetArgs{TTL: deadAfter * s.cfg.Heartbeat, Get: true}).Result()
	switch {
	case errors.Is(err, redis.Nil):
		s.republish.Store(true)
	case err != nil:
		s.failed("heartbeat", "", err)
		return
	case prev != s.cfg.Address:
		s.republish.Store(true)
	}
	if s.down.Swap(false) {
		s.log.Info("redis available again: publishing local state")
	}
	s.renewLeases()
	s.publishCounts()
	s.publish()
}

// publish writes the AORs Redis missed; everything this node holds when
// Redis lost its state.
func (s *Store) publish() {
	var aors []string
	if s.republish.Swap(false) {
		seen := map[string]bool{}
		s.local.Each(func(b *registrar.Binding) bool {
			if b.Node == s.cfg.Node && !seen[b.AOR] {
				seen[b.AOR] = true
				aors = append(aors, b.AOR)
			}
			return true
		})
		s.mu.Lock()
		for _, aor := range aors {
			s.dirty[aor] = true
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	aors = aors[:0]
	for aor := range s.dirty {
		aors = append(aors, aor)
	}
	s.mu.Unlock()
	slices.Sort(aors)
	for _, aor := range aors {
		// An Update with the identity merges our own bindings (the AOR is
		// dirty) into what Redis holds and clears the mark.
		if err := s.Update(aor, func(cur []registrar.Binding) ([]registrar.Binding, error) { return cur, nil }); err != nil || s.down.Load() {
			s.republish.Store(true)
			return
		}
	}
}

// Node is this node's name (gateway.Peers).
func (s *Store) Node() string { return s.cfg.Node }

// peerState is what was last read of another node's heartbeat.
type peerState struct {
	addr  string
	alive bool
	at    time.Time
}

// NodeAlive reports whether node's heartbeat is current, and the address
// it published; read at most once per heartbeat interval. While Redis is
// down the last state read stands (calls to other nodes' users go on);
// a node never read is not alive (the caller gives 480).
func (s *Store) NodeAlive(node string) (addr string, alive bool) {
	if node == s.cfg.Node {
		return s.cfg.Address, true
	}
	now := time.Now()
	s.mu.Lock()
	ps, ok := s.peers[node]
	s.mu.Unlock()
	if ok && (now.Sub(ps.at) < s.cfg.Heartbeat || s.down.Load()) {
		return ps.addr, ps.alive
	}
	if s.down.Load() {
		return "", false
	}
	ctx, cancel := s.ctx()
	defer cancel()
	addr, err := s.rdb.Get(ctx, nodeKey(node)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		ps = peerState{at: now}
	case err != nil:
		s.failed("node", node, err)
		if ok { // the last state read stands
			return ps.addr, ps.alive
		}
		return "", false
	default:
		ps = peerState{addr: addr, alive: true, at: now}
	}
	s.mu.Lock()
	if len(s.peers) < maxPeers {
		s.peers[node] = ps
	}
	s.mu.Unlock()
	return ps.addr, ps.alive
}

// maxPeers bounds the heartbeat cache (node names come from stored data).
const maxPeers = 1024
