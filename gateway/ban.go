package gateway

import (
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// The hooks of gateway/ban (Deps.Ban; every one is a no-op without it):
// banDatagram for each UDP datagram before it is checked or parsed,
// banDrop for each request sipgo hands us (all transports), banVouch and
// banAuthFailed where authenticate decides.

// banDatagram reports whether to drop datagram b from ip unread: its
// source is banned, or this request (not a response nor a keepalive)
// takes it over the rate limit.
func (g *Gateway) banDatagram(b []byte, ip netip.Addr) bool {
	bans := g.deps.Ban
	if bans == nil {
		return false
	}
	if len(b) < 8 || b[0] < 'A' || b[0] > 'Z' || string(b[:4]) == "SIP/" {
		return bans.Banned(ip)
	}
	return bans.Packet(ip)
}

// banDrop reports whether req goes unanswered: from a banned source, over
// the rate (counted here for stream transports; UDP was counted per
// datagram), or from a scanner. Its server transaction is ended so that
// nothing is kept for it.
func (g *Gateway) banDrop(req *sip.Request, tx sip.ServerTransaction) bool {
	bans := g.deps.Ban
	if bans == nil {
		return false
	}
	ip := sourceAddr(req)
	if !ip.IsValid() {
		return false
	}
	drop := req.Transport() != "UDP" && bans.Packet(ip) || bans.Request(ip, userAgent(req))
	if drop && tx != nil {
		tx.Terminate()
	}
	return drop
}

// banVouch exempts the source of an authenticated request from rate bans.
func (g *Gateway) banVouch(req *sip.Request) {
	if g.deps.Ban != nil {
		if ip := sourceAddr(req); ip.IsValid() {
			g.deps.Ban.Vouch(ip)
		}
	}
}

// banAuthFailed counts a refused digest answer against its source.
func (g *Gateway) banAuthFailed(req *sip.Request) {
	if g.deps.Ban != nil {
		if ip := sourceAddr(req); ip.IsValid() {
			g.deps.Ban.AuthFailed(ip)
		}
	}
}

// sourceAddr is the IP address req came from (invalid if unknown).
func sourceAddr(req *sip.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr()
}

// userAgent is req's User-Agent header value, "" if none, without the
// allocations of a lookup by name.
func userAgent(req *sip.Request) string {
	for _, h := range req.Headers() {
		if strings.EqualFold(h.Name(), "User-Agent") {
			return h.Value()
		}
	}
	return ""
}
