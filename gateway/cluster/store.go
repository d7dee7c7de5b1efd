package cluster

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sipedge/sipedge/gateway/registrar"
)

// ErrRedis wraps every Redis failure the store reports or logs.
var ErrRedis = errors.New("cluster: redis")

// keyPrefix is prepended to every key sipedge writes.
const keyPrefix = "sipedge:"

// maxTxRetries bounds the optimistic (WATCH) retries of one Update; each
// waits a little longer (up to txBackoff) so writers of one AOR interleave.
const (
	maxTxRetries = 32
	txBackoff    = 5 * time.Millisecond
)

// writerStripes is the number of AOR write locks.
const writerStripes = 256

// ErrContended is an Update that lost every optimistic retry to other
// writers of the same AOR.
var ErrContended = errors.New("cluster: too many concurrent writers of one AOR")

// Store is a registrar.Store shared by the nodes of a cluster on Redis:
// every AOR is one key holding its bindings (JSON), expiring with the last
// of them. Writes go through to Redis; reads use a local mirror for
// Config.CacheTTL. While Redis fails the store serves and writes the
// mirror, remembers what Redis missed, and publishes it when Redis is back.
//
// Close stops its heartbeat goroutine and closes the connection pool.
type Store struct {
	cfg   Config
	log   *slog.Logger
	rdb   *redis.Client
	local registrar.Store // what this node holds and has read

	mu          sync.Mutex
	known       map[string]known      // aor -> its record as last read or written
	dirty       map[string]bool       // aors whose own bindings Redis may lack
	peers       map[string]peerState  // other nodes' heartbeats, as last read
	leases      map[string]leaseState // leases this node wants (lease.go)
	counts      map[string]int64      // this node's own shared counts (counters.go)
	countsDirty bool                  // counts Redis may lack
	banSink     func(Ban)             // where other nodes' bans go (bans.go)
	bansOut     chan banOut           // bans waiting to be written

	nonceKey []byte // signs digest nonces, the same on every node

	// writers serialises this node's writers of one AOR (striped by hash),
	// so optimistic transactions only ever conflict with other nodes.
	seed    maphash.Seed
	writers [writerStripes]sync.Mutex

	down      atomic.Bool  // Redis failed; retried by the heartbeat
	failures  atomic.Int64 // Redis commands that failed or timed out
	republish atomic.Bool  // our heartbeat key vanished: publish everything

	stop      chan struct{}
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup
}

// Stats are the store's counters since it started.
type Stats struct {
	// Failures counts Redis commands that failed or timed out.
	Failures int64
	// Down reports whether Redis is considered down now.
	Down bool
	// Pending counts AORs whose own bindings wait to be published.
	Pending int
}

// NewStore connects to cfg.Redis (after SetDefaults and Validate) and
// starts the heartbeat. Redis need not be up: the store starts down and
// catches up when it answers.
func NewStore(cfg Config, log *slog.Logger) (*Store, error) {
	opt, err := redis.ParseURL(cfg.Redis)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrRedis, cfg.Redis, err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = cfg.Timeout, cfg.Timeout, cfg.Timeout
	opt.PoolTimeout = cfg.Timeout
	opt.MaxRetries = -1 // a retry would double the deadline a request waits
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		cfg: cfg, log: log.With("component", "cluster"), rdb: redis.NewClient(opt),
		local: registrar.NewMemoryStore(), known: map[string]known{}, dirty: map[string]bool{}, peers: map[string]peerState{}, leases: map[string]leaseState{}, counts: map[string]int64{}, bansOut: make(chan banOut, banQueue),
		stop: make(chan struct{}), seed: maphash.MakeSeed(),
	}
	s.republish.Store(true)
	s.loadNonceKey()
	s.beat() // other nodes see this one from the start
	s.wg.Add(1)
	go s.heartbeat()
	return s, nil
}

// Close stops the heartbeat and closes the Redis connections. Bindings
// stay in Redis until they expire (other nodes see the node's heartbeat
// stop).
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.wg.Wait()
		s.releaseLeases()
		s.closeErr = s.rdb.Close()
	})
	return s.closeErr
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	n := len(s.dirty)
	s.mu.Unlock()
	return Stats{Failures: s.failures.Load(), Down: s.down.Load(), Pending: n}
}

func aorKey(aor string) string { return keyPrefix + "aor:" + aor }

// ctx bounds one Redis command by the configured timeout.
func (s *Store) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.cfg.Timeout)
}

// failed records a Redis failure: Redis is down until a heartbeat
// succeeds, so requests stop waiting for it.
func (s *Store) failed(op, key string, err error) {
	s.failures.Add(1)
	if !s.down.Swap(true) {
		s.log.Warn("redis unavailable: serving local state", "op", op, "key", key, "error", err)
	}
}

// known is the last state of an AOR's key read from or written to Redis:
// its version and bindings, the base of this node's next write.
type known struct {
	v  int64
	bs []registrar.Binding
	at time.Time
}

// Get implements registrar.Store: the mirror while it is fresh (or Redis
// is down), else Redis.
func (s *Store) Get(aor string) []registrar.Binding {
	now := time.Now()
	s.mu.Lock()
	k, ok := s.known[aor]
	s.mu.Unlock()
	if (ok && now.Sub(k.at) < s.cfg.CacheTTL) || s.down.Load() {
		return s.local.Get(aor)
	}
	ctx, cancel := s.ctx()
	vals, err := s.rdb.HMGet(ctx, aorKey(aor), "v", "b").Result()
	cancel()
	if err != nil {
		s.failed("get", aor, err)
		return s.local.Get(aor)
	}
	var v int64
	var raw string
	if len(vals) == 2 {
		if vs, ok := vals[0].(string); ok {
			v, _ = strconv.ParseInt(vs, 10, 64)
		}
		raw, _ = vals[1].(string)
	}
	s.learn(aor, known{v: v, bs: s.decodeOrDrop(aor, raw), at: now}, false)
	return s.local.Get(aor)
}

// decodeOrDrop decodes a stored record; a corrupt one is logged, counted
// and read as no bindings (the next write replaces it).
func (s *Store) decodeOrDrop(aor, raw string) []registrar.Binding {
	if raw == "" {
		return nil
	}
	bs, err := decode(aor, []byte(raw))
	if err != nil {
		s.failures.Add(1)
		s.log.Error("ignoring a corrupt binding record", "aor", aor, "error", err)
		return nil
	}
	return bs
}

// learn records what Redis holds for aor and mirrors it; while aor is
// dirty this node's own bindings are kept from the mirror. A read older
// than a fresh write (sure only when authoritative is false) is ignored.
func (s *Store) learn(aor string, k known, authoritative bool) {
	s.mu.Lock()
	if old, ok := s.known[aor]; ok && !authoritative && k.v < old.v && k.at.Sub(old.at) < s.cfg.CacheTTL {
		s.mu.Unlock()
		return
	}
	s.known[aor] = k
	dirty := s.dirty[aor]
	s.mu.Unlock()
	_ = s.local.Update(aor, func(cur []registrar.Binding) ([]registrar.Binding, error) {
		if !dirty {
			return k.bs, nil
		}
		return s.withOwn(k.bs, cur), nil
	})
}

// withOwn returns remote's bindings of other nodes plus own's of this one.
func (s *Store) withOwn(remote, own []registrar.Binding) []registrar.Binding {
	out := make([]registrar.Binding, 0, len(remote)+len(own))
	for _, b := range remote {
		if b.Node != s.cfg.Node {
			out = append(out, b)
		}
	}
	for _, b := range own {
		if b.Node == s.cfg.Node {
			out = append(out, b)
		}
	}
	return out
}

// stamp marks the bindings this node wrote as its own, replacing the
// slice (bindings slices are never modified in place).
func (s *Store) stamp(bs []registrar.Binding) []registrar.Binding {
	out := bs
	for i := range bs {
		if bs[i].Node == "" {
			if &out[0] == &bs[0] {
				out = append([]registrar.Binding(nil), bs...)
			}
			out[i].Node = s.cfg.Node
		}
	}
	return out
}

// casScript writes an AOR's record if its version is still ARGV[1]: the
// new version and bindings (ARGV[2], JSON; "" for none, kept a minute so
// versions never go back) expiring at ARGV[3] (Unix ms). It answers
// {1, new version, ""} or, when another node wrote first, {0, version,
// bindings} so the caller retries on them without another read.
// A new version is at least the server's clock in microseconds: a Redis
// that restarted empty never hands out a version a node still holds from
// before (v+1 from 0 would: that node's compare-and-set would then
// succeed on a record it never read and drop another node's bindings).
var casScript = redis.NewScript(`
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then
  return {0, v, redis.call('HGET', KEYS[1], 'b') or ''}
end
local t = redis.call('TIME')
v = math.max(v + 1, tonumber(t[1]) * 1000000 + tonumber(t[2]))
redis.call('HSET', KEYS[1], 'v', v, 'b', ARGV[2])
if ARGV[2] == '' then
  redis.call('PEXPIRE', KEYS[1], 60000)
else
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
end
return {1, v, ''}`)

// Update implements registrar.Store: fn runs on the last state this node
// knows, and the result is written if nobody wrote in between (a version
// compare-and-set in one script: one round trip); else fn runs again on
// what the script returned. This node's writers of one AOR queue on a
// lock, so only other nodes conflict. While Redis fails, fn runs on the
// mirror and the AOR waits to be published.
func (s *Store) Update(aor string, fn func(cur []registrar.Binding) ([]registrar.Binding, error)) error {
	if s.down.Load() {
		return s.updateLocal(aor, fn)
	}
	w := &s.writers[maphash.String(s.seed, aor)%writerStripes]
	w.Lock()
	defer w.Unlock()
	s.mu.Lock()
	base, dirty := s.known[aor], s.dirty[aor]
	s.mu.Unlock()
	ctx, cancel := s.ctx()
	defer cancel()
	keys := []string{aorKey(aor)}
	for i := range maxTxRetries {
		cur := base.bs
		if dirty {
			cur = s.withOwn(cur, s.local.Get(aor))
		}
		n, err := fn(cur)
		if err != nil {
			return err
		}
		next := s.stamp(n)
		payload := ""
		if len(next) > 0 {
			data, err := encode(next)
			if err != nil {
				return err
			}
			payload = string(data)
		}
		res, err := casScript.Run(ctx, s.rdb, keys, base.v, payload, lastExpiry(next).UnixMilli()).Slice()
		if err == nil && len(res) != 3 {
			err = fmt.Errorf("%w: unexpected script reply %v", ErrRedis, res)
		}
		if err != nil {
			s.failed("update", aor, err)
			return s.updateLocal(aor, fn)
		}
		ok, _ := res[0].(int64)
		v, _ := res[1].(int64)
		if ok == 1 {
			s.mu.Lock()
			delete(s.dirty, aor)
			s.mu.Unlock()
			s.learn(aor, known{v: v, bs: next, at: time.Now()}, true)
			return nil
		}
		raw, _ := res[2].(string)
		base = known{v: v, bs: s.decodeOrDrop(aor, raw), at: time.Now()}
		s.learn(aor, base, true)
		time.Sleep(time.Duration(rand.Int64N(int64(txBackoff)*int64(i+1)/maxTxRetries + 1)))
	}
	return fmt.Errorf("%w: %s", ErrContended, aor)
}

// updateLocal applies fn to the mirror only and marks aor for publishing.
func (s *Store) updateLocal(aor string, fn func(cur []registrar.Binding) ([]registrar.Binding, error)) error {
	err := s.local.Update(aor, func(cur []registrar.Binding) ([]registrar.Binding, error) {
		next, err := fn(cur)
		if err != nil {
			return nil, err
		}
		return s.stamp(next), nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.dirty[aor] = true
	s.mu.Unlock()
	return nil
}

// lastExpiry is when the last of bs lapses (the key's expiry).
func lastExpiry(bs []registrar.Binding) time.Time {
	var t time.Time
	for _, b := range bs {
		if b.Expires.After(t) {
			t = b.Expires
		}
	}
	return t
}

// FlowAORs implements registrar.Store: flows are this node's own.
func (s *Store) FlowAORs(flowID string) []string { return s.local.FlowAORs(flowID) }

// Expire implements registrar.Store on the mirror; Redis expires each
// AOR's key with its last binding, and readers skip lapsed bindings.
func (s *Store) Expire(now time.Time) int {
	n := s.local.Expire(now)
	// A record stays known while it has bindings (it shares their slices
	// with the mirror): the next refresh is then one round trip.
	s.mu.Lock()
	for aor, k := range s.known {
		if !lastExpiry(k.bs).After(now) && now.Sub(k.at) > s.cfg.CacheTTL && !s.dirty[aor] {
			delete(s.known, aor)
		}
	}
	s.mu.Unlock()
	return n
}

// All implements registrar.Store: what this node holds and has read.
func (s *Store) All() []registrar.Binding { return s.local.All() }

// Each implements registrar.Store on the mirror.
func (s *Store) Each(fn func(b *registrar.Binding) bool) { s.local.Each(fn) }
