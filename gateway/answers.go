package gateway

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/retrans"
)

// Stateless local answers (issue 11). sipgo makes a server transaction for
// every request before our handler runs, and a non-INVITE transaction over
// UDP that has answered stays in the Completed state for Timer J (64*T1,
// 32 s) only to answer retransmissions: about 4.5 KB per request, so a flood
// of unauthenticated REGISTERs grew memory by hundreds of megabytes. A final
// answer the gateway makes up itself for a non-INVITE request over UDP (a
// challenge, a refusal, a REGISTER's 200) is instead written straight to
// the socket, its bytes are kept in a retrans.Cache bounded in bytes, and the
// transaction ends at once. A retransmission (same top Via branch, sent-by,
// method and source) gets those same bytes again without re-running
// authentication or the registrar (RFC 3261 §17.2.2: the Completed state's
// job, done in bytes rather than a transaction). This matters for a REGISTER
// that succeeded: run again, its nonce-count would be a replay (403) and its
// CSeq not above the binding's (out of order).
//
// Two caches keep a flood from pushing out the answers that matter:
// authenticated answers (a REGISTER's 200) and everything else
// (challenges, refusals), each with its own byte budget. INVITE keeps its
// transaction: its non-2xx answer is retransmitted until the ACK, which the
// transaction absorbs.
const (
	// anonAnswerBytes bounds the cache of answers to requests that did not
	// authenticate (what a flood can fill): about 6,000 challenges.
	anonAnswerBytes = 4 << 20
	// authAnswerBytes bounds the cache of answers to authenticated
	// requests: about 24,000 REGISTER 200s, 32 s of 750 registrations/s.
	authAnswerBytes = 16 << 20
)

// packetConn returns the UDP socket of tx, if it has one.
func packetConn(tx sip.ServerTransaction) (retrans.PacketWriter, bool) {
	if d, ok := tx.(*datagramTx); ok {
		return d.pc, true
	}
	stx, ok := tx.(interface{ Connection() sip.Connection })
	if !ok {
		return nil, false
	}
	pw, ok := stx.Connection().(retrans.PacketWriter)
	return pw, ok
}

// answerRetransmission answers req from the caches if it retransmits a
// request answered statelessly, and reports whether it did; tx then ends.
func (g *Gateway) answerRetransmission(req *sip.Request, tx sip.ServerTransaction) bool {
	var buf [256]byte
	if req.Method == sip.INVITE {
		return g.absorbAccepted(buf[:0], req, tx)
	}
	key, ok := retrans.RequestKey(buf[:0], req)
	if !ok {
		return false
	}
	now := time.Now()
	res, dst, hit := g.authAnswers.Get(key, now)
	if !hit {
		res, dst, hit = g.anonAnswers.Get(key, now)
	}
	if !hit {
		res, dst, hit = g.relayed.answers.Get(key, now)
	}
	if !hit {
		return false
	}
	if pc, ok := packetConn(tx); ok {
		if err := retrans.WritePacket(pc, res, dst); err != nil {
			g.log.Debug("retransmitted answer not sent", "call_id", callID(req), "dst", dst.String(), "error", err)
		}
	}
	tx.Terminate()
	return true
}

// localTx returns the transaction to answer req on when the gateway makes
// the final answer itself: tx, or when req can be answered statelessly a
// statelessTx over it that keeps the answer in cache.
func (g *Gateway) localTx(req *sip.Request, tx sip.ServerTransaction, cache *retrans.Cache) sip.ServerTransaction {
	if tx == nil {
		return nil
	}
	key, ok := retrans.RequestKey(make([]byte, 0, 160), req)
	if !ok {
		return tx
	}
	pc, ok := packetConn(tx)
	if !ok {
		return tx
	}
	return &statelessTx{ServerTransaction: tx, g: g, key: key, pc: pc, cache: cache}
}

// statelessTx is a server transaction whose final answer is written
// straight to the UDP socket and kept in cache; the transaction under it
// ends as soon as the answer is out.
type statelessTx struct {
	sip.ServerTransaction
	g        *Gateway
	key      []byte
	pc       retrans.PacketWriter
	cache    *retrans.Cache
	answered atomic.Bool // the final answer went out raw
}

// Err implements sip.Transaction: nil once the final answer went out
// raw (the transaction under it was ended on purpose, not failed).
func (t *statelessTx) Err() error {
	if t.answered.Load() {
		return nil
	}
	return t.ServerTransaction.Err()
}

var answerBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Respond implements sip.ServerTransaction. A provisional answer, one
// larger than a UDP datagram may be, or one whose destination is not an
// address goes through the transaction as usual.
func (t *statelessTx) Respond(res *sip.Response) error {
	dst, err := netip.ParseAddrPort(res.Destination())
	if res.IsProvisional() || err != nil {
		return t.ServerTransaction.Respond(res)
	}
	buf := answerBufs.Get().(*bytes.Buffer)
	buf.Reset()
	res.StringWrite(buf)
	if buf.Len() > sip.UDPMTUSize-200 {
		answerBufs.Put(buf)
		return t.ServerTransaction.Respond(res)
	}
	b := bytes.Clone(buf.Bytes())
	answerBufs.Put(buf)
	if !t.answered.CompareAndSwap(false, true) {
		return nil // a final answer went out already (a second 2xx of a fork)
	}
	t.cache.Put(t.key, b, dst, time.Now())
	err = retrans.WritePacket(t.pc, b, dst)
	t.ServerTransaction.Terminate()
	return err
}

// answerDatagram serves a REGISTER addressed to us (no Route) that arrived
// on the UDP socket pc from src, on the socket's reader, without sipgo's
// transport and transaction layers: its answer is always local and
// stateless, so the transaction sipgo would make (a key, a store entry, a
// goroutine, a context with a timer) would only be thrown away. It
// reports whether it took the datagram; anything else (another method, a
// REGISTER to forward, one sipgo's parser refuses) goes on to sipgo.
func (g *Gateway) answerDatagram(data []byte, src net.Addr, pc net.PacketConn) bool {
	if !bytes.HasPrefix(data, []byte("REGISTER ")) {
		return false
	}
	msg, err := g.parser.ParseSIP(data)
	if err != nil {
		return false
	}
	req, ok := msg.(*sip.Request)
	if !ok || req.Method != sip.REGISTER || hasHeader(req, "Route", "") {
		return false
	}
	req.SetTransport("UDP")
	req.SetSource(src.String())
	tx := &datagramTx{pc: pc}
	// Up to cap(regSlots) REGISTERs run beside the reader, as sipgo runs
	// every request on a goroutine of its own; when all are busy the
	// reader serves this one itself and reads nothing meanwhile, so a
	// flood backs up into the socket's buffer, not into goroutines.
	select {
	case g.regSlots <- struct{}{}:
		if g.bg.Go(func() {
			defer func() { <-g.regSlots }()
			g.regHandler(req, tx)
		}) {
			return true
		}
		<-g.regSlots
	default:
	}
	g.regHandler(req, tx)
	return true
}

// hasHeader reports whether req has a header called name (or its compact
// form), without sipgo's lookups that allocate per header walked.
func hasHeader(req *sip.Request, name, compact string) bool {
	for _, h := range req.Headers() {
		if n := h.Name(); strings.EqualFold(n, name) || compact != "" && strings.EqualFold(n, compact) {
			return true
		}
	}
	return false
}

// datagramTx is the server transaction of a request taken by
// answerDatagram: nothing but the socket its answer is written to. It has
// no state and no lifetime (Done is closed, OnTerminate and OnCancel
// report it already over).
type datagramTx struct {
	pc net.PacketConn
}

// Respond implements sip.ServerTransaction: it writes res to its
// destination.
func (t *datagramTx) Respond(res *sip.Response) error {
	dst, err := netip.ParseAddrPort(res.Destination())
	if err != nil {
		return err
	}
	buf := answerBufs.Get().(*bytes.Buffer)
	defer answerBufs.Put(buf)
	buf.Reset()
	res.StringWrite(buf)
	return retrans.WritePacket(t.pc, buf.Bytes(), dst)
}

// Terminate implements sip.Transaction (there is nothing to end).
func (t *datagramTx) Terminate() {}

// OnTerminate implements sip.Transaction: already over.
func (t *datagramTx) OnTerminate(sip.FnTxTerminate) bool { return false }

// Done implements sip.Transaction: closed.
func (t *datagramTx) Done() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// Err implements sip.Transaction.
func (t *datagramTx) Err() error { return nil }

// Acks implements sip.ServerTransaction (a REGISTER has none).
func (t *datagramTx) Acks() <-chan *sip.Request { return nil }

// OnCancel implements sip.ServerTransaction: already over.
func (t *datagramTx) OnCancel(sip.FnTxCancel) bool { return false }
