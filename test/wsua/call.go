package wsua

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// End reasons reported by Call.EndReason.
const (
	EndByeSent        = "bye sent"
	EndByeReceived    = "bye received"
	EndConnectionLost = "connection lost"
)

// Call is one dialog of the UA, placed by Invite or received.
type Call struct {
	// CallID is the SIP Call-ID.
	CallID string
	// Outgoing is true for a call placed with Invite.
	Outgoing bool
	// LocalSDP is the SDP this UA sent (offer or answer).
	LocalSDP string
	// RemoteSDP is the SDP the far end sent (answer or offer).
	RemoteSDP string
	// Provisional lists the status codes of the 1xx responses received
	// (outgoing calls).
	Provisional []int
	// RouteSet is the dialog's route set (Route header values in the order
	// they are sent): the 2xx's Record-Route reversed for an outgoing call,
	// the INVITE's Record-Route as received for an incoming one.
	RouteSet []string
	// Target is the remote target (the far end's Contact URI).
	Target string
	// Invite is the INVITE that created the call (sent or received).
	Invite *sip.Request

	ua        *UA
	local     sip.Uri // our URI in From of our requests
	remote    sip.Uri // theirs, in To
	localTag  string
	remoteTag string
	target    sip.Uri
	ended     chan struct{}
	acked     chan struct{}
	ackOnce   sync.Once

	mu        sync.Mutex
	cseq      uint32
	reason    string
	reinvites int
	reoffers  []string
	reanswers []string // the 200s' SDP to re-INVITEs
}

func newCall(ua *UA, callID string, outgoing bool) *Call {
	return &Call{ua: ua, CallID: callID, Outgoing: outgoing, ended: make(chan struct{}), acked: make(chan struct{}), cseq: uint32(rand.IntN(10000)) + 1}
}

// Ended is closed when the call ended (BYE either way, connection lost).
func (c *Call) Ended() <-chan struct{} { return c.ended }

// EndReason returns one of the End* constants, or "" while the call lasts.
func (c *Call) EndReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// Reinvites returns how many in-dialog re-INVITEs this UA answered.
func (c *Call) Reinvites() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reinvites
}

// Tags returns the dialog's tags: this UA's and the far end's.
func (c *Call) Tags() (local, remote string) { return c.localTag, c.remoteTag }

// Reoffers returns the SDP offers of the re-INVITEs this UA received, in
// order (answered or not).
func (c *Call) Reoffers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.reoffers...)
}

// Reanswers returns the SDP answers this UA sent in its 200s to
// re-INVITEs, in order.
func (c *Call) Reanswers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.reanswers...)
}

// WaitAck waits for the ACK of an incoming call's 200 (an outgoing call
// is acknowledged by Invite itself).
func (c *Call) WaitAck(ctx context.Context) error {
	select {
	case <-c.acked:
		return nil
	case <-c.ended:
		return fmt.Errorf("%w before its ACK (%s)", ErrCallEnded, c.EndReason())
	case <-ctx.Done():
		return fmt.Errorf("wsua: waiting for ACK: %w", ctx.Err())
	}
}

// WaitEnded waits until the call ended and returns the reason.
func (c *Call) WaitEnded(ctx context.Context) (string, error) {
	select {
	case <-c.ended:
		return c.EndReason(), nil
	case <-ctx.Done():
		return "", fmt.Errorf("wsua: waiting for call end: %w", ctx.Err())
	}
}

func (c *Call) end(reason string) {
	c.mu.Lock()
	if c.reason != "" {
		c.mu.Unlock()
		return
	}
	c.reason = reason
	c.mu.Unlock()
	close(c.ended)
}

func (c *Call) isEnded() bool {
	select {
	case <-c.ended:
		return true
	default:
		return false
	}
}

// inDialog builds an in-dialog request (Request-URI = remote target, Route
// = route set) with CSeq seq, or the next local CSeq when seq is 0.
func (c *Call) inDialog(method sip.RequestMethod, seq uint32) (*sip.Request, string) {
	req := sip.NewRequest(method, c.target)
	via, branch := c.ua.newVia()
	req.AppendHeader(via)
	for _, r := range c.RouteSet {
		req.AppendHeader(sip.NewHeader("Route", r))
	}
	from := &sip.FromHeader{Address: c.local, Params: sip.NewParams()}
	from.Params.Add("tag", c.localTag)
	req.AppendHeader(from)
	to := &sip.ToHeader{Address: c.remote, Params: sip.NewParams()}
	to.Params.Add("tag", c.remoteTag)
	req.AppendHeader(to)
	callID := sip.CallIDHeader(c.CallID)
	req.AppendHeader(&callID)
	if seq == 0 {
		c.mu.Lock()
		c.cseq++
		seq = c.cseq
		c.mu.Unlock()
	}
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.SetBody(nil)
	return req, branch
}

// Bye hangs up: BYE along the route set, waiting for its final response.
func (c *Call) Bye(ctx context.Context) error {
	if c.isEnded() {
		return ErrCallEnded
	}
	req, branch := c.inDialog(sip.BYE, 0)
	res, err := c.ua.transact(ctx, req, branch, nil)
	c.end(EndByeSent)
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		return &StatusError{Method: "BYE", Code: res.StatusCode, Reason: res.Reason}
	}
	return nil
}

// Invite calls target (a SIP URI such as sip:1000@example.test) with the
// SDP offer. It answers one 401/407 challenge by re-sending the INVITE
// with CSeq+1 (same Call-ID and From tag, new branch), records the 1xx
// codes, ACKs a 2xx along the route set (Record-Route reversed) and
// returns the call. A final failure is a *StatusError (its ACK is sent).
func (u *UA) Invite(ctx context.Context, target, offer string) (*Call, error) {
	var to, aor sip.Uri
	if err := sip.ParseUri(target, &to); err != nil {
		return nil, fmt.Errorf("wsua: target %q: %w", target, err)
	}
	if err := sip.ParseUri(u.AOR(), &aor); err != nil {
		return nil, fmt.Errorf("wsua: aor: %w", err)
	}
	c := newCall(u, randHex(12), true)
	c.local, c.remote, c.localTag, c.LocalSDP = aor, to, sip.GenerateTagN(10), offer
	var challenge *sip.Response
	for attempt := 0; attempt < 2; attempt++ {
		req := sip.NewRequest(sip.INVITE, to)
		via, branch := u.newVia()
		req.AppendHeader(via)
		from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
		from.Params.Add("tag", c.localTag)
		req.AppendHeader(from)
		req.AppendHeader(&sip.ToHeader{Address: to, Params: sip.NewParams()})
		callID := sip.CallIDHeader(c.CallID)
		req.AppendHeader(&callID)
		c.mu.Lock()
		c.cseq++
		seq := c.cseq
		c.mu.Unlock()
		req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: sip.INVITE})
		mf := sip.MaxForwardsHeader(70)
		req.AppendHeader(&mf)
		req.AppendHeader(sip.NewHeader("Contact", "<"+u.contact.String()+";ob>"))
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.AppendHeader(sip.NewHeader("Allow", "INVITE,ACK,CANCEL,BYE,OPTIONS"))
		if challenge != nil {
			if err := u.authorize(req, challenge); err != nil {
				return nil, err
			}
		}
		req.SetBody([]byte(offer))
		c.Invite = req
		res, err := u.transact(ctx, req, branch, func(r *sip.Response) { c.Provisional = append(c.Provisional, r.StatusCode) })
		if err != nil {
			return nil, err
		}
		if res.StatusCode >= 300 {
			if err := u.ackNon2xx(ctx, req, res); err != nil {
				return nil, err
			}
			if (res.StatusCode == 401 || res.StatusCode == 407) && challenge == nil && u.cfg.Password != "" {
				challenge = res
				continue
			}
			return nil, &StatusError{Method: "INVITE", Code: res.StatusCode, Reason: res.Reason}
		}
		return c, u.established(ctx, c, req, res)
	}
	return nil, &StatusError{Method: "INVITE", Code: challenge.StatusCode, Reason: challenge.Reason}
}

// established records the dialog of a 2xx to our INVITE and sends the ACK.
func (u *UA) established(ctx context.Context, c *Call, req *sip.Request, res *sip.Response) error {
	c.remoteTag, _ = res.To().Params.Get("tag")
	c.target = req.Recipient
	if ct := res.Contact(); ct != nil {
		c.target = ct.Address
	}
	c.Target = c.target.String()
	rr := res.GetHeaders("Record-Route")
	for i := len(rr) - 1; i >= 0; i-- {
		c.RouteSet = append(c.RouteSet, rr[i].Value())
	}
	c.RemoteSDP = string(res.Body())
	u.mu.Lock()
	u.calls[c.CallID] = c
	u.mu.Unlock()
	ack, _ := c.inDialog(sip.ACK, req.CSeq().SeqNo)
	c.ackOnce.Do(func() { close(c.acked) })
	return u.write(ctx, ack)
}

// ackNon2xx sends the transaction ACK for a final failure (RFC 3261
// §17.1.1.3): same branch and Request-URI, To from the response.
func (u *UA) ackNon2xx(ctx context.Context, req *sip.Request, res *sip.Response) error {
	ack := sip.NewRequest(sip.ACK, req.Recipient)
	ack.AppendHeader(sip.HeaderClone(req.Via()))
	ack.AppendHeader(sip.HeaderClone(req.From()))
	ack.AppendHeader(sip.HeaderClone(res.To()))
	ack.AppendHeader(sip.HeaderClone(req.CallID()))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sip.ACK})
	mf := sip.MaxForwardsHeader(70)
	ack.AppendHeader(&mf)
	ack.SetBody(nil)
	return u.write(ctx, ack)
}

func (u *UA) respond(req *sip.Request, code int, reason, toTag string, body []byte, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, body)
	if toTag != "" {
		if to := res.To(); to != nil {
			to.Params.Add("tag", toTag)
		}
	}
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), u.cfg.Timeout)
	defer cancel()
	if err := u.write(ctx, res); err != nil {
		u.log.Debug("respond", "code", code, "error", err)
	}
}

func (u *UA) callOf(req *sip.Request) *Call {
	if req.CallID() == nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls[req.CallID().Value()]
}

// handleRequest answers a request from the gateway (reader goroutine).
func (u *UA) handleRequest(req *sip.Request) {
	if req.Via() == nil || req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil {
		u.log.Debug("request without mandatory headers dropped", "method", req.Method)
		return
	}
	toTag, _ := req.To().Params.Get("tag")
	switch {
	case req.Method == sip.INVITE && toTag == "":
		u.wg.Add(1) // the reader holds a count, so Close cannot be waiting at zero
		go func() {
			defer u.wg.Done()
			u.answerInvite(req)
		}()
	case req.Method == sip.INVITE:
		c := u.callOf(req)
		if c == nil || c.isEnded() {
			u.respond(req, 481, "Call/Transaction Does Not Exist", "", nil)
			return
		}
		u.answerReinvite(c, req)
	case req.Method == sip.ACK:
		if c := u.callOf(req); c != nil {
			c.ackOnce.Do(func() { close(c.acked) })
		}
	case req.Method == sip.BYE:
		c := u.callOf(req)
		if c == nil || c.isEnded() {
			u.respond(req, 481, "Call/Transaction Does Not Exist", "", nil)
			return
		}
		u.respond(req, 200, "OK", "", nil)
		c.end(EndByeReceived)
	case req.Method == sip.OPTIONS, req.Method == sip.CANCEL:
		u.respond(req, 200, "OK", "", nil)
	default:
		u.respond(req, 405, "Method Not Allowed", "", nil)
	}
}

// answerInvite answers a new incoming INVITE: 180, then 200 with
// Config.Answer's SDP (488 without it).
func (u *UA) answerInvite(req *sip.Request) {
	tag := sip.GenerateTagN(10)
	contact := sip.NewHeader("Contact", "<"+u.contact.String()+";ob>")
	u.respond(req, 180, "Ringing", tag, nil, contact)
	offer := string(req.Body())
	if u.cfg.Answer == nil {
		u.respond(req, 488, "Not Acceptable Here", tag, nil)
		return
	}
	answer, err := u.cfg.Answer(offer)
	if err != nil {
		u.log.Debug("answer callback", "error", err)
		u.respond(req, 488, "Not Acceptable Here", tag, nil)
		return
	}
	c := newCall(u, req.CallID().Value(), false)
	c.Invite, c.RemoteSDP, c.LocalSDP = req, offer, answer
	c.local, c.remote = req.To().Address, req.From().Address
	c.localTag = tag
	c.remoteTag, _ = req.From().Params.Get("tag")
	c.target = req.From().Address
	if ct := req.Contact(); ct != nil {
		c.target = ct.Address
	}
	c.Target = c.target.String()
	for _, rr := range req.GetHeaders("Record-Route") {
		c.RouteSet = append(c.RouteSet, rr.Value())
	}
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return
	}
	u.calls[c.CallID] = c
	u.mu.Unlock()
	u.respond(req, 200, "OK", tag, []byte(answer), contact, sip.NewHeader("Content-Type", "application/sdp"))
	select {
	case u.incoming <- c:
	default:
		u.log.Warn("incoming call channel full", "call_id", c.CallID)
	}
}

// answerReinvite answers an in-dialog re-INVITE: 200 with Config.Reanswer's
// SDP (or the previous answer), 488 when Reanswer fails. The re-INVITE is
// counted before its 200 leaves.
func (u *UA) answerReinvite(c *Call, req *sip.Request) {
	offer := string(req.Body())
	c.mu.Lock()
	c.reoffers = append(c.reoffers, offer)
	answer := c.LocalSDP
	if n := len(c.reanswers); n > 0 {
		answer = c.reanswers[n-1]
	}
	c.mu.Unlock()
	if u.cfg.Reanswer != nil && offer != "" {
		a, err := u.cfg.Reanswer(offer)
		if err != nil {
			u.log.Debug("reanswer callback", "error", err)
			u.respond(req, 488, "Not Acceptable Here", "", nil)
			return
		}
		answer = a
	}
	c.mu.Lock()
	c.reinvites++
	c.reanswers = append(c.reanswers, answer)
	c.mu.Unlock()
	contact := sip.NewHeader("Contact", "<"+u.contact.String()+";ob>")
	u.respond(req, 200, "OK", "", []byte(answer), contact, sip.NewHeader("Content-Type", "application/sdp"))
}

// Request sends an in-dialog request (INFO, MESSAGE, OPTIONS, ...) with a
// body of content type ctype (no body when empty) along the route set and
// returns its final response.
func (c *Call) Request(ctx context.Context, method sip.RequestMethod, ctype string, body []byte) (*sip.Response, error) {
	if c.isEnded() {
		return nil, ErrCallEnded
	}
	req, branch := c.inDialog(method, 0)
	if len(body) > 0 {
		req.AppendHeader(sip.NewHeader("Content-Type", ctype))
		req.SetBody(body)
	}
	return c.ua.transact(ctx, req, branch, nil)
}

// Reinvite sends an in-dialog re-INVITE with offer (hold, resume) along
// the route set, ACKs its final response and returns it; a 2xx's SDP is
// the answer. A failure status is returned as the response, not an error.
func (c *Call) Reinvite(ctx context.Context, offer string) (*sip.Response, error) {
	if c.isEnded() {
		return nil, ErrCallEnded
	}
	req, branch := c.inDialog(sip.INVITE, 0)
	req.AppendHeader(sip.NewHeader("Contact", "<"+c.ua.contact.String()+";ob>"))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody([]byte(offer))
	res, err := c.ua.transact(ctx, req, branch, nil)
	if err != nil {
		return nil, err
	}
	if res.StatusCode >= 300 {
		return res, c.ua.ackNon2xx(ctx, req, res)
	}
	ack, _ := c.inDialog(sip.ACK, req.CSeq().SeqNo)
	return res, c.ua.write(ctx, ack)
}
