package gateway

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/status"
	"github.com/sipedge/sipedge/nat"
	"github.com/sipedge/sipedge/rtpengine"
)

// handleAck forwards an ACK for a 2xx (a new transaction, RFC 3261 §17.1.1.3)
// statelessly along its route set. ACKs for non-2xx are absorbed by the
// INVITE server transaction and never get here. An ACK gets no response:
// a refused ACK is logged and dropped.
func (g *Gateway) handleAck(ctx context.Context, req *sip.Request, tx sip.ServerTransaction) error {
	// In place: an ACK is forwarded once and never answered, so the
	// received message itself becomes the one forwarded. Everything read
	// from req below (source, transport, tags, Call-ID) is left as is.
	p, err := g.prepare(req, true)
	if err != nil {
		return err
	}
	fwd := p.fwd
	if !p.ourRoute && !g.trustedRequest(req) {
		// Typically the ACK for a 401/407 we sent, arriving after its
		// transaction ended (reliable transports end it at once).
		if g.log.Enabled(ctx, slog.LevelDebug) {
			g.log.Debug("ACK absorbed: not for a dialog we route", "call_id", callID(req), "src", req.Source())
		}
		return nil
	}
	t, err := g.dialogHop(fwd, p, flowOf(tx))
	if err != nil {
		return err
	}
	g.shiftCSeq(fwd)
	if top := fwd.Via(); top != nil {
		_, _ = nat.SetReceived(top, req.Source())
	}
	out, err := g.transportOf(t)
	if err != nil {
		return err
	}
	via, ok := g.self.Via(out, p.hash)
	if !ok {
		return status.New(503, "Service Unavailable", fmt.Errorf("%w: %s", ErrListenerNotFound, out))
	}
	fwd.PrependHeader(via)
	if mf := fwd.MaxForwards(); mf != nil {
		mf.Dec()
	}
	if hasSDP(fwd.Body(), contentType(fwd)) && g.anchored(sideOf(req.Transport()), sideOf(out)) {
		// The answer to a late offer (the offer came in the 2xx).
		ft, tt := rtpengine.LegTags(fromTag(req), toTag(req), true)
		res, err := g.rtp.Answer(ctx, rtpengine.AnswerParams{
			CallID: callID(req), FromTag: ft, ToTag: tt, SDP: string(fwd.Body()), Options: g.recipe(sideOf(out), sideOf(req.Transport()), req.Source()),
		})
		if err != nil {
			g.log.Warn("rtpengine could not rewrite the ACK's SDP", "call_id", callID(req), "error", err)
		} else {
			fwd.SetBody([]byte(res.SDP))
		}
	}
	g.hideRequest(p.hiding, fwd, out)
	g.address(fwd, t, out)
	if err := g.write(fwd, t); err != nil {
		return status.New(503, "Service Unavailable", fmt.Errorf("%w: ACK to %s: %w", ErrUnreachable, t.Addr, err))
	}
	return nil
}
