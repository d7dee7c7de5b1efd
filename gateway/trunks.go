package gateway

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/status"
	"github.com/sipedge/sipedge/gateway/trunk"
)

// trunks is what the gateway keeps of the trunks across reloads (their
// settings are in the rules: trunkRules): the registrations (started by
// Run once the listeners are bound, updated by Reload) and the calls
// holding max_calls slots.
type trunks struct {
	slots *trunkSlots // max_calls (trunkslots.go)

	mu  sync.Mutex
	mgr *trunk.Manager // nil until Run starts it

	stopWatch chan struct{} // closed by closeTrunks
	watchDone chan struct{} // closed when watchConns returns
}

// manager is the registrations' Manager, nil before Run starts it.
func (t *trunks) manager() *trunk.Manager {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mgr
}

// expandTrunk is a trunk:NAME target as serial groups, one per hop: the
// Request-URI keeps its user and takes the provider URI's host, port and
// parameters.
func (g *Gateway) expandTrunk(ctx context.Context, rs *rules, req *sip.Request, name string) ([]route.Group, error) {
	c, ok := rs.trunks.cfg[name]
	if !ok {
		return nil, status.New(500, "Server Internal Error", fmt.Errorf("%w: trunk %q is not configured", ErrNoRoute, name))
	}
	if c.MaxCalls > 0 && req.IsInvite() &&
		!g.trunks.slots.acquire(name, callID(req), c.MaxCalls, time.Now(), g.cfg.Media.MaxCallDuration) {
		g.log.Info("trunk full: trying the next target", "call_id", callID(req), "trunk", name, "max_calls", c.MaxCalls)
		return nil, nil
	}
	hops, uris, err := rs.trunks.hops(ctx, name)
	if err != nil {
		g.log.Warn("trunk has no address: trying the next target", "call_id", callID(req), "trunk", name, "error", err)
		g.trunks.slots.release(callID(req))
		return nil, nil
	}
	first := g.registeredHop(name, hops)
	out := make([]route.Group, 0, len(hops))
	for n := range hops {
		// The hop holding the registration first, then the others in order.
		i := n
		switch {
		case first < 0:
		case n == 0:
			i = first
		case n <= first:
			i = n - 1
		}
		h := hops[i]
		ruri := uris[i].Clone()
		ruri.User = req.Recipient.User
		ruri.Headers = nil
		h.RURI = ruri
		out = append(out, route.Group{h})
	}
	return out, nil
}

// registeredHop is the index in hops of the one trunk name is registered
// on (calls go there first: providers expect calls on the server that took
// the registration), or -1.
func (g *Gateway) registeredHop(name string, hops []route.Target) int {
	mgr := g.trunks.manager()
	if mgr == nil {
		return -1
	}
	st, ok := mgr.StatusOf(name)
	if !ok || st.State != trunk.StateRegistered {
		return -1
	}
	for i, h := range hops {
		if h.Addr == st.Hop.Addr && h.Transport == st.Hop.Transport {
			return i
		}
	}
	return -1
}

// mapDID turns the Request-URI of an initial request from trunk name into
// the local user its DID maps to (the Request-URI user, else the To user),
// in our first domain. A trunk without dids routes as usual; one with
// dids answers 404 to a number it does not list.
func (g *Gateway) mapDID(fwd *sip.Request, name string) error {
	dids := g.rules().trunks.cfg[name].DIDs
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
// sending through the gateway's stack from its bound listeners. The
// Manager runs (with no registration at all when no trunk registers) so
// that a reload can add some.
func (g *Gateway) startTrunks() {
	g.waitUDPServing()
	g.reloadMu.Lock() // a Reload now or later sees the Manager
	defer g.reloadMu.Unlock()
	cfg := g.rules().trunks.cfg
	var held func(string) bool
	if l := g.deps.Leases; l != nil {
		g.wantLeases(cfg)
		held = func(name string) bool { _, ok := l.Held(trunkLease(name)); return ok }
	}
	mgr := trunk.NewManager(g.cfg.TrunkRegistration, cfg, trunk.Deps{
		Held:    held,
		Send:    trunkSender{g},
		Contact: g.trunkContact,
		Hops: func(ctx context.Context, name string, _ trunk.Config) ([]route.Target, error) {
			hops, _, err := g.rules().trunks.hops(ctx, name)
			return hops, err
		},
		MaxForwards: g.cfg.MaxForwards,
		Log:         g.deps.Logger,
	})
	g.trunks.mu.Lock()
	g.trunks.mgr = mgr
	g.trunks.mu.Unlock()
	g.trunks.stopWatch, g.trunks.watchDone = make(chan struct{}), make(chan struct{})
	go g.watchConns(g.trunks.stopWatch, g.trunks.watchDone)
}

// wantLeases asks the cluster for the lease of every trunk that registers.
func (g *Gateway) wantLeases(cfg map[string]trunk.Config) {
	for name, c := range cfg {
		if c.Register {
			g.deps.Leases.Want(trunkLease(name))
		}
	}
}

// reloadTrunks makes the registrations follow the trunks of the rules
// just swapped in (trunk.Manager.Update): under reloadMu, after the swap,
// so a new registration already finds its trunk's URIs. Nothing before
// Run has started them (startTrunks reads the rules then).
func (g *Gateway) reloadTrunks(cfg map[string]trunk.Config) {
	mgr := g.trunks.manager()
	if mgr == nil {
		return
	}
	if g.deps.Leases != nil {
		g.wantLeases(cfg)
	}
	ch := mgr.Update(cfg)
	if len(ch.Added)+len(ch.Removed)+len(ch.Changed) > 0 {
		g.log.Info("trunk registrations reloaded", "added", ch.Added, "removed", ch.Removed, "changed", ch.Changed, "kept", len(ch.Kept))
	}
}

// connCheck is how often watchConns looks for lost trunk connections.
const connCheck = 500 * time.Millisecond

// watchConns tells the registrations when the TCP or TLS connection their
// binding lives on is gone from sipgo's pool (closed by the provider, or
// reset), so they register again at once. Owner: startTrunks; stopped by
// closeTrunks.
func (g *Gateway) watchConns(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(connCheck)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		for _, st := range g.trunks.manager().Status() {
			if st.State != trunk.StateRegistered || (st.Hop.Transport != "tcp" && st.Hop.Transport != "tls") {
				continue
			}
			if _, err := g.ua.TransportLayer().GetConnection(st.Hop.Transport, st.Hop.Addr); err != nil {
				g.trunks.manager().ConnLost(st.Hop.Transport, st.Hop.Addr)
			}
		}
	}
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
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	if mgr := g.trunks.manager(); mgr != nil {
		close(g.trunks.stopWatch)
		<-g.trunks.watchDone
		mgr.Close()
	}
}

// TrunkStatus is a snapshot of every trunk registration (nil before Run).
func (g *Gateway) TrunkStatus() []trunk.Status {
	if mgr := g.trunks.manager(); mgr != nil {
		return mgr.Status()
	}
	return nil
}

// trunkContact is our Contact toward hop: the listener of its transport.
func (g *Gateway) trunkContact(hop route.Target) sip.Uri {
	u := sip.Uri{Scheme: "sip", UriParams: sip.NewParams()}
	if l, ok := g.self.Local(hop.Transport); ok {
		u.Host, u.Port = l.Host, l.Port
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
	via, ok := g.self.Via(hop.Transport, "")
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
