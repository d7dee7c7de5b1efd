package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
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

	mu      sync.Mutex
	fetched map[string]time.Time // aor -> when read from Redis
	dirty   map[string]bool      // aors whose own bindings Redis may lack
	peers   map[string]peerState // other nodes' heartbeats, as last read

	nonceKey []byte // signs digest nonces, the same on every node

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
		local: registrar.NewMemoryStore(), fetched: map[string]time.Time{}, dirty: map[string]bool{}, peers: map[string]peerState{},
		stop: make(chan struct{}),
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

// Get implements registrar.Store: the mirror while it is fresh (or Redis
// is down), else Redis.
func (s *Store) Get(aor string) []registrar.Binding {
	now := time.Now()
	s.mu.Lock()
	at, ok := s.fetched[aor]
	s.mu.Unlock()
	if (ok && now.Sub(at) < s.cfg.CacheTTL) || s.down.Load() {
		return s.local.Get(aor)
	}
	ctx, cancel := s.ctx()
	data, err := s.rdb.Get(ctx, aorKey(aor)).Bytes()
	cancel()
	var remote []registrar.Binding
	switch {
	case errors.Is(err, redis.Nil):
	case err != nil:
		s.failed("get", aor, err)
		return s.local.Get(aor)
	default:
		if remote, err = decode(aor, data); err != nil {
			s.failures.Add(1)
			s.log.Error("dropping a corrupt binding record", "aor", aor, "error", err)
			remote = nil
		}
	}
	s.mirror(aor, remote, now)
	return s.local.Get(aor)
}

// mirror stores what Redis holds for aor in the local mirror; while aor is
// dirty, this node's own bindings are taken from the mirror instead.
func (s *Store) mirror(aor string, remote []registrar.Binding, now time.Time) {
	s.mu.Lock()
	dirty := s.dirty[aor]
	s.fetched[aor] = now
	s.mu.Unlock()
	_ = s.local.Update(aor, func(cur []registrar.Binding) ([]registrar.Binding, error) {
		if !dirty {
			return remote, nil
		}
		return s.withOwn(remote, cur), nil
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

// fnError carries the caller's own error out of a Redis transaction.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// Update implements registrar.Store: an optimistic transaction on the
// AOR's key (WATCH, GET, fn, MULTI SET/DEL EXEC), retried on conflict.
// While Redis fails, fn runs on the mirror and the AOR waits to be
// published.
func (s *Store) Update(aor string, fn func(cur []registrar.Binding) ([]registrar.Binding, error)) error {
	if s.down.Load() {
		return s.updateLocal(aor, fn)
	}
	key := aorKey(aor)
	var next []registrar.Binding
	ctx, cancel := s.ctx()
	defer cancel()
	txf := func(tx *redis.Tx) error {
		data, err := tx.Get(ctx, key).Bytes()
		var cur []registrar.Binding
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return err
		default:
			if cur, err = decode(aor, data); err != nil {
				s.failures.Add(1)
				s.log.Error("replacing a corrupt binding record", "aor", aor, "error", err)
				cur = nil
			}
		}
		s.mu.Lock()
		dirty := s.dirty[aor]
		s.mu.Unlock()
		if dirty {
			cur = s.withOwn(cur, s.local.Get(aor))
		}
		n, err := fn(cur)
		if err != nil {
			return fnError{err}
		}
		next = s.stamp(n)
		payload, err := encode(next)
		if err != nil {
			return fnError{err}
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if len(next) == 0 {
				p.Del(ctx, key)
				return nil
			}
			p.Set(ctx, key, payload, 0)
			p.PExpireAt(ctx, key, lastExpiry(next))
			return nil
		})
		return err
	}
	var err error
	for i := range maxTxRetries {
		if err = s.rdb.Watch(ctx, txf, key); !errors.Is(err, redis.TxFailedErr) {
			break
		}
		time.Sleep(time.Duration(rand.Int64N(int64(txBackoff)*int64(i+1)/maxTxRetries + 1)))
	}
	var fe fnError
	switch {
	case err == nil:
	case errors.As(err, &fe):
		return fe.err
	case errors.Is(err, redis.TxFailedErr):
		return fmt.Errorf("%w: %s", ErrContended, aor)
	default:
		s.failed("update", aor, err)
		return s.updateLocal(aor, fn)
	}
	s.mu.Lock()
	delete(s.dirty, aor)
	s.fetched[aor] = time.Now()
	s.mu.Unlock()
	return s.local.Update(aor, func([]registrar.Binding) ([]registrar.Binding, error) { return next, nil })
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
	s.mu.Lock()
	for aor, at := range s.fetched {
		if now.Sub(at) > s.cfg.CacheTTL && !s.dirty[aor] {
			delete(s.fetched, aor)
		}
	}
	s.mu.Unlock()
	return n
}

// All implements registrar.Store: what this node holds and has read.
func (s *Store) All() []registrar.Binding { return s.local.All() }

// Each implements registrar.Store on the mirror.
func (s *Store) Each(fn func(b *registrar.Binding) bool) { s.local.Each(fn) }
