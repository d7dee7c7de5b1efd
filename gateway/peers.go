package gateway

import (
	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/registrar"
	"github.com/sipedge/sipedge/gateway/route"
)

// Peers is what the gateway asks of the cluster it is part of
// (cluster.Store): its own name, and whether another node is alive and
// where it takes SIP.
type Peers interface {
	// Node is this node's name, stamped on the bindings it writes.
	Node() string
	// NodeAlive reports whether node's heartbeat is current, and the SIP
	// URI it published.
	NodeAlive(node string) (addr string, alive bool)
}

// Leases are named leases held by one node of a cluster at a time
// (cluster.Store): Want asks for one, Held says whether this node has it.
type Leases interface {
	Want(name string)
	Held(name string) (token int64, held bool)
}

// trunkLease is the lease name of trunk's registration.
func trunkLease(trunk string) string { return "trunk:" + trunk }

// localParam marks our Route entry in a request a cluster peer sends us
// for one of our users: deliver it to the connections this node holds,
// never onward to another node or route.
const localParam = "se-local"

// elsewhere reports whether b is reached through the node that took its
// REGISTER: a connection (WS, TCP, TLS) or a NAT binding lives there.
func (g *Gateway) elsewhere(b *registrar.Binding) bool {
	if g.deps.Cluster == nil || b.Node == "" || b.Node == g.deps.Cluster.Node() {
		return false
	}
	return b.Source.FlowID != "" || b.Source.Transport != "udp" || b.Source.NAT
}

// peerTarget is the hop to node asking it to deliver the request to its
// own bindings; false when the node is dead (its connections died with
// it) or its address is unusable.
func (g *Gateway) peerTarget(node string) (route.Target, bool) {
	addr, ok := g.deps.Cluster.NodeAlive(node)
	if !ok {
		return route.Target{}, false
	}
	var u sip.Uri
	if err := sip.ParseUri(addr, &u); err != nil {
		return route.Target{}, false
	}
	t, err := route.FromURI(u)
	if err != nil {
		return route.Target{}, false
	}
	u.UriParams = sip.HeaderParams{{K: "lr", V: ""}, {K: localParam, V: ""}}
	if tp := t.Transport; tp != "udp" {
		u.UriParams = u.UriParams.Add("transport", tp)
	}
	t.Route, t.Peer = []sip.Uri{u}, true
	return t, true
}
