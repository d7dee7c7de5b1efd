package gateway

import (
	"context"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/wire"
	"github.com/sipedge/sipedge/ws"
)

var (
	_ ws.Handler = (*Gateway)(nil)
	_ ws.Checker = (*Gateway)(nil)
	_ ws.SentTap = (*Gateway)(nil)
)

// CheckSIP implements ws.Checker: every WebSocket message goes through
// wire.Check, as UDP datagrams do (checkedConn).
func (g *Gateway) CheckSIP(f *ws.Flow, msg []byte) (out, reply []byte, err error) {
	g.tapFlow(f, msg, false)
	out, reply, err = wire.Check(msg)
	if err != nil {
		g.badInput(strings.ToLower(f.Transport()), f.Source(), len(msg), err)
	}
	return out, reply, err
}

// ServeSIP implements ws.Handler: requests arriving on a WebSocket flow run
// through the same pipeline as UDP, TCP and TLS.
func (g *Gateway) ServeSIP(req *sip.Request, tx sip.ServerTransaction) {
	if req.IsAck() {
		g.ackHandler(req, tx)
		return
	}
	g.reqHandler(req, tx)
}

// FlowClosed implements ws.Handler: a closed WebSocket takes its
// registrations with it (the browser re-registers on a new one), at once
// or after registrar.flow_grace, and its calls end.
func (g *Gateway) FlowClosed(f *ws.Flow) {
	if grace := g.cfg.Registrar.FlowGrace; grace > 0 {
		if n := g.reg.ExpireFlow(f.ID(), time.Now().Add(grace)); n > 0 {
			g.log.Debug("flow closed, bindings kept for the grace period", "flow", f.ID(), "src", f.Source(), "bindings", n, "grace", grace)
		}
	} else if n := g.reg.RemoveFlow(f.ID()); n > 0 {
		g.log.Debug("flow closed, bindings removed", "flow", f.ID(), "src", f.Source(), "bindings", n)
	}
	// Ending the calls sends BYEs and waits for rtpengine: not on the
	// flow's reader goroutine. The context is not the gateway's lifetime:
	// calls are ended during shutdown too.
	id := f.ID()
	g.bg.Go(func() { g.endFlowDialogs(context.Background(), id) })
}

// flowOf returns the WebSocket flow a server transaction belongs to, or
// nil for UDP, TCP and TLS.
func flowOf(tx sip.ServerTransaction) *ws.Flow {
	stx, ok := tx.(*sip.ServerTx)
	if !ok {
		return nil
	}
	f, _ := stx.Connection().(*ws.Flow)
	return f
}

// flow finds a live flow by id.
func (g *Gateway) flow(id string) (*ws.Flow, bool) {
	if g.ws == nil || id == "" {
		return nil, false
	}
	return g.ws.Flow(id)
}
