package ws

import (
	"bytes"
	"context"
	"log/slog"

	"github.com/emiago/sipgo/sip"
)

// crlfPing is a client's CRLF keepalive; crlfPong is our answer.
const (
	crlfPing = "\r\n\r\n"
	crlfPong = "\r\n"
)

// handleMessage is the inbound path of one WebSocket message: keepalive,
// parse, label, then transaction matching. It runs on the reader goroutine,
// so matching is in arrival order; handlers and response delivery run in
// goroutines of their own.
func (f *Flow) handleMessage(data []byte) {
	if len(bytes.TrimLeft(data, "\r\n")) == 0 {
		// RFC 5626 §3.5.1 style CRLF keepalive: answer a double CRLF with
		// a single one; ignore other blank messages.
		if string(data) == crlfPing {
			if err := f.writeFrame([]byte(crlfPong)); err != nil {
				f.log.Debug("keepalive pong failed", "flow", f.id, "error", err)
			}
		}
		return
	}
	if c := f.srv.check; c != nil {
		out, reply, err := c.CheckSIP(f, data)
		if reply != nil {
			if werr := f.writeFrame(reply); werr != nil {
				f.log.Debug("stateless answer not sent", "flow", f.id, "error", werr)
			}
		}
		if err != nil || out == nil {
			f.log.Debug("SIP message refused by the checker", "flow", f.id, "error", err)
			return
		}
		data = out
	}
	msg, err := f.srv.parser.ParseSIP(data)
	if err != nil || msg == nil {
		lvl := slog.LevelInfo
		if f.srv.check != nil {
			lvl = slog.LevelDebug // the checker passed it: sipgo's parser disagrees
		}
		f.log.Log(context.Background(), lvl, "unparsable SIP message dropped", "flow", f.id, "src", f.source, "error", err, "len", len(data))
		if req, ok := msg.(*sip.Request); ok {
			f.rejectMalformed(req)
		}
		return
	}
	msg.SetTransport(f.transport)
	msg.SetSource(f.source)
	switch m := msg.(type) {
	case *sip.Request:
		f.handleRequest(m)
	case *sip.Response:
		f.handleResponse(m)
	}
}

// rejectMalformed answers 400 to a request that names its transaction well
// enough for the client to match the answer; otherwise nothing is sent.
func (f *Flow) rejectMalformed(req *sip.Request) {
	if req.Via() == nil || req.CSeq() == nil || req.CallID() == nil || req.From() == nil || req.To() == nil || req.IsAck() {
		return
	}
	res := sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil)
	if err := f.WriteMsg(res); err != nil {
		f.log.Debug("400 for malformed request not sent", "flow", f.id, "error", err)
	}
}

func (f *Flow) handleRequest(req *sip.Request) {
	if f.log.Enabled(context.Background(), slog.LevelDebug) {
		f.log.Debug("request received", "flow", f.id, "method", string(req.Method), "call_id", callID(req))
	}
	if req.IsCancel() && f.cancelInvite(req) {
		return
	}
	key, err := sip.ServerTxKeyMake(req)
	if err != nil {
		f.log.Info("request without transaction key rejected", "flow", f.id, "src", f.source, "error", err)
		f.rejectMalformed(req)
		return
	}

	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	if tx, ok := f.serverTx[key]; ok {
		f.mu.Unlock()
		// A retransmission (the last response is resent), an ACK for a
		// non-2xx, or an ACK the RFC 6026 Accepted state passes up.
		if err := tx.Receive(req); err != nil {
			f.log.Debug("request not absorbed by its transaction", "flow", f.id, "method", string(req.Method), "error", err)
		}
		return
	}
	if f.serverTx == nil {
		f.serverTx = make(map[string]*sip.ServerTx)
	}
	f.Ref(1) // released by the transaction's delete (TryClose)
	tx := sip.NewServerTx(key, req, f, f.log)
	_ = tx.Init() // never fails in sipgo v1.7.2
	if req.IsAck() {
		// ACK for a 2xx: a throw-away transaction, not stored.
		f.mu.Unlock()
	} else {
		f.serverTx[key] = tx
		tx.OnTerminate(func(key string, _ error) { f.dropServerTx(key, tx) })
		f.mu.Unlock()
	}
	if !f.srv.spawn(func() {
		f.srv.h.ServeSIP(req, tx)
		tx.TerminateGracefully()
	}) {
		tx.Terminate()
	}
}

// cancelInvite matches a CANCEL to its INVITE server transaction (RFC 3261
// §9.2): it answers 200 to the CANCEL and lets the INVITE transaction send
// 487 and run its OnCancel callbacks. It returns false if no INVITE matches.
func (f *Flow) cancelInvite(req *sip.Request) bool {
	cseq := req.CSeq()
	if cseq == nil || req.Via() == nil {
		return false
	}
	// ServerTxKeyMake keys by the CSeq method; a minimal stand-in with CSeq
	// method INVITE gives the INVITE's key without cloning the CANCEL.
	probe := sip.NewRequest(sip.INVITE, req.Recipient)
	probe.AppendHeader(req.Via())
	probe.AppendHeader(&sip.CSeqHeader{SeqNo: cseq.SeqNo, MethodName: sip.INVITE})
	if h := req.From(); h != nil {
		probe.AppendHeader(h)
	}
	if h := req.CallID(); h != nil {
		probe.AppendHeader(h)
	}
	key, err := sip.ServerTxKeyMake(probe)
	if err != nil {
		return false
	}
	f.mu.Lock()
	tx, ok := f.serverTx[key]
	f.mu.Unlock()
	if !ok {
		return false
	}
	if err := f.WriteMsg(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)); err != nil {
		f.log.Debug("200 for CANCEL not sent", "flow", f.id, "error", err)
		return true
	}
	if err := tx.Receive(req); err != nil {
		f.log.Debug("CANCEL not absorbed", "flow", f.id, "error", err)
	}
	return true
}

func (f *Flow) handleResponse(res *sip.Response) {
	key, err := sip.ClientTxKeyMake(res)
	if err != nil {
		f.log.Info("response without transaction key dropped", "flow", f.id, "src", f.source, "error", err)
		return
	}
	f.mu.Lock()
	tx, ok := f.clientTx[key]
	f.mu.Unlock()
	if !ok {
		f.log.Debug("unmatched response dropped", "flow", f.id, "status", res.StatusCode, "call_id", callID(res))
		return
	}
	// Receive blocks until the transaction user reads tx.Responses().
	f.srv.spawn(func() { tx.Receive(res) })
}

func callID(m sip.Message) string {
	if h := m.CallID(); h != nil {
		return h.Value()
	}
	return ""
}
