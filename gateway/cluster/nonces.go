package cluster

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// nonceKeyName holds the key every node signs digest nonces with.
const nonceKeyName = keyPrefix + "nonce-key"

// loadNonceKey agrees on the cluster's nonce key: the first node to start
// writes a random one (SET NX), every node reads it. With Redis down at
// start the node signs with its own random key (its nonces then verify
// only here; clients simply get challenged again elsewhere) and says so.
func (s *Store) loadNonceKey() {
	var k [32]byte
	_, _ = rand.Read(k[:])
	ctx, cancel := s.ctx()
	defer cancel()
	if err := s.rdb.SetNX(ctx, nonceKeyName, k[:], 0).Err(); err == nil {
		if got, err := s.rdb.Get(ctx, nonceKeyName).Bytes(); err == nil && len(got) == len(k) {
			s.nonceKey = got
			return
		}
	}
	s.log.Warn("redis unavailable at start: this node's digest nonces verify only on this node")
	s.nonceKey = k[:]
}

// NonceKey implements auth.Shared.
func (s *Store) NonceKey() []byte { return s.nonceKey }

// useNonce sets a nonce's count if it is above the one stored; it answers
// 1 when it was, 0 for a replay.
var useNonce = redis.NewScript(`
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) <= last then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`)

// ErrDown is returned while Redis is considered down.
var ErrDown = errors.New("cluster: redis down")

// UseNonce implements auth.Shared: the highest nonce-count of every
// nonce in use, cluster-wide, kept for the nonce's lifetime.
func (s *Store) UseNonce(id string, nc uint32, ttl time.Duration) (bool, error) {
	if s.down.Load() {
		return false, ErrDown
	}
	ctx, cancel := s.ctx()
	defer cancel()
	n, err := useNonce.Run(ctx, s.rdb, []string{keyPrefix + "nc:" + id}, nc, ttl.Milliseconds()).Int()
	if err != nil {
		s.failed("nonce", "", err)
		return false, fmt.Errorf("%w: %w", ErrRedis, err)
	}
	return n == 1, nil
}
