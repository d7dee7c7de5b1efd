package gateway

import (
	"bytes"
	"net/netip"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Completed and accepted proxy transactions kept as bytes (issue 11 §7).
//
// sipgo keeps a forwarded request's transactions, with every parsed message
// they saw, for as long as they must absorb retransmissions: the server
// side of a non-INVITE (Timer J, 32 s over UDP), and both sides of an
// INVITE answered 2xx (Timers L and M, 32 s, RFC 6026). At 800 calls/s
// that was ~11 KB per call held 32 s, most of the live heap, and the
// collector's work. What those states do is small, so it is done here
// in bytes instead, for requests that came over UDP (over a reliable
// transport there are no retransmissions to absorb):
//
//   - the final answer to a forwarded non-INVITE (a BYE's 200) is written
//     raw, kept by request key in relayCaches.answers, and the server
//     transaction ends at once (statelessTx, answers.go); a retransmission
//     gets the same bytes, as the Completed state would send;
//   - after a 2xx to an INVITE went upstream, the INVITE's key is kept in
//     relayCaches.invites, and a retransmitted INVITE is absorbed (dropped,
//     RFC 6026 §7.1), as the Accepted state would;
//   - the 2xx as relayed upstream is kept in relayCaches.oks by our Via
//     branch, To tag and CSeq; a retransmission of it from downstream (the
//     callee did not get the ACK), which no longer matches a client
//     transaction, gets those same bytes upstream (media and topology
//     rewrites included), as the Accepted client transaction would pass it.
//
// sipgo's INVITE transactions then stay acceptedHold after the 2xx (Timers
// L and M), for the relays already under way. Each cache is bounded in
// bytes: under a rate that overflows one, the oldest entries go first and
// their retransmission window shrinks (a retransmitted BYE is then
// forwarded anew, a 2xx forwarded without its rewrites), instead of memory
// growing with the call rate.
const (
	// relayAnswerBytes bounds the answers to forwarded non-INVITE
	// requests: ~11,000 BYE 200s, 14 s of 800 calls/s.
	relayAnswerBytes = 8 << 20
	// acceptedInviteBytes bounds the keys of INVITEs answered 2xx.
	acceptedInviteBytes = 4 << 20
	// acceptedOKBytes bounds the relayed 2xx kept for retransmissions.
	acceptedOKBytes = 8 << 20
	// acceptedHold is how long sipgo keeps an INVITE's transactions
	// after its 2xx (Timers L and M) at most: T1.
	acceptedHold = 500 * time.Millisecond
	// heldResponse is what a 2xx kept parsed (not over UDP) is counted as.
	heldResponse = 4 << 10
)

// relayCaches are the byte-bounded stand-ins for completed and accepted
// proxy transactions. The zero value (nil caches) keeps nothing.
type relayCaches struct {
	answers *answerCache // final answers to forwarded non-INVITEs, by request key
	invites *answerCache // INVITEs answered 2xx: keys only
	oks     *answerCache // relayed 2xx, by okKey
}

func newRelayCaches() relayCaches {
	return relayCaches{
		answers: newAnswerCache(relayAnswerBytes, answerTTL),
		invites: newAnswerCache(acceptedInviteBytes, answerTTL),
		oks:     newAnswerCache(acceptedOKBytes, answerTTL),
	}
}

// relayTx returns the server transaction a forwarded request is answered
// on: for a non-INVITE over UDP one whose final answer goes out raw and is
// kept in relayCaches.answers (the transaction ends at once); tx otherwise.
func (g *Gateway) relayTx(req *sip.Request, tx sip.ServerTransaction) sip.ServerTransaction {
	if req.IsInvite() || g.relayed.answers == nil {
		return tx
	}
	return g.localTx(req, tx, g.relayed.answers)
}

// absorbAccepted reports whether INVITE req retransmits one answered 2xx
// within Timer L; its new transaction then ends without an answer.
func (g *Gateway) absorbAccepted(buf []byte, req *sip.Request, tx sip.ServerTransaction) bool {
	key, ok := txKey(buf, req)
	if !ok {
		return false
	}
	if _, hit := g.relayed.invites.entry(key, time.Now()); !hit {
		return false
	}
	tx.Terminate()
	return true
}

// okKey appends the key of a 2xx to an INVITE for relayCaches.oks: the
// top Via branch (ours, on the way back), the To tag and the CSeq number.
func okKey(buf []byte, res *sip.Response) ([]byte, bool) {
	via, to, cseq := res.Via(), res.To(), res.CSeq()
	if via == nil || to == nil || cseq == nil || cseq.MethodName != sip.INVITE || !res.IsSuccess() {
		return nil, false
	}
	branch, _ := via.Params.Get("branch")
	tag, _ := to.Params.Get("tag")
	buf = append(buf, "2xx "...)
	buf = append(buf, branch...)
	buf = append(buf, ' ')
	buf = append(buf, tag...)
	buf = append(buf, ' ')
	return appendUint(buf, int(cseq.SeqNo)), true
}

// rememberAccepted keeps what Timers L and M would: the INVITE's key (to
// absorb its retransmissions) and out, the 2xx res as relayed upstream
// (to relay res's retransmissions the same way). Called after each 2xx
// went upstream (a fork may bring several, each with its own key).
func (p *proxyTx) rememberAccepted(res, out *sip.Response) {
	c := p.g.relayed
	if c.invites == nil {
		return
	}
	var buf [256]byte
	now := time.Now()
	if key, ok := txKey(buf[:0], p.req); ok {
		c.invites.put(key, nil, netip.AddrPort{}, now)
	}
	key, ok := okKey(buf[:0], res)
	if !ok {
		return
	}
	if _, dup := c.oks.entry(key, now); dup {
		return // a retransmission relayed within acceptedHold
	}
	e := answerEntry{key: string(key), at: now.UnixNano()}
	if dst, err := netip.ParseAddrPort(out.Destination()); err == nil && !sip.IsReliable(out.Transport()) {
		pc, ok := packetConn(p.stx)
		if !ok {
			return
		}
		var b bytes.Buffer
		out.StringWrite(&b)
		e.res, e.dst, e.pc = b.Bytes(), dst, pc
	} else {
		stx, ok := p.stx.(interface{ Connection() sip.Connection })
		if !ok {
			return
		}
		conn := stx.Connection()
		e.resend = func() error { return conn.WriteMsg(out) }
		e.held = heldResponse
	}
	c.oks.putEntry(e, now)
}

// resendAccepted relays res upstream again if it retransmits a 2xx kept by
// rememberAccepted, and reports whether it did.
func (g *Gateway) resendAccepted(res *sip.Response) bool {
	var buf [256]byte
	key, ok := okKey(buf[:0], res)
	if !ok {
		return false
	}
	e, hit := g.relayed.oks.entry(key, time.Now())
	if !hit {
		return false
	}
	var err error
	if e.resend != nil {
		err = e.resend()
	} else {
		err = writePacket(e.pc, e.res, e.dst)
	}
	if err != nil {
		g.log.Debug("retransmitted 2xx not relayed", "call_id", callID(res), "error", err)
	}
	return true
}
