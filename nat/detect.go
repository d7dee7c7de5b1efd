package nat

import (
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Reason is a set of NAT indications found in a request; zero means none.
type Reason uint8

// The indications Detect looks for.
const (
	// ViaHost: the top Via sent-by host is not the source IP (a host name
	// counts, as it cannot be compared without DNS).
	ViaHost Reason = 1 << iota
	// ViaPort: over UDP, the top Via sent-by port (default 5060) is not the
	// source port.
	ViaPort
	// ContactHost: a Contact's IP is not the source IP, or its host ends in
	// ".invalid" (RFC 7118 clients).
	ContactHost
	// ContactPort: over UDP, a Contact with the source IP has another port.
	ContactPort
	// ContactPrivate: a Contact's IP is private (RFC 1918, RFC 6598 shared,
	// IPv6 ULA, link-local) while the source IP is public.
	ContactPrivate
)

// String lists the indications, e.g. "via-host,contact-private".
func (r Reason) String() string {
	names := []string{"via-host", "via-port", "contact-host", "contact-port", "contact-private"}
	var b strings.Builder
	for i, n := range names {
		if r&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(n)
		}
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// IsNATed reports whether Detect finds any indication.
func IsNATed(req *sip.Request) bool { return Detect(req) != 0 }

// Detect compares the top Via and the Contacts of req with req.Source(), the
// address the request really came from, and returns what differs. Ports are
// only compared over UDP: over TCP, TLS and WebSocket the client's source port
// is ephemeral and responses follow the connection anyway. A request without
// a parsable source gives zero.
func Detect(req *sip.Request) Reason {
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return 0
	}
	srcIP := src.Addr().Unmap()
	udp := strings.EqualFold(req.Transport(), "UDP")
	var r Reason
	if via := req.Via(); via != nil {
		ip, err := netip.ParseAddr(strings.Trim(via.Host, "[]"))
		if err != nil || ip.Unmap() != srcIP {
			r |= ViaHost
		}
		port := via.Port
		if port <= 0 {
			port = int(sip.DefaultPort(via.Transport))
		}
		if udp && port != int(src.Port()) {
			r |= ViaPort
		}
	}
	for _, h := range req.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok || c.Address.Wildcard {
			continue
		}
		r |= contactReason(c.Address, srcIP, src.Port(), udp)
	}
	return r
}

func contactReason(u sip.Uri, srcIP netip.Addr, srcPort uint16, udp bool) Reason {
	host := strings.Trim(u.Host, "[]")
	ip, err := netip.ParseAddr(host)
	if err != nil {
		if strings.HasSuffix(strings.ToLower(strings.TrimSuffix(host, ".")), ".invalid") {
			return ContactHost
		}
		return 0 // a host name: nothing to compare without DNS
	}
	ip = ip.Unmap()
	var r Reason
	if ip != srcIP {
		r |= ContactHost
		if IsPrivate(ip) && !IsPrivate(srcIP) {
			r |= ContactPrivate
		}
		return r
	}
	port := u.Port
	if port <= 0 {
		port = 5060
		if u.Scheme == "sips" {
			port = 5061
		}
	}
	if udp && port != int(srcPort) {
		r |= ContactPort
	}
	return r
}

// IsPrivate reports addresses that are not reachable from outside a
// site: RFC 1918, RFC 6598 (shared/CGNAT), IPv6 ULA, link-local and
// loopback.
func IsPrivate(ip netip.Addr) bool {
	if ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLoopback() {
		return true
	}
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64, 0, 0}), 10).Contains(ip)
}

// SetReceived records the source of a request in its Via (usually the top
// Via of a request received, before forwarding it or answering it), per
// RFC 3261 §18.2.1 and RFC 3581 §4:
//
//   - "received" is set to the source IP when the sent-by host differs from
//     it, and always when the Via carries "rport";
//   - "rport" is given the source port when the Via carries it (empty, as
//     clients send it; a value present is overwritten).
//
// sipgo's NewResponseFromRequest adds both only when rport is empty and never
// adds "received" alone, so a proxy calls SetReceived on the request it
// forwards; responses built from that request then carry the same values.
// source is "ip:port" as from Message.Source(). SetReceived changes via in
// place: clone the message first if it is shared. It reports whether via
// changed.
func SetReceived(via *sip.ViaHeader, source string) (bool, error) {
	host, portStr, err := net.SplitHostPort(source)
	if err != nil {
		return false, ErrBadSource
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false, ErrBadSource
	}
	if _, err := strconv.ParseUint(portStr, 10, 16); err != nil {
		return false, ErrBadSource
	}
	ip = ip.Unmap()
	changed := false
	set := func(k, v string) {
		if old, ok := via.Params.Get(k); !ok || old != v {
			via.Params.Add(k, v)
			changed = true
		}
	}
	_, rport := via.Params.Get("rport")
	viaIP, err := netip.ParseAddr(strings.Trim(via.Host, "[]"))
	if rport || err != nil || viaIP.Unmap() != ip {
		set("received", ip.String())
	}
	if rport {
		set("rport", portStr)
	}
	return changed, nil
}
