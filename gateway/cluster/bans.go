package cluster

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Bans are cluster-wide: a source one node bans is dropped by every node.
// A ban is a key expiring with it, written by the heartbeat from a queue
// (a ban never waits for Redis); each heartbeat also reads the others'
// bans and hands them to the sink (ban.Bans.Apply).

func banKey(addr string) string { return keyPrefix + "ban:" + addr }

// banQueue bounds the bans waiting to be written; more are dropped (a
// flood of new sources is answered locally, and written as room frees).
const banQueue = 1024

// maxBanScan bounds the keys one heartbeat reads.
const maxBanScan = 20000

// Ban is one ban shared in the cluster.
type Ban struct {
	Addr   netip.Addr
	Reason string
	Until  time.Time
}

// banOut is a ban on its way to Redis.
type banOut struct {
	addr   string
	reason string
	until  time.Time
}

// PublishBan queues a ban this node made for the other nodes; it never
// blocks.
func (s *Store) PublishBan(addr netip.Addr, reason string, until time.Time) {
	select {
	case s.bansOut <- banOut{addr: addr.Unmap().String(), reason: reason, until: until}:
	default:
	}
}

// SetBanSink sets where the other nodes' bans go (ban.Bans.Apply). Call
// it once, before the first heartbeat can matter (cmd does it at start).
func (s *Store) SetBanSink(sink func(Ban)) {
	s.mu.Lock()
	s.banSink = sink
	s.mu.Unlock()
}

// syncBans writes the queued bans and reads the others' (heartbeat).
func (s *Store) syncBans() {
	ctx, cancel := s.ctx()
	defer cancel()
	var out []banOut
	for len(out) < banQueue {
		select {
		case b := <-s.bansOut:
			out = append(out, b)
			continue
		default:
		}
		break
	}
	if len(out) > 0 {
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, b := range out {
				p.Set(ctx, banKey(b.addr), s.cfg.Node+"\x00"+b.reason, time.Until(b.until))
			}
			return nil
		})
		if err != nil {
			s.failed("bans", "", err)
			for _, b := range out { // try again at the next heartbeat
				s.PublishBan(netip.MustParseAddr(b.addr), b.reason, b.until)
			}
			return
		}
	}
	s.mu.Lock()
	sink := s.banSink
	s.mu.Unlock()
	if sink != nil {
		s.pullBans(ctx, sink)
	}
}

// pullBans hands every other node's ban in Redis to sink.
func (s *Store) pullBans(ctx context.Context, sink func(Ban)) {
	var cursor uint64
	read := 0
	for {
		keys, next, err := s.rdb.Scan(ctx, cursor, keyPrefix+"ban:*", 1000).Result()
		if err != nil {
			s.failed("bans", "", err)
			return
		}
		if len(keys) > 0 {
			vals := make([]*redis.StringCmd, len(keys))
			ttls := make([]*redis.DurationCmd, len(keys))
			_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i, k := range keys {
					vals[i], ttls[i] = p.Get(ctx, k), p.PTTL(ctx, k)
				}
				return nil
			})
			if err != nil && err != redis.Nil {
				s.failed("bans", "", err)
				return
			}
			now := time.Now()
			for i, k := range keys {
				node, reason, _ := strings.Cut(vals[i].Val(), "\x00")
				ttl := ttls[i].Val()
				addr, perr := netip.ParseAddr(strings.TrimPrefix(k, keyPrefix+"ban:"))
				if node == s.cfg.Node || ttl <= 0 || perr != nil {
					continue
				}
				sink(Ban{Addr: addr, Reason: reason, Until: now.Add(ttl)})
			}
		}
		read += len(keys)
		cursor = next
		if cursor == 0 || read >= maxBanScan {
			return
		}
	}
}
