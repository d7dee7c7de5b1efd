package gateway

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/sipedge/sipedge/gateway/trunk"
)

// TrunkInfo is one trunk as the admin API lists it: its configuration in
// short, its registration and its calls.
type TrunkInfo struct {
	Name     string   `json:"name"`
	URIs     []string `json:"uris"`
	Register bool     `json:"register"`
	// State is the registration's (starting, registering, registered,
	// failed, forbidden, closed); empty without register.
	State  string `json:"state,omitempty"`
	Code   int    `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
	// Hop is transport:address of the binding (or of the last try).
	Hop      string     `json:"hop,omitempty"`
	Expires  *time.Time `json:"expires,omitempty"`
	Next     *time.Time `json:"next,omitempty"`
	Failures int        `json:"failures,omitempty"`
	// Calls are the calls holding a max_calls slot.
	Calls    int `json:"calls"`
	MaxCalls int `json:"max_calls"`
}

// ListTrunks lists every configured trunk, by name ([]TrunkInfo; the
// admin API's GET /api/v1/trunks).
func (g *Gateway) ListTrunks() any {
	out := []TrunkInfo{}
	mgr := g.trunks.manager()
	cfg := g.rules().trunks.cfg
	for _, name := range slices.Sorted(maps.Keys(cfg)) {
		c := cfg[name]
		ti := TrunkInfo{Name: name, URIs: c.URIs, Register: c.Register, Calls: g.trunks.slots.inUse(name), MaxCalls: c.MaxCalls}
		if mgr != nil {
			if st, ok := mgr.StatusOf(name); ok {
				ti.State, ti.Code, ti.Reason, ti.Error, ti.Failures = st.State.String(), st.Code, st.Reason, st.Err, st.Failures
				if st.Hop.Addr != "" {
					ti.Hop = st.Hop.Transport + ":" + st.Hop.Addr
				}
				if !st.Expires.IsZero() {
					ti.Expires = &st.Expires
				}
				if !st.Next.IsZero() {
					ti.Next = &st.Next
				}
			}
		}
		out = append(out, ti)
	}
	return out
}

// Reregister makes trunk name send a REGISTER now, whatever its state
// (the admin API's re-register): trunk.ErrNoTrunk for a trunk not
// configured, trunk.ErrNotRegistering for one without register: true.
func (g *Gateway) Reregister(name string) error {
	c, ok := g.rules().trunks.cfg[name]
	if !ok {
		return fmt.Errorf("%w: %q", trunk.ErrNoTrunk, name)
	}
	if !c.Register {
		return fmt.Errorf("%w: %q has register: false", trunk.ErrNotRegistering, name)
	}
	mgr := g.trunks.manager()
	if mgr == nil {
		return fmt.Errorf("%w: %q (not running)", trunk.ErrNotRegistering, name)
	}
	return mgr.Reregister(name)
}
