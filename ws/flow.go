package ws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/emiago/sipgo/sip"
)

// frameWriter is the write side of a WebSocket connection (*websocket.Conn).
type frameWriter interface {
	Write(ctx context.Context, typ websocket.MessageType, p []byte) error
}

// closeCause records why sipedge closed a flow, for the log line.
type closeCause struct {
	code   websocket.StatusCode
	reason string
}

// Flow is one WebSocket connection carrying SIP. It implements
// sip.Connection, so sipgo transactions write through it. Its lifetime is
// owned by its reader goroutine: Ref and TryClose only count references and
// never close it.
type Flow struct {
	srv       *Server
	id        string
	transport string
	source    string // remote "ip:port", as set on inbound messages
	ip        string
	raddr     net.Addr
	laddr     net.Addr
	log       *slog.Logger

	conn *websocket.Conn
	w    frameWriter

	done       chan struct{}
	refs       atomic.Int64
	lastActive atomic.Int64 // Unix ns of the last message or pong
	pinging    atomic.Bool
	cause      atomic.Pointer[closeCause]
	// The message budget (Config.MaxMessageRate); readLoop's own.
	tokens   float64
	tokensAt int64

	mu       sync.Mutex
	closed   bool
	serverTx map[string]*sip.ServerTx // allocated on first use, nil again when empty
	clientTx map[string]*sip.ClientTx // allocated on first use, nil again when empty
}

func newFlow(s *Server, transport string, r *http.Request, ip string) *Flow {
	f := &Flow{
		srv:       s,
		id:        newFlowID(),
		transport: transport,
		source:    r.RemoteAddr,
		ip:        ip,
		raddr:     parseAddr(r.RemoteAddr),
		done:      make(chan struct{}),
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		f.laddr = a
	} else {
		f.laddr = &net.TCPAddr{}
	}
	f.log = s.log
	f.lastActive.Store(now())
	return f
}

// ID returns the flow's unique, unguessable token (16 URL-safe characters).
func (f *Flow) ID() string { return f.id }

// Transport returns "WS" or "WSS".
func (f *Flow) Transport() string { return f.transport }

// Source returns the remote address as "ip:port", the value of
// Message.Source() on everything received on this flow.
func (f *Flow) Source() string { return f.source }

// RemoteAddr returns the client's address.
func (f *Flow) RemoteAddr() net.Addr { return f.raddr }

// LocalAddr returns the local address the client connected to.
func (f *Flow) LocalAddr() net.Addr { return f.laddr }

// Done is closed when the flow has ended.
func (f *Flow) Done() <-chan struct{} { return f.done }

// String returns the flow id, transport and remote address.
func (f *Flow) String() string { return f.id + "/" + f.transport + "/" + f.source }

// Ref adds i to the reference count (sip.Connection) and returns the new
// count. References do not keep a flow open; the client and the keepalive
// decide its life.
func (f *Flow) Ref(i int) int { return int(f.refs.Add(int64(i))) }

// TryClose drops one reference (sip.Connection) and returns the remaining
// count. It never closes the flow.
func (f *Flow) TryClose() (int, error) { return int(f.refs.Add(-1)), nil }

// Close closes the WebSocket with code 1000 (sip.Connection). The flow ends
// when its reader has seen the close; watch Done.
func (f *Flow) Close() error {
	f.closeWith(websocket.StatusNormalClosure, "closed by sipedge", true)
	return nil
}

// WriteMsg serialises msg and sends it as one WebSocket message (a text
// frame, or a binary frame if the message is not valid UTF-8). Use it for
// what needs no transaction: ACK for a 2xx, stateless responses.
func (f *Flow) WriteMsg(msg sip.Message) error {
	buf := f.srv.getBuf()
	msg.StringWrite(buf)
	err := f.writeFrame(buf.Bytes())
	if buf.Cap() <= maxPooledBuf {
		f.srv.bufs.Put(buf)
	}
	return err
}

func (f *Flow) writeFrame(b []byte) error {
	select {
	case <-f.done:
		return ErrFlowClosed
	default:
	}
	typ := websocket.MessageText
	if !utf8.Valid(b) {
		typ = websocket.MessageBinary
	}
	ctx, cancel := f.srv.writeCtx()
	defer cancel()
	if f.srv.sent != nil && len(b) > len(crlfPong) {
		f.srv.sent.SentSIP(f, b) // before: the answer may be read before Write returns
	}
	if err := f.w.Write(ctx, typ, b); err != nil {
		return fmt.Errorf("%w: %w", ErrFlowClosed, err)
	}
	return nil
}

// Request starts a client transaction for req over this flow (like sipgo's
// Client.TransactionRequest, without adding headers: req must be complete,
// with our Via on top). It labels req with the flow's transport and
// destination. Responses arrive on tx.Responses(); if the flow ends first
// the transaction is terminated. ctx is only checked before sending.
func (f *Flow) Request(ctx context.Context, req *sip.Request) (sip.ClientTransaction, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req.IsAck() {
		return nil, ErrAck
	}
	key, err := sip.ClientTxKeyMake(req)
	if err != nil {
		return nil, fmt.Errorf("ws: %w", err)
	}
	req.SetTransport(f.transport)
	req.SetDestination(f.source)

	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, ErrFlowClosed
	}
	if _, ok := f.clientTx[key]; ok {
		f.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrTxExists, key)
	}
	if f.clientTx == nil {
		f.clientTx = make(map[string]*sip.ClientTx)
	}
	f.Ref(1) // released by the transaction's delete (TryClose)
	tx := sip.NewClientTx(key, req, f, f.log)
	f.clientTx[key] = tx
	tx.OnTerminate(func(key string, _ error) { f.dropClientTx(key, tx) })
	f.mu.Unlock()

	if err := tx.Init(); err != nil {
		tx.Terminate()
		return nil, err
	}
	return tx, nil
}

// TxCount returns the number of server and client transactions the flow
// currently tracks.
func (f *Flow) TxCount() (server, client int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.serverTx), len(f.clientTx)
}

func (f *Flow) dropClientTx(key string, tx *sip.ClientTx) {
	f.mu.Lock()
	if f.clientTx[key] == tx {
		delete(f.clientTx, key)
		if len(f.clientTx) == 0 {
			f.clientTx = nil // an idle flow holds no map
		}
	}
	f.mu.Unlock()
}

func (f *Flow) dropServerTx(key string, tx *sip.ServerTx) {
	f.mu.Lock()
	if f.serverTx[key] == tx {
		delete(f.serverTx, key)
		if len(f.serverTx) == 0 {
			f.serverTx = nil // an idle flow holds no map
		}
	}
	f.mu.Unlock()
}

// onPong is coder/websocket's pong callback.
func (f *Flow) onPong(context.Context, []byte) { f.lastActive.Store(now()) }

// closeWith closes the connection for the given reason unless it is already
// closing; the first reason is the one logged. With handshake the close frame
// is sent and the peer's awaited (in a Server goroutine, as that can take
// seconds); without it the TCP connection is dropped at once.
func (f *Flow) closeWith(code websocket.StatusCode, reason string, handshake bool) {
	if !f.cause.CompareAndSwap(nil, &closeCause{code: code, reason: reason}) {
		return
	}
	if !handshake {
		f.conn.CloseNow()
		return
	}
	// The closer is owned by the Server. While the flow is not closed its
	// reader is still counted in wg, so this Add cannot race a Wait that
	// has already seen zero.
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.srv.wg.Add(1)
	f.mu.Unlock()
	go func() {
		defer f.srv.wg.Done()
		f.conn.Close(code, reason)
	}()
}

// readLoop is the flow's only long-lived goroutine: it reads messages until
// the connection ends, then tears the flow down.
func (f *Flow) readLoop() {
	defer f.shutdown()
	ctx := context.Background()
	for {
		_, r, err := f.conn.Reader(ctx)
		if err != nil {
			f.readErr(err)
			return
		}
		buf := f.srv.getBuf()
		_, err = buf.ReadFrom(r)
		if err != nil {
			f.srv.bufs.Put(buf)
			f.readErr(err)
			return
		}
		t := now()
		f.lastActive.Store(t)
		switch {
		case f.cause.Load() != nil:
			// Closing: the close handshake needs this loop to read on
			// until the peer's close frame; what comes before it is dropped.
		case !f.allow(t):
			f.closeWith(websocket.StatusPolicyViolation, "message rate exceeded", true)
		default:
			f.handleMessage(buf.Bytes())
		}
		if buf.Cap() <= maxPooledBuf {
			f.srv.bufs.Put(buf)
		}
	}
}

// allow takes one message from the flow's budget: MaxMessageRate a second
// on average, bursts of twice that. t is Unix ns.
func (f *Flow) allow(t int64) bool {
	rate := float64(f.srv.cfg.MaxMessageRate)
	if f.tokensAt == 0 {
		f.tokens, f.tokensAt = 2*rate, t
	}
	f.tokens = min(2*rate, f.tokens+float64(t-f.tokensAt)/1e9*rate)
	f.tokensAt = t
	if f.tokens < 1 {
		return false
	}
	f.tokens--
	return true
}

// readErr records why reading stopped when sipedge did not close the flow.
func (f *Flow) readErr(err error) {
	switch {
	case errors.Is(err, websocket.ErrMessageTooBig):
		f.cause.CompareAndSwap(nil, &closeCause{code: websocket.StatusMessageTooBig, reason: "message too big"})
	case websocket.CloseStatus(err) != -1:
		var ce websocket.CloseError
		errors.As(err, &ce)
		if f.cause.Load() == nil {
			f.log.Info("flow closed by peer", "flow", f.id, "src", f.source, "code", int(ce.Code), "code_name", ce.Code.String(), "reason", ce.Reason)
			f.cause.CompareAndSwap(nil, &closeCause{code: -1})
		}
	default:
		if f.cause.CompareAndSwap(nil, &closeCause{code: websocket.StatusAbnormalClosure, reason: "connection lost"}) {
			f.log.Debug("flow read error", "flow", f.id, "error", err)
		}
	}
}

// shutdown ends the flow: the connection, its transactions, its table entry,
// then the Handler's FlowClosed.
func (f *Flow) shutdown() {
	f.conn.CloseNow()
	f.mu.Lock()
	f.closed = true
	close(f.done)
	stx := make([]*sip.ServerTx, 0, len(f.serverTx))
	for _, tx := range f.serverTx {
		stx = append(stx, tx)
	}
	ctx := make([]*sip.ClientTx, 0, len(f.clientTx))
	for _, tx := range f.clientTx {
		ctx = append(ctx, tx)
	}
	f.mu.Unlock()
	for _, tx := range stx {
		tx.Terminate()
	}
	for _, tx := range ctx {
		tx.Terminate()
	}
	f.srv.remove(f)
	if c := f.cause.Load(); c != nil && c.code != -1 {
		f.log.Info("flow closed", "flow", f.id, "src", f.source, "code", int(c.code), "code_name", c.code.String(), "reason", c.reason)
	}
	if f.srv.h != nil {
		f.srv.h.FlowClosed(f)
	}
}

// maxPooledBuf keeps unusually large message buffers out of the pool.
const maxPooledBuf = 64 << 10
