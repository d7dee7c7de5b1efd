package gateway

import (
	"bytes"
	"net/netip"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/retrans"
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
	answers *retrans.Cache // final answers to forwarded non-INVITEs, by request key
	invites *retrans.Cache // INVITEs answered 2xx: keys only
	oks     *retrans.Cache // relayed 2xx, by retrans.OKKey
}

func newRelayCaches() relayCaches {
	return relayCaches{
		answers: retrans.New(relayAnswerBytes, retrans.TimerJ),
		invites: retrans.New(acceptedInviteBytes, retrans.TimerJ),
		oks:     retrans.New(acceptedOKBytes, retrans.TimerJ),
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
	key, ok := retrans.TxKey(buf, req)
	if !ok {
		return false
	}
	if _, hit := g.relayed.invites.Entry(key, time.Now()); !hit {
		return false
	}
	tx.Terminate()
	return true
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
	if key, ok := retrans.TxKey(buf[:0], p.req); ok {
		c.invites.Put(key, nil, netip.AddrPort{}, now)
	}
	key, ok := retrans.OKKey(buf[:0], res)
	if !ok {
		return
	}
	if _, dup := c.oks.Entry(key, now); dup {
		return // a retransmission relayed within acceptedHold
	}
	e := retrans.Entry{Key: string(key), At: now.UnixNano()}
	if dst, err := netip.ParseAddrPort(out.Destination()); err == nil && !sip.IsReliable(out.Transport()) {
		pc, ok := packetConn(p.stx)
		if !ok {
			return
		}
		var b bytes.Buffer
		out.StringWrite(&b)
		e.Res, e.Dst, e.PC = b.Bytes(), dst, pc
	} else {
		stx, ok := p.stx.(interface{ Connection() sip.Connection })
		if !ok {
			return
		}
		conn := stx.Connection()
		e.Resend = func() error { return conn.WriteMsg(out) }
		e.Held = heldResponse
	}
	c.oks.PutEntry(e, now)
}

// resendAccepted relays res upstream again if it retransmits a 2xx kept by
// rememberAccepted, and reports whether it did.
func (g *Gateway) resendAccepted(res *sip.Response) bool {
	var buf [256]byte
	key, ok := retrans.OKKey(buf[:0], res)
	if !ok {
		return false
	}
	e, hit := g.relayed.oks.Entry(key, time.Now())
	if !hit {
		return false
	}
	var err error
	if e.Resend != nil {
		err = e.Resend()
	} else {
		err = retrans.WritePacket(e.PC, e.Res, e.Dst)
	}
	if err != nil {
		g.log.Debug("retransmitted 2xx not relayed", "call_id", callID(res), "error", err)
	}
	return true
}
