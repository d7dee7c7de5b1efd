package gateway

import (
	"context"
	"fmt"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/trunk"
)

// maxTrunkAuth bounds the challenges one branch answers.
const maxTrunkAuth = 2

// trunkOf is the trunk a branch's target belongs to: set by the trunk:NAME
// expansion, or found by address for an in-dialog request.
func (b *branch) trunkOf() string {
	if b.tgt.Trunk != "" || b.tgt.Flow != "" {
		return b.tgt.Trunk
	}
	name, _ := b.p.g.rules().trunks.source(b.tgt.Addr)
	return name
}

// reauth answers a trunk's 401/407 to this branch with the trunk's
// credentials: the request again with a new Via branch, the next CSeq and
// the Authorization, as a new client transaction that replaces the old
// one (so a CANCEL matches the authenticated INVITE). It reports false,
// and the challenge goes the usual way, when the target is no trunk, the
// trunk has no credentials for it, the nonce was already answered (not
// stale), the caller cancelled, or the branch answered enough challenges.
func (b *branch) reauth(ctx context.Context, res *sip.Response) (sip.ClientTransaction, bool) {
	if res.StatusCode != sip.StatusUnauthorized && res.StatusCode != sip.StatusProxyAuthRequired {
		return nil, false
	}
	p, g := b.p, b.p.g
	name := b.trunkOf()
	if name == "" {
		return nil, false
	}
	log := g.log.With("call_id", callID(p.req), "trunk", name)
	ch, err := trunk.ParseChallenge(res)
	if err != nil {
		log.Warn("trunk challenge not answered", "error", err)
		return nil, false
	}
	b.mu.Lock()
	seen := b.nonces[ch.Nonce()] && !ch.Stale()
	rounds := len(b.nonces)
	prev := b.req
	b.mu.Unlock()
	if seen || rounds >= maxTrunkAuth {
		log.Warn("trunk refuses its credentials", "code", res.StatusCode, "error", trunk.ErrAuthRejected)
		return nil, false
	}
	p.mu.Lock()
	canceled := p.canceled
	p.mu.Unlock()
	if canceled {
		return nil, false
	}
	out, err := g.transportOf(b.tgt)
	if err != nil {
		return nil, false
	}
	via, ok := g.self.Via(out, p.hash)
	if !ok {
		return nil, false
	}
	req := prev.Clone()    // headers cloned too
	req.ReplaceHeader(via) // the top Via: ours, with a new branch
	cseq := prev.CSeq()
	req.ReplaceHeader(&sip.CSeqHeader{SeqNo: cseq.SeqNo + 1, MethodName: cseq.MethodName})
	if err := trunk.CredentialsOf(g.rules().trunks.cfg[name]).Authorize(req, ch); err != nil {
		log.Warn("trunk challenge not answered", "error", err)
		return nil, false
	}
	g.address(req, b.tgt, out)
	tx, err := g.startBranch(ctx, req, b.tgt)
	if err != nil {
		log.Debug("authenticated request not sent", "error", err)
		return nil, false
	}
	b.mu.Lock()
	if b.nonces == nil {
		b.nonces = map[string]bool{}
	}
	b.nonces[ch.Nonce()] = true
	b.req = req
	b.cseqShift++
	b.provisional = false
	b.mu.Unlock()
	if !p.initial {
		g.dialogs.AddCallerShift(callID(p.req), fromTag(p.req), toTag(p.req), 1)
	}
	return tx, true
}

// shiftCSeq adds to the CSeq of an in-dialog request (fwd, a working copy
// or an ACK forwarded in place) what the dialog's earlier challenges
// added, so the callee sees increasing CSeqs and an ACK matching its
// INVITE. Responses are given the caller's CSeq back (proxyTx.upstream).
func (g *Gateway) shiftCSeq(fwd *sip.Request) {
	n := g.dialogs.CallerShift(callID(fwd), fromTag(fwd), toTag(fwd))
	if n == 0 {
		return
	}
	c := fwd.CSeq()
	fwd.ReplaceHeader(&sip.CSeqHeader{SeqNo: c.SeqNo + n, MethodName: c.MethodName})
}

// restoreCSeq gives a response relayed upstream the CSeq of the request it
// answers, when a trunk challenge made the one sent downstream differ.
func (p *proxyTx) restoreCSeq(out *sip.Response) {
	want := p.req.CSeq()
	if c := out.CSeq(); c == nil || want == nil || c.SeqNo == want.SeqNo {
		return
	}
	out.ReplaceHeader(&sip.CSeqHeader{SeqNo: want.SeqNo, MethodName: want.MethodName})
}

// callerID rewrites the From user of an initial request toward trunk name
// to its from_user, and asserts it (P-Asserted-Identity).
func (g *Gateway) callerID(r *sip.Request, name string) {
	fu := g.rules().trunks.cfg[name].FromUser
	if fu == "" {
		return
	}
	from := r.From()
	if from == nil {
		return
	}
	nf := sip.HeaderClone(from).(*sip.FromHeader)
	nf.Address.User = fu
	r.ReplaceHeader(nf)
	r.RemoveHeader("P-Asserted-Identity")
	r.AppendHeader(sip.NewHeader("P-Asserted-Identity", fmt.Sprintf("<sip:%s@%s>", fu, nf.Address.Host)))
}

// endTrunkCall frees the max_calls slot of an initial INVITE that no
// branch answered 2xx (the caller cancelled, every hop failed); an
// answered call keeps it until its BYE (inDialog).
func (p *proxyTx) endTrunkCall() {
	if !p.initial || !p.req.IsInvite() {
		return
	}
	p.mu.Lock()
	bs := append([]*branch(nil), p.branches...)
	p.mu.Unlock()
	for _, b := range bs {
		b.mu.Lock()
		ok := b.final != nil && b.final.IsSuccess()
		b.mu.Unlock()
		if ok {
			return
		}
	}
	p.g.trunks.slots.release(callID(p.req))
}
