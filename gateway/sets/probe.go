package sets

import (
	"context"
	"fmt"
	"time"

	"github.com/sipedge/sipedge/gateway/route"
)

// Prober sends one OPTIONS to a member and returns the final answer's
// code, or an error when none came (a timeout, an unreachable member):
// a code the prober would make up itself must be an error instead.
type Prober interface {
	Probe(ctx context.Context, t route.Target, from string) (code int, err error)
}

// Start begins probing the members (SIP hops) of every set with a probe
// interval, one goroutine per member, until Close. Calling it again, or
// after Close, does nothing.
func (s *Sets) Start(p Prober) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return
	}
	s.started = true
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	for _, st := range s.sets {
		if st.cfg.Probe.Interval <= 0 {
			continue
		}
		for _, m := range st.members {
			if m.target.Kind != route.KindHop {
				continue // a trunk watches its own hops
			}
			s.wg.Add(1)
			go func() { // owner: s; stopped by Close (cancel), waited there
				defer s.wg.Done()
				m.probeLoop(ctx, p)
			}()
		}
	}
}

// probeLoop probes m every interval until ctx ends.
func (m *member) probeLoop(ctx context.Context, p Prober) {
	pc := m.s.cfg.Probe
	tick := time.NewTicker(pc.Interval)
	defer tick.Stop()
	for {
		m.probeOnce(ctx, p)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// probeOnce sends one probe and records its outcome.
func (m *member) probeOnce(ctx context.Context, p Prober) {
	pc := m.s.cfg.Probe
	pctx, cancel := context.WithTimeout(ctx, pc.Timeout)
	start := time.Now()
	code, err := p.Probe(pctx, m.target, pc.From)
	cancel()
	if ctx.Err() != nil {
		return // shutting down: not the member's fault
	}
	if err == nil && m.s.alive.Has(code) {
		m.h.sample(time.Since(start))
		m.logChange(m.h.success(pc.UpAfter), "probe answered")
		return
	}
	var why string
	if err != nil {
		why = "probe failed: " + err.Error()
	} else {
		why = fmt.Sprintf("probe answered %d, not in probe.alive", code)
	}
	m.logChange(m.h.failure(m.sets.now(), pc.DownAfter), why)
}

// Close stops the probes and waits for them; it is idempotent.
func (s *Sets) Close() error {
	s.mu.Lock()
	s.closed = true
	cancel := s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.wg.Wait()
	return nil
}
