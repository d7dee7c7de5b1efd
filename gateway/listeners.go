package gateway

import (
	"context"
	"net"
	"net/http"
	"strconv"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/uac"
	"github.com/sipedge/sipedge/nat"
)

// httpMux serves the WebSocket endpoint at path and everything else with
// the softphone handler (404 without one).
func (g *Gateway) httpMux(path string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(path, g.ws)
	if g.deps.HTTP != nil {
		mux.Handle("/", g.deps.HTTP)
	} else {
		mux.Handle("/", http.NotFoundHandler())
	}
	return mux
}

// keepalive builds the pinger that keeps NAT bindings of UDP clients open,
// or nil when it is off or there is no UDP listener.
func (g *Gateway) keepalive() *nat.Keepalive {
	kc := g.deps.NAT.Keepalive
	if kc.Method == nat.MethodOff || kc.Method == "" || g.udpConn == nil {
		return nil
	}
	targets := func() []string { return g.reg.NATSources("udp") }
	send := nat.CRLFSender(g.udpConn)
	if kc.Method == nat.MethodOptions {
		send = g.sendOptionsPing
	}
	return nat.NewKeepalive(kc.Interval, targets, send, g.log)
}

// sendOptionsPing sends an out-of-dialog OPTIONS to addr from our UDP
// listener; the answer is absorbed as a stray response.
func (g *Gateway) sendOptionsPing(_ context.Context, addr string) error {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	port, _ := strconv.Atoi(p)
	via, _ := g.self.Via("udp", "ka")
	l, _ := g.self.Local("udp")
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "keepalive", Host: l.Host}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req := uac.New(uac.Request{
		Method: sip.OPTIONS, RURI: sip.Uri{Scheme: "sip", Host: host, Port: port}, Via: via,
		From: from, To: &sip.ToHeader{Address: sip.Uri{Scheme: "sip", Host: host, Port: port}, Params: sip.NewParams()},
		CallID: "ka-" + sip.GenerateTagN(16), CSeq: 1, MaxForwards: g.cfg.MaxForwards,
	})
	req.SetTransport("UDP")
	req.SetDestination(addr)
	req.Laddr = g.udpLaddr
	return g.out.write(req)
}
