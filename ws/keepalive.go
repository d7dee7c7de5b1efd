package ws

import (
	"context"
	"time"

	"github.com/coder/websocket"
)

// sweepPeriod is how often the sweeper looks at every flow: a tenth of the
// shortest interval it enforces, between 10ms and 1s.
func (c *Config) sweepPeriod() time.Duration {
	d := min(c.PingInterval, c.IdleTimeout, c.PongTimeout) / 10
	return max(10*time.Millisecond, min(d, time.Second))
}

// sweeper is the Server's one keepalive goroutine: it pings flows that have
// been silent for PingInterval and closes those silent for IdleTimeout, so
// idle flows need no timers or goroutines of their own.
func (s *Server) sweeper() {
	defer close(s.sweepDone)
	t := time.NewTicker(s.cfg.sweepPeriod())
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.sweepOnce(now())
		}
	}
}

func (s *Server) sweepOnce(t int64) {
	s.mu.Lock()
	s.sweep = s.sweep[:0]
	for _, f := range s.flows {
		s.sweep = append(s.sweep, f)
	}
	s.mu.Unlock()
	ping, idle := int64(s.cfg.PingInterval), int64(s.cfg.IdleTimeout)
	for i, f := range s.sweep {
		s.sweep[i] = nil
		silent := t - f.lastActive.Load()
		switch {
		case silent >= idle:
			f.closeWith(websocket.StatusGoingAway, "idle timeout", true)
		case silent >= ping && f.pinging.CompareAndSwap(false, true):
			if !s.spawn(f.ping) {
				f.pinging.Store(false)
			}
		}
	}
}

// ping sends one WebSocket ping and waits up to PongTimeout for the pong (the
// reader delivers it); without a pong the connection is dropped. Its goroutine
// lives only for the round trip.
func (f *Flow) ping() {
	defer f.pinging.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), f.srv.cfg.PongTimeout)
	defer cancel()
	err := f.conn.Ping(ctx)
	if err == nil {
		return
	}
	select {
	case <-f.done:
		return
	default:
	}
	f.log.Debug("ping failed", "flow", f.id, "error", err)
	f.closeWith(websocket.StatusAbnormalClosure, "pong timeout", false)
}
