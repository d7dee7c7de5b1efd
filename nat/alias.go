package nat

import (
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// AliasParam is the Contact URI parameter that carries a NATed party's real
// address (as Kamailio's nathelper writes it: ip~port~transport), so that
// in-dialog requests addressed to its private Contact reach it.
const AliasParam = "alias"

// ContactBehindNAT reports whether a Contact seen in a message that came
// from src cannot be reached as written: its address is not the source's,
// or it is private while the source is not. Host names are left alone.
func ContactBehindNAT(c sip.Uri, src string) bool {
	host, _, err := net.SplitHostPort(src)
	if err != nil {
		return false
	}
	s, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(strings.Trim(c.Host, "[]"))
	if err != nil {
		return false
	}
	s, a = s.Unmap(), a.Unmap()
	return a != s || (IsPrivate(a) && !IsPrivate(s))
}

// AliasContacts adds ;alias=ip~port~transport to every Contact of m that
// is behind NAT as seen from src (UDP, TCP and TLS only: WebSocket flows
// have their own token). m must be our own copy.
func AliasContacts(m interface{ GetHeaders(string) []sip.Header }, src, transport string) {
	t := strings.ToLower(transport)
	if t != "udp" && t != "tcp" && t != "tls" {
		return
	}
	host, port, err := net.SplitHostPort(src)
	if err != nil {
		return
	}
	for _, h := range m.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok || c.Address.UriParams.Has(AliasParam) || !ContactBehindNAT(c.Address, src) {
			continue
		}
		ps := c.Address.UriParams.Clone()
		ps.Add(AliasParam, host+"~"+port+"~"+t)
		c.Address.UriParams = ps
	}
}

// AliasTarget takes the alias parameter out of a Request-URI and returns
// where it points: the transport (udp, tcp or tls) and host:port.
func AliasTarget(u *sip.Uri) (transport, addr string, ok bool) {
	v, ok := u.UriParams.Get(AliasParam)
	if !ok {
		return "", "", false
	}
	parts := strings.Split(v, "~")
	if len(parts) != 3 {
		return "", "", false
	}
	ip, err := netip.ParseAddr(parts[0])
	port, perr := strconv.Atoi(parts[1])
	t := strings.ToLower(parts[2])
	if err != nil || perr != nil || port <= 0 || port > 65535 || (t != "udp" && t != "tcp" && t != "tls") {
		return "", "", false
	}
	ps := u.UriParams.Clone()
	ps.Remove(AliasParam)
	u.UriParams = ps
	return t, net.JoinHostPort(ip.String(), parts[1]), true
}
