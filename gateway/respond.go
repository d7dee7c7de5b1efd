package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/emiago/sipgo/sip"
)

// handler is the transport-agnostic request handler signature; sipgo's
// server and the WebSocket edge both call it.
type handler func(req *sip.Request, tx sip.ServerTransaction) error

// wrap turns a handler that returns errors into a sipgo handler: it
// recovers panics (500), turns a *StatusError into its response and logs one
// line per failed transaction.
func (g *Gateway) wrap(h handler) func(req *sip.Request, tx sip.ServerTransaction) {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		defer func() {
			if r := recover(); r != nil {
				g.log.Error("panic in request handler", "panic", r, "method", req.Method.String(),
					"call_id", callID(req), "src", req.Source(), "stack", string(debug.Stack()))
				g.respondError(req, tx, status(500, "Server Internal Error", fmt.Errorf("%w: panic", ErrInternal)))
			}
		}()
		if err := h(req, tx); err != nil {
			g.respondError(req, tx, err)
		}
	}
}

// respondError is the single place where an error becomes a SIP response.
func (g *Gateway) respondError(req *sip.Request, tx sip.ServerTransaction, err error) {
	var se *StatusError
	if !errors.As(err, &se) {
		se = status(500, "Server Internal Error", err)
	}
	lvl := slog.LevelInfo
	switch {
	case se.Code >= 500:
		lvl = slog.LevelWarn
	case se.Response != nil && (se.Code == 401 || se.Code == 407):
		// A digest challenge is the normal first step of every
		// registration and call, not a failure worth an info line.
		lvl = slog.LevelDebug
	}
	if g.log.Enabled(context.Background(), lvl) {
		g.log.Log(context.Background(), lvl, "request failed", "call_id", callID(req),
			"method", req.Method.String(), "src", req.Source(), "code", se.Code, "reason", reasonOf(se))
	}
	if req.IsAck() || tx == nil {
		return // ACK gets no response
	}
	res := se.Response
	if res == nil {
		res = sip.NewResponseFromRequest(req, se.Code, se.Reason, nil)
		for _, h := range se.Headers {
			res.AppendHeader(h)
		}
	}
	if err := tx.Respond(res); err != nil {
		g.log.Debug("respond failed", "call_id", callID(req), "error", err)
	}
}

func reasonOf(se *StatusError) string {
	if se.Err != nil {
		return se.Err.Error()
	}
	return se.Reason
}

func callID(m sip.Message) string {
	if h := m.CallID(); h != nil {
		return h.Value()
	}
	return ""
}
