package gateway

import (
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// behindNAT reports whether the sender of req is behind NAT: its top Via
// sent-by is not the packet's source address and port, or its Contact
// holds a private (RFC 1918 / RFC 6598 / ULA) address the source does not
// (Kamailio's nat_uac_test 1+2+16).
func behindNAT(req *sip.Request) bool {
	host, port, err := net.SplitHostPort(req.Source())
	if err != nil {
		return false
	}
	if v := req.Via(); v != nil {
		vp := v.Port
		if vp == 0 {
			vp = 5060
		}
		if strings.Trim(v.Host, "[]") != host || strconv.Itoa(vp) != port {
			return true
		}
	}
	src, _ := netip.ParseAddr(host)
	for _, h := range req.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			continue
		}
		if a, err := netip.ParseAddr(strings.Trim(c.Address.Host, "[]")); err == nil && isPrivate(a) && !isPrivate(src) {
			return true
		}
	}
	return false
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10") //nolint:gochecknoglobals // constant

func isPrivate(a netip.Addr) bool {
	return a.IsValid() && (a.IsPrivate() || cgnat.Contains(a))
}
