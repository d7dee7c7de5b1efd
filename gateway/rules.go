package gateway

import (
	"fmt"
	"maps"

	"github.com/sipedge/sipedge/gateway/auth"
	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/sets"
)

// rules is the part of the configuration a reload replaces: routes,
// destination sets, users and trunks. It is immutable once
// built (the sets' health and call counters aside) and swapped with one
// atomic store, so a request sees the old rules or the new ones, never a
// mix: read it once per request with g.rules().
type rules struct {
	routes *route.Table
	sets   *sets.Sets
	users  map[string]bool // local subscribers (480 when not registered)
	auth   *auth.Authenticator
	// secrets are the users' credentials auth was built from: a reload
	// that keeps them keeps auth (and the nonces it issued).
	secrets map[string]auth.Secret
	trunks  *trunkRules // the trunks routes and set members name
	hiding  *hiding     // topology hiding (hiding.go); nil: never on
}

// rules returns the rules in effect.
func (g *Gateway) rules() *rules { return g.ruleset.Load() }

// buildRules compiles the reloadable part of cfg (validated). prev, if
// not nil, is the rule set it replaces: set members keep their health and
// calls in progress, the authenticator is kept when the users did not
// change, and topology hiding's tokens keep opening (newHiding). The caller starts the new sets' probes and closes prev's.
func buildRules(cfg Config, prev *rules, deps Deps) (*rules, error) {
	r := &rules{users: map[string]bool{}, secrets: make(map[string]auth.Secret, len(cfg.Users))}
	var err error
	if r.routes, err = route.NewTable(cfg.Routes); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	for name, u := range cfg.Users {
		r.secrets[name] = auth.Secret{Password: u.Password, HA1MD5: u.HA1}
		r.users[name] = true
	}
	if prev != nil && maps.Equal(prev.secrets, r.secrets) {
		r.auth = prev.auth
	} else if r.auth, err = auth.New(cfg.Auth, r.secrets, deps.Logger, authOptions(deps)...); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	var prevSets *sets.Sets
	if prev != nil {
		prevSets = prev.sets
	}
	if r.sets, err = sets.New(cfg.Sets, prevSets, deps.Logger); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	var prevTrunks *trunkRules
	if prev != nil {
		prevTrunks = prev.trunks
	}
	if r.trunks, err = newTrunkRules(cfg.Trunks, cfg.TrunkDNS, prevTrunks); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	var prevHiding *hiding
	if prev != nil {
		prevHiding = prev.hiding
	}
	if r.hiding, err = newHiding(cfg.TopologyHiding, prevHiding); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	return r, nil
}

// authOptions are the authenticator's options from deps: nonces shared by
// the cluster's nodes when there is one.
func authOptions(deps Deps) []auth.Option {
	if deps.Nonces != nil {
		return []auth.Option{auth.WithShared(deps.Nonces)}
	}
	return nil
}
