package gateway

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/status"
)

// handler is the transport-agnostic request handler signature; sipgo's
// server and the WebSocket edge both call it (through wrap).
type handler func(ctx context.Context, req *sip.Request, tx sip.ServerTransaction) error

// wrap turns a handler that returns errors into a sipgo handler: it gives
// the request a context that ends when the gateway closes, recovers panics
// (500), and turns a *status.Error into its response, statelessly when it
// can (answers.go), answering retransmissions of such a request from cache.
func (g *Gateway) wrap(h handler) func(req *sip.Request, tx sip.ServerTransaction) {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		ctx := g.lifetime()
		defer func() {
			if r := recover(); r != nil {
				g.log.Error("panic in request handler", "panic", r, "method", req.Method.String(),
					"call_id", callID(req), "src", req.Source(), "stack", string(debug.Stack()))
				g.respondError(ctx, req, tx, status.New(500, "Server Internal Error", fmt.Errorf("%w: panic", ErrInternal)))
			}
		}()
		if g.banDrop(req, tx) {
			return
		}
		if g.answerRetransmission(req, tx) {
			return
		}
		g.metrics.Request(req.Method)
		if err := h(ctx, req, tx); err != nil {
			g.respondError(ctx, req, g.localTx(req, tx, g.anonAnswers), err)
			g.recordRefusal(req, tx, err)
		}
	}
}

// respondError is the single place where a local refusal becomes a SIP
// response: every final answer the proxy makes up itself (sanity checks,
// auth, registrar, routing, a branch that timed out or could not be
// reached) comes through here, and is logged once at status.Level.
func (g *Gateway) respondError(ctx context.Context, req *sip.Request, tx sip.ServerTransaction, err error) {
	var se *status.Error
	if !errors.As(err, &se) {
		se = status.New(500, "Server Internal Error", err)
	}
	g.logFinal(ctx, req, se.Code, se.Cause())
	if req.IsAck() || tx == nil {
		return // ACK gets no response
	}
	res := se.Response
	if res == nil {
		res = newResponse(req, se.Code, se.Reason)
		for _, h := range se.Headers {
			res.AppendHeader(h)
		}
	}
	if err := g.respond(tx, req, res); err != nil {
		g.log.Debug("respond failed", "call_id", callID(req), "error", err)
	}
}

// logFinal logs a failed request's final answer, local or relayed, at the
// level status.Level gives its code.
func (g *Gateway) logFinal(ctx context.Context, req *sip.Request, code int, reason string) {
	if code < 300 {
		return
	}
	lvl := status.Level(code)
	if !g.log.Enabled(ctx, lvl) {
		return
	}
	g.log.Log(ctx, lvl, "request failed", "call_id", callID(req), "method", req.Method.String(),
		"src", req.Source(), "code", code, "reason", reason)
}

func callID(m sip.Message) string {
	if h := m.CallID(); h != nil {
		return h.Value()
	}
	return ""
}
