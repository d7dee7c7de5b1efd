package cluster

import (
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"
)

// Counters are shared by the nodes of a cluster: calls on a trunk
// (max_calls), on a destination-set member (least-calls). Each node adds
// its own count to a Redis hash (one field per node); a dead node's field
// is dropped the next time anybody counts, so its calls stop counting
// when its heartbeat lapses. Redis down: each node counts alone (a
// cluster may exceed a limit by the other nodes' share meanwhile), and
// the heartbeat writes its counts again when Redis is back.

func counterKey(name string) string { return keyPrefix + "count:" + name }

// liveTotal is the Lua that sums the fields of hash KEYS[1] over live
// nodes (their heartbeat key ARGV[3]..node exists; ARGV[1] is this node)
// into total, deleting dead nodes' fields.
const liveTotal = `
local total = 0
local h = redis.call('HGETALL', KEYS[1])
for i = 1, #h, 2 do
  local node, n = h[i], tonumber(h[i+1])
  if node ~= ARGV[1] and redis.call('EXISTS', ARGV[3] .. node) == 0 then
    redis.call('HDEL', KEYS[1], node)
  else
    total = total + n
  end
end
`

// acquireScript adds 1 to node ARGV[1]'s field of KEYS[1] unless the sum
// over live nodes (their heartbeat key ARGV[3]..node exists) is already
// ARGV[2] or more (ARGV[2] = 0: no limit; -1: only count). It answers
// {1, total after} or {0, total}. Dead nodes' fields are deleted on the
// way.
var acquireScript = redis.NewScript(liveTotal + `
local limit = tonumber(ARGV[2])
if limit < 0 or (limit > 0 and total >= limit) then return {0, total} end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return {1, total + 1}`)

// releaseCountScript takes 1 from node ARGV[1]'s field of KEYS[1], never
// below 0.
var releaseCountScript = redis.NewScript(`
local n = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if n > 0 then redis.call('HINCRBY', KEYS[1], ARGV[1], -1) end
return 0`)

// Acquire counts one more on counter name unless the cluster-wide count
// is at limit (0: no limit); it reports whether it counted. With Redis
// down this node's own count decides.
func (s *Store) Acquire(name string, limit int) bool {
	if !s.down.Load() {
		ctx, cancel := s.ctx()
		res, err := acquireScript.Run(ctx, s.rdb, []string{counterKey(name)}, s.cfg.Node, limit, keyPrefix+"node:").Slice()
		cancel()
		if err == nil && len(res) == 2 {
			ok, _ := res[0].(int64)
			if ok == 1 {
				s.count(name, 1)
			}
			return ok == 1
		}
		if err == nil {
			err = fmt.Errorf("%w: unexpected script reply %v", ErrRedis, res)
		}
		s.failed("acquire", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if limit > 0 && s.counts[name] >= int64(limit) {
		return false
	}
	s.counts[name]++
	s.countsDirty = true
	return true
}

// Release gives back one count Acquire took on name.
func (s *Store) Release(name string) {
	s.count(name, -1)
	if s.down.Load() {
		s.mu.Lock()
		s.countsDirty = true
		s.mu.Unlock()
		return
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if err := releaseCountScript.Run(ctx, s.rdb, []string{counterKey(name)}, s.cfg.Node).Err(); err != nil {
		s.failed("release", name, err)
		s.mu.Lock()
		s.countsDirty = true
		s.mu.Unlock()
	}
}

// count changes this node's own count of name. A name stays once
// counted (names are configured trunks and members: few), so a count
// back at 0 is published too.
func (s *Store) count(name string, d int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[name] = max(s.counts[name]+d, 0)
}

// Count is the cluster-wide count of name over live nodes (this node's
// own while Redis is down).
func (s *Store) Count(name string) int {
	if !s.down.Load() {
		ctx, cancel := s.ctx()
		res, err := acquireScript.Run(ctx, s.rdb, []string{counterKey(name)}, s.cfg.Node, -1, keyPrefix+"node:").Slice()
		cancel()
		if err == nil && len(res) == 2 {
			n, _ := res[1].(int64)
			return int(n)
		}
		if err != nil {
			s.failed("count", name, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.counts[name])
}

// publishCounts writes this node's counts again after Redis trouble
// (called by the heartbeat).
func (s *Store) publishCounts() {
	s.mu.Lock()
	if !s.countsDirty {
		s.mu.Unlock()
		return
	}
	names := make([]string, 0, len(s.counts))
	for n := range s.counts {
		names = append(names, n)
	}
	counts := make(map[string]int64, len(s.counts))
	for n, c := range s.counts {
		counts[n] = c
	}
	s.countsDirty = false
	s.mu.Unlock()
	sort.Strings(names)
	ctx, cancel := s.ctx()
	defer cancel()
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, n := range names {
			p.HSet(ctx, counterKey(n), s.cfg.Node, counts[n])
		}
		return nil
	})
	if err != nil {
		s.failed("counts", "", err)
		s.mu.Lock()
		s.countsDirty = true
		s.mu.Unlock()
	}
}

// totalScript sets node ARGV[1]'s field of KEYS[1] to ARGV[2] and returns
// the sum over live nodes (their heartbeat key ARGV[3]..node exists),
// dropping dead nodes' fields.
const totalScript = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
` + liveTotal + `
return total`

// ShareCounts publishes this node's counts (name -> count; destination
// set members' calls in progress) and returns the cluster-wide totals of
// the same names, in one pipelined round trip. The caller takes its own
// counts from the totals to get the other nodes'.
func (s *Store) ShareCounts(counts map[string]int) (map[string]int, error) {
	if s.down.Load() {
		return nil, ErrDown
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	ctx, cancel := s.ctx()
	defer cancel()
	cmds := make([]*redis.Cmd, len(names))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, n := range names {
			cmds[i] = p.Eval(ctx, totalScript, []string{counterKey(n)}, s.cfg.Node, counts[n], keyPrefix+"node:")
		}
		return nil
	})
	if err != nil {
		s.failed("counts", "", err)
		return nil, fmt.Errorf("%w: %w", ErrRedis, err)
	}
	out := make(map[string]int, len(names))
	for i, n := range names {
		v, _ := cmds[i].Int()
		out[n] = v
	}
	return out, nil
}
