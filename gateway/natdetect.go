package gateway

import (
	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/nat"
)

// behindNAT reports whether the sender of req is behind NAT for routing
// purposes: its top Via sent-by is not the packet's source, or its Contact
// holds a private address the source does not. A Contact that merely names
// another host or port (third-party registration) is not NAT.
func behindNAT(req *sip.Request) bool {
	return nat.Detect(req)&(nat.ViaHost|nat.ViaPort|nat.ContactPrivate) != 0
}
