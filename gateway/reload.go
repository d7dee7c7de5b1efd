package gateway

import (
	"fmt"

	"github.com/sipedge/sipedge/gateway/sets"
)

// Reload replaces the rules (routes, destination sets, users, trunks,
// topology_hiding) with cfg's,
// as read and validated by the caller (config.Load: the same checks as
// `sipedge check`); cfg is validated again here, and an invalid one is
// refused with every problem and the rules in effect are kept. The new
// rules are swapped in with one atomic store: a request is routed with
// the old rules or the new ones, never a mix; calls in progress keep the
// targets they were routed to. Set members keep their health and call
// counts across a reload; the authenticator (and the nonces it issued) is
// kept unless the users changed. Trunk registrations follow the new
// trunks (trunk.Manager.Update): a removed trunk unregisters and takes no
// new call (its calls in progress go on), an added one registers at once,
// a changed one registers again, an unchanged one is left alone.
// topology_hiding applies to requests that arrive after the swap (their
// whole transaction keeps it); a new secret seals new tokens while the
// tokens of the secret before keep opening, so dialogs in progress keep
// routing (one secret back: a second change drops the oldest), and
// turning external off keeps restoring them (newHiding). Enabling it needs
// media.classic_to_classic anchor in effect (a restart). Other
// keys (listeners, domains, timers, trunk_registration) need a restart
// and are ignored here. Reload is safe to call from any
// goroutine (SIGHUP, the admin API), one at a time.
func (g *Gateway) Reload(cfg Config) error {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("gateway: reload refused: %w", err)
	}
	if cfg.TopologyHiding.Enabled() && g.cfg.Media.ClassicToClassic != "anchor" {
		return fmt.Errorf("gateway: reload refused: topology_hiding.external needs media.classic_to_classic anchor, and the one in effect is %q: %w",
			g.cfg.Media.ClassicToClassic, ErrNeedsRestart)
	}
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	select {
	case <-g.closing.ch:
		return ErrClosed
	default:
	}
	prev := g.rules()
	r, err := buildRules(cfg, prev, g.deps)
	if err != nil {
		return fmt.Errorf("gateway: reload refused: %w", err)
	}
	if g.probing {
		r.sets.Start(setProber{g})
	}
	g.ruleset.Store(r)
	_ = prev.sets.Close()
	g.reloadTrunks(cfg.Trunks)
	g.log.Info("rules reloaded", "routes", len(cfg.Routes), "sets", len(cfg.Sets), "users", len(cfg.Users), "trunks", len(cfg.Trunks),
		"topology_hiding", cfg.TopologyHiding.External, "topology_secret_changed", hidingRekeyed(prev.hiding, r.hiding))
	return nil
}

// startProbes starts the destination sets' probes once the listeners
// are bound (probes need our addresses); stopProbes ends them before the
// SIP stack closes.
func (g *Gateway) startProbes() {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	g.probing = true
	g.rules().sets.Start(setProber{g})
}

func (g *Gateway) stopProbes() {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	g.probing = false
	_ = g.rules().sets.Close()
}

// SetStates is the health and load of every destination set member, for
// the admin API and metrics (a snapshot of the rules in effect).
func (g *Gateway) SetStates() []sets.State { return g.rules().sets.States() }
