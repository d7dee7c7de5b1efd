package gateway

import (
	"net/netip"
	"time"
)

// BanInfo is one ban in force as the admin API lists it.
type BanInfo struct {
	Address string    `json:"address"`
	Reason  string    `json:"reason"` // rate, auth, scanner, manual
	Since   time.Time `json:"since"`
	Until   time.Time `json:"until"`
	Note    string    `json:"note,omitempty"` // a manual ban's
}

// ListBans lists the bans in force, the newest first ([]BanInfo; the
// admin API's GET /api/v1/bans).
func (g *Gateway) ListBans() any {
	out := []BanInfo{}
	for _, e := range g.deps.Ban.List() {
		out = append(out, BanInfo{Address: e.Addr.String(), Reason: e.Reason, Since: e.Since.UTC(),
			Until: e.Until.UTC(), Note: e.Note})
	}
	return out
}

// Ban bans addr for d (ban.time when d <= 0) as an operator asks, with
// their note; it returns when the ban ends (zero without a ban table).
func (g *Gateway) Ban(addr netip.Addr, d time.Duration, note string) time.Time {
	return g.deps.Ban.Add(addr, d, note)
}

// Unban lifts addr's ban; it reports whether one was in force.
func (g *Gateway) Unban(addr netip.Addr) bool { return g.deps.Ban.Lift(addr) }
