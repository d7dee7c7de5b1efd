package gateway

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/status"
	"github.com/sipedge/sipedge/gateway/trunk"
)

// trunks is the gateway's view of the configured trunks: their hops, the
// addresses their requests come from, and the registrations (started by
// Run once the listeners are bound).
type trunks struct {
	cfg   map[string]trunk.Config
	hops  map[string][]route.Target // failover order
	addrs map[netip.Addr]string     // source address -> trunk name
	mgr   *trunk.Manager            // nil until Run starts it
}

// newTrunks reads the trunks of cfg (validated): each URI becomes a hop;
// its address, when an IP literal, is a trusted source of that trunk.
func newTrunks(cfg map[string]trunk.Config) (*trunks, error) {
	t := &trunks{cfg: cfg, hops: map[string][]route.Target{}, addrs: map[netip.Addr]string{}}
	for _, name := range slices.Sorted(maps.Keys(cfg)) {
		hops, err := trunk.StaticHops(context.Background(), name, cfg[name])
		if err != nil {
			return nil, fmt.Errorf("trunk %s: %w", name, err)
		}
		for i := range hops {
			hops[i].Trunk = name
			host, _, _ := net.SplitHostPort(hops[i].Addr)
			if a, err := netip.ParseAddr(host); err == nil {
				t.addrs[a.Unmap()] = name
			}
		}
		t.hops[name] = hops
	}
	return t, nil
}

// source is the trunk whose address src (ip:port) is, if any.
func (t *trunks) source(src string) (string, bool) {
	host, _, err := net.SplitHostPort(src)
	if err != nil {
		return "", false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return "", false
	}
	name, ok := t.addrs[a.Unmap()]
	return name, ok
}

// expandTrunk is a trunk:NAME target as serial groups, one per hop: the
// Request-URI keeps its user and takes the provider's host, port and
// transport.
func (g *Gateway) expandTrunk(req *sip.Request, name string) ([]route.Group, error) {
	hops, ok := g.trunks.hops[name]
	if !ok {
		return nil, status.New(500, "Server Internal Error", fmt.Errorf("%w: trunk %q is not configured", ErrNoRoute, name))
	}
	uris := g.trunks.cfg[name].URIs
	out := make([]route.Group, 0, len(hops))
	for i, h := range hops {
		u, err := trunk.ParseURI(uris[i])
		if err != nil {
			return nil, status.New(500, "Server Internal Error", fmt.Errorf("%w: trunk %q: %w", ErrNoRoute, name, err))
		}
		ruri := u.Clone()
		ruri.User = req.Recipient.User
		ruri.Headers = nil
		h.RURI = ruri
		out = append(out, route.Group{h})
	}
	return out, nil
}

// mapDID turns the Request-URI of an initial request from trunk name into
// the local user its DID maps to (the Request-URI user, else the To user),
// in our first domain. A trunk without dids routes as usual; one with
// dids answers 404 to a number it does not list.
func (g *Gateway) mapDID(fwd *sip.Request, name string) error {
	dids := g.trunks.cfg[name].DIDs
	if len(dids) == 0 {
		return nil
	}
	user, ok := dids[fwd.Recipient.User]
	if !ok && fwd.To() != nil {
		user, ok = dids[fwd.To().Address.User]
	}
	if !ok {
		return status.New(404, "Not Found", fmt.Errorf("%w: trunk %s: no DID %q", ErrNoRoute, name, fwd.Recipient.User))
	}
	ruri := sip.Uri{Scheme: "sip", User: user, Host: g.cfg.Domains[0]}
	fwd.Recipient = ruri
	return nil
}

// startTrunks starts the registrations of the trunks with register: true,
// sending through the gateway's stack from its bound listeners.
func (g *Gateway) startTrunks() {
	if g.trunks == nil || len(g.trunks.cfg) == 0 {
		return
	}
	g.waitUDPServing()
	g.trunks.mgr = trunk.NewManager(g.cfg.TrunkRegistration, g.trunks.cfg, trunk.Deps{
		Send:    trunkSender{g},
		Contact: g.trunkContact,
		Hops: func(_ context.Context, name string, _ trunk.Config) ([]route.Target, error) {
			return g.trunks.hops[name], nil
		},
		Log: g.deps.Logger,
	})
}

// waitUDPServing waits (at most a second) until sipgo serves the UDP
// socket requests leave from: before that it would open a socket of its
// own on the same address and fail.
func (g *Gateway) waitUDPServing() {
	if g.udpConn == nil {
		return
	}
	addr := g.udpConn.LocalAddr().String()
	for range 1000 {
		if _, err := g.ua.TransportLayer().GetConnection("udp", addr); err == nil {
			return
		}
		time.Sleep(time.Millisecond)
	}
	g.log.Warn("UDP listener not serving after 1s; trunk registrations start anyway", "addr", addr)
}

// closeTrunks unregisters and stops the registrations (before the stack
// closes: the unregisters must still leave).
func (g *Gateway) closeTrunks() {
	if g.trunks != nil && g.trunks.mgr != nil {
		g.trunks.mgr.Close()
	}
}

// TrunkStatus is a snapshot of every trunk registration (nil before Run).
func (g *Gateway) TrunkStatus() []trunk.Status {
	if g.trunks == nil || g.trunks.mgr == nil {
		return nil
	}
	return g.trunks.mgr.Status()
}

// trunkContact is our Contact toward hop: the listener of its transport.
func (g *Gateway) trunkContact(hop route.Target) sip.Uri {
	u := sip.Uri{Scheme: "sip", UriParams: sip.NewParams()}
	if l, ok := g.self.byTransport[hop.Transport]; ok {
		u.Host, u.Port = l.host, l.port
	}
	if hop.Transport != "udp" {
		u.UriParams.Add("transport", hop.Transport)
	}
	return u
}

// trunkSender sends a trunk registration's REGISTERs through the gateway's
// sipgo stack, with our Via, and waits for the final response.
type trunkSender struct{ g *Gateway }

func (s trunkSender) Send(ctx context.Context, req *sip.Request, hop route.Target) (*sip.Response, error) {
	g := s.g
	via, ok := g.self.via(hop.Transport, "")
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrListenerNotFound, hop.Transport)
	}
	req.PrependHeader(via)
	g.address(req, hop, hop.Transport)
	tx, err := g.request(ctx, req, hop)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if !res.IsProvisional() {
				return res, nil
			}
		case <-tx.Done():
			return nil, fmt.Errorf("%w: %s: %w", ErrUnreachable, hop.Addr, tx.Err())
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %s: %w", ErrTimeout, hop.Addr, ctx.Err())
		}
	}
}
