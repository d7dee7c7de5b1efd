package cluster

import (
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// A lease is held by at most one node at a time in Redis: the node that
// should do a job alone (register a trunk with its provider). Each node
// says which leases it wants (Want); the heartbeat acquires or renews them
// (time to live: 3 heartbeats); Held says whether this node holds one now
// and its fencing token, which grows with every change of holder, so a
// job can tell a newer holder's work from a stale one's.
//
// While Redis is down a holder keeps what it held (nobody else can take
// it, and a trunk registered twice for a moment is better than none); a
// node that never held it does not start.

func leaseKey(name string) string { return keyPrefix + "lease:" + name }
func fenceKey(name string) string { return keyPrefix + "fence:" + name }

// leaseScript takes or renews lease KEYS[1] for node ARGV[1] for ARGV[2]
// ms: {1, token} when the node holds it, {0, 0} when another does.
var leaseScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, tonumber(redis.call('GET', KEYS[2]) or '0')}
end
if cur then return {0, 0} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, redis.call('INCR', KEYS[2])}`)

// releaseScript drops lease KEYS[1] if node ARGV[1] holds it.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0`)

// leaseState is this node's view of one lease it wants.
type leaseState struct {
	held  bool
	token int64
}

// Want asks for lease name from now on (the next heartbeat tries).
func (s *Store) Want(name string) {
	s.mu.Lock()
	if _, ok := s.leases[name]; !ok {
		s.leases[name] = leaseState{}
	}
	s.mu.Unlock()
}

// Held reports whether this node holds lease name, and its fencing token.
func (s *Store) Held(name string) (token int64, held bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.leases[name]
	return l.token, l.held
}

// renewLeases takes or renews every wanted lease (called by the
// heartbeat) and logs each change of holder once.
func (s *Store) renewLeases() {
	s.mu.Lock()
	names := make([]string, 0, len(s.leases))
	for n := range s.leases {
		names = append(names, n)
	}
	s.mu.Unlock()
	ttl := s.leaseTTL()
	for _, name := range names {
		ctx, cancel := s.ctx()
		res, err := leaseScript.Run(ctx, s.rdb, []string{leaseKey(name), fenceKey(name)}, s.cfg.Node, ttl.Milliseconds()).Slice()
		cancel()
		if err == nil && len(res) != 2 {
			err = fmt.Errorf("%w: unexpected script reply %v", ErrRedis, res)
		}
		if err != nil {
			s.failed("lease", name, err)
			return // keep what is held (see the package note)
		}
		ok, _ := res[0].(int64)
		token, _ := res[1].(int64)
		now := leaseState{held: ok == 1, token: token}
		s.mu.Lock()
		was := s.leases[name]
		s.leases[name] = now
		s.mu.Unlock()
		switch {
		case now.held && !was.held:
			s.log.Info("lease taken", "lease", name, "token", token)
		case !now.held && was.held:
			s.log.Warn("lease lost to another node", "lease", name)
		}
	}
}

// releaseLeases gives up every lease this node holds (on Close), so
// another node takes over at its next heartbeat instead of after the ttl.
func (s *Store) releaseLeases() {
	s.mu.Lock()
	var names []string
	for n, l := range s.leases {
		if l.held {
			names = append(names, n)
		}
		s.leases[n] = leaseState{}
	}
	s.mu.Unlock()
	for _, name := range names {
		ctx, cancel := s.ctx()
		_ = releaseScript.Run(ctx, s.rdb, []string{leaseKey(name)}, s.cfg.Node).Err()
		cancel()
	}
}

// leaseTTL is how long a lease outlives its holder's last renewal.
func (s *Store) leaseTTL() time.Duration { return deadAfter * s.cfg.Heartbeat }
