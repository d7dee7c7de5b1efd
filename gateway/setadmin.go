package gateway

import (
	"fmt"

	"github.com/sipedge/sipedge/gateway/sets"
)

// SetInfo is one destination set as the admin API lists it.
type SetInfo struct {
	Name      string       `json:"name"`
	Algorithm string       `json:"algorithm"`
	Members   []MemberInfo `json:"members"`
}

// MemberInfo is one member of a destination set: its health (up or
// down, from probes and calls) and, apart from it, the operator's state
// (disabled: no new calls until enabled).
type MemberInfo struct {
	// Member is the URI as configured, or trunk:NAME: the name the
	// enable and disable verbs take.
	Member   string `json:"member"`
	Up       bool   `json:"up"`
	Disabled bool   `json:"disabled"`
	// Calls are the calls in progress through it (this node's).
	Calls int `json:"calls"`
	// RTTMillis is the moving average of its probe round trips (0: none).
	RTTMillis  float64 `json:"rtt_ms"`
	Selections uint64  `json:"selections"`
	Failovers  uint64  `json:"failovers"`
}

// ListSets lists every destination set and its members, by name
// ([]SetInfo; the admin API's GET /api/v1/sets).
func (g *Gateway) ListSets() any {
	ss := g.rules().sets
	out := []SetInfo{}
	if ss == nil {
		return out
	}
	for _, st := range ss.States() { // set by set in name order
		if len(out) == 0 || out[len(out)-1].Name != st.Set {
			out = append(out, SetInfo{Name: st.Set, Algorithm: ss.Algorithm(st.Set)})
		}
		si := &out[len(out)-1]
		si.Members = append(si.Members, MemberInfo{Member: st.Member, Up: !st.Down, Disabled: st.Disabled,
			Calls: st.Active, RTTMillis: float64(st.RTT.Microseconds()) / 1000,
			Selections: st.Selections, Failovers: st.Failovers})
	}
	return out
}

// SetMemberEnabled enables or disables member (URI or trunk:NAME, as
// listed) of set for new calls, as an operator asks (the admin API's
// enable and disable): sets.ErrNoSet or sets.ErrNoMember for unknown
// names. The state holds across reloads that keep the member.
func (g *Gateway) SetMemberEnabled(set, member string, on bool) error {
	ss := g.rules().sets
	if ss == nil {
		return fmt.Errorf("%w: %q", sets.ErrNoSet, set)
	}
	_, err := ss.SetEnabled(set, member, on)
	return err
}
