package gateway

import (
	"github.com/sipedge/sipedge/gateway/admin"
)

// What /metrics reads from the gateway's trunks, destination sets and bans
// when it is scraped (admin.EdgeStats): snapshots, nothing on the call
// path.

var _ admin.EdgeStats = (*Gateway)(nil)

// TrunkStats implements admin.EdgeStats: each trunk's registration state
// ("" without register) and calls holding a max_calls slot.
func (g *Gateway) TrunkStats() []admin.TrunkStat {
	infos, _ := g.ListTrunks().([]TrunkInfo)
	out := make([]admin.TrunkStat, 0, len(infos))
	for _, ti := range infos {
		out = append(out, admin.TrunkStat{Name: ti.Name, State: ti.State, Calls: ti.Calls})
	}
	return out
}

// SetMemberStats implements admin.EdgeStats: each destination set
// member's health and operator state (up only when healthy and not
// disabled).
func (g *Gateway) SetMemberStats() []admin.SetMemberStat {
	s := g.rules().sets
	if s == nil {
		return nil
	}
	states := s.States()
	out := make([]admin.SetMemberStat, 0, len(states))
	for _, st := range states {
		out = append(out, admin.SetMemberStat{Set: st.Set, Member: st.Member, Up: !st.Down && !st.Disabled,
			Disabled: st.Disabled, Selections: st.Selections, Failovers: st.Failovers})
	}
	return out
}

// BanStats implements admin.EdgeStats.
func (g *Gateway) BanStats() (active int, total map[string]uint64) {
	return g.deps.Ban.Totals()
}
