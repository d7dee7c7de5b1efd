package rtpecho

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// ErrClosed is returned by UA methods after Close.
var ErrClosed = errors.New("rtpecho: user agent closed")

// End reasons reported by Call.EndReason.
const (
	EndByeReceived = "bye received"
	EndByeSent     = "bye sent"
	EndCancelled   = "cancelled"
	EndClosed      = "ua closed"
)

// Config shapes a UA.
type Config struct {
	// Addr is the UDP listen address. Default "127.0.0.1:0".
	Addr string
	// User is the user part of the UA's URI and Contact. Default "echo".
	User string
	// Media configures each call's RTP endpoint.
	Media MediaConfig
	// RingFor delays the 200 OK after the 180 Ringing (0: answer at once),
	// so a test can CANCEL the call.
	RingFor time.Duration
	// Challenge, if set, sees every initial INVITE first: a response it
	// returns (a provider's 401/407 digest challenge) is sent instead of
	// answering the call; nil lets the call in.
	Challenge func(req *sip.Request) *sip.Response
	// ChallengeReinvite, if set, does the same for every re-INVITE (a
	// provider demanding digest on in-dialog requests too).
	ChallengeReinvite func(req *sip.Request) *sip.Response
	// Log receives sipgo's and the UA's logs. Default: discard.
	Log *slog.Logger
}

// UA is a classic SIP user agent on UDP that answers every call with an
// echoing Media endpoint and can place calls.
type UA struct {
	cfg      Config
	log      *slog.Logger
	conn     net.PacketConn
	addr     string
	sua      *sipgo.UserAgent
	srv      *sipgo.Server
	cli      *sipgo.Client
	dua      *sipgo.DialogUA
	incoming chan *Call
	wg       sync.WaitGroup

	mu     sync.Mutex
	closed bool
	calls  map[string]*Call // by Call-ID
}

// Start listens on cfg.Addr (UDP) and serves calls until Close.
func Start(cfg Config) (*UA, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.User == "" {
		cfg.User = "echo"
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "rtpecho")
	conn, err := net.ListenPacket("udp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("rtpecho: listen sip: %w", err)
	}
	u := &UA{cfg: cfg, log: log, conn: conn, addr: conn.LocalAddr().String(), incoming: make(chan *Call, 16), calls: map[string]*Call{}}
	host, port, _ := net.SplitHostPort(u.addr)
	p, _ := strconv.Atoi(port)
	if u.sua, err = sipgo.NewUA(sipgo.WithUserAgent(cfg.User), sipgo.WithUserAgentHostname(host)); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("rtpecho: new ua: %w", err)
	}
	if u.srv, err = sipgo.NewServer(u.sua, sipgo.WithServerLogger(log)); err == nil {
		u.cli, err = sipgo.NewClient(u.sua, sipgo.WithClientLogger(log), sipgo.WithClientAddr(u.addr), sipgo.WithClientConnectionAddr(u.addr))
	}
	if err != nil {
		_ = u.sua.Close()
		_ = conn.Close()
		return nil, fmt.Errorf("rtpecho: %w", err)
	}
	u.dua = &sipgo.DialogUA{Client: u.cli, ContactHDR: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: cfg.User, Host: host, Port: p}}}
	u.srv.OnInvite(u.onInvite)
	u.srv.OnAck(u.onAck)
	u.srv.OnBye(u.onBye)
	u.srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		_ = u.srv.ServeUDP(conn) // returns when conn is closed
	}()
	// ServeUDP registers the listener in sipgo's pool from its goroutine;
	// requests we send must find it there to leave from our port.
	for i := 0; ; i++ {
		if c, err := u.sua.TransportLayer().GetConnection("udp", u.addr); err == nil && c != nil {
			return u, nil
		}
		if i == 2000 {
			_ = u.Close()
			return nil, errors.New("rtpecho: sip listener not ready after 2s")
		}
		time.Sleep(time.Millisecond) // bounded readiness poll of sipgo's pool
	}
}

// Addr returns the UA's SIP address "127.0.0.1:PORT".
func (u *UA) Addr() string { return u.addr }

// URI returns the UA's SIP URI "sip:USER@127.0.0.1:PORT".
func (u *UA) URI() string { return "sip:" + u.cfg.User + "@" + u.addr }

// WaitCall returns the next incoming call (once its INVITE arrived), or
// ctx's error.
func (u *UA) WaitCall(ctx context.Context) (*Call, error) {
	select {
	case c := <-u.incoming:
		return c, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("rtpecho: waiting for a call: %w", ctx.Err())
	}
}

// Calls returns every call the UA has seen, in no order.
func (u *UA) Calls() []*Call {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]*Call, 0, len(u.calls))
	for _, c := range u.calls {
		out = append(out, c)
	}
	return out
}

func (u *UA) call(callID string) *Call {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls[callID]
}

func (u *UA) addCall(c *Call) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return ErrClosed
	}
	u.calls[c.CallID] = c
	return nil
}

func (u *UA) respond(req *sip.Request, tx sip.ServerTransaction, code int, reason string) {
	if err := tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil)); err != nil {
		u.log.Debug("respond", "code", code, "error", err)
	}
}

func (u *UA) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	callID := ""
	if h := req.CallID(); h != nil {
		callID = h.Value()
	}
	if to := req.To(); to != nil {
		if tag, ok := to.Params.Get("tag"); ok && tag != "" {
			u.onReinvite(req, tx, callID)
			return
		}
	}
	if u.cfg.Challenge != nil {
		if res := u.cfg.Challenge(req); res != nil {
			if err := tx.Respond(res); err != nil {
				u.log.Debug("challenge", "error", err)
			}
			return
		}
	}
	m, err := NewMedia(u.cfg.Media)
	if err != nil {
		u.respond(req, tx, 500, "Server Internal Error")
		return
	}
	var body string
	lateOffer := len(req.Body()) == 0
	if lateOffer {
		body = m.Offer("")
	} else if body, err = m.Answer(string(req.Body())); err != nil {
		_ = m.Close()
		u.respond(req, tx, 488, "Not Acceptable Here")
		return
	}
	dss, err := u.dua.ReadInvite(req, tx)
	if err != nil {
		_ = m.Close()
		u.respond(req, tx, 400, "Bad Request")
		return
	}
	c := newCall(callID, false, m)
	c.srv, c.lateOffer = dss, lateOffer
	if err := u.addCall(c); err != nil {
		_ = m.Close()
		u.respond(req, tx, 503, "Service Unavailable")
		return
	}
	select {
	case u.incoming <- c:
	default:
		u.log.Warn("incoming call channel full", "call_id", callID)
	}
	_ = dss.Respond(180, "Ringing", nil)
	if u.cfg.RingFor > 0 {
		select {
		case <-time.After(u.cfg.RingFor):
		case <-dss.Context().Done(): // CANCEL (sipgo answers 487) or tx gone
			c.end(EndCancelled)
			return
		}
	}
	if err := dss.Respond(200, "OK", []byte(body), sip.NewHeader("Content-Type", "application/sdp")); err != nil {
		u.log.Debug("200 OK", "call_id", callID, "error", err)
		c.end(EndCancelled)
	}
}

func (u *UA) onReinvite(req *sip.Request, tx sip.ServerTransaction, callID string) {
	c := u.call(callID)
	if c == nil || c.isEnded() {
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	if u.cfg.ChallengeReinvite != nil {
		if res := u.cfg.ChallengeReinvite(req); res != nil {
			if err := tx.Respond(res); err != nil {
				u.log.Debug("challenge", "error", err)
			}
			return
		}
	}
	var body string
	var err error
	if len(req.Body()) == 0 {
		body = c.Media.Offer(c.Media.Direction())
	} else if body, err = c.Media.Answer(string(req.Body())); err != nil {
		u.respond(req, tx, 488, "Not Acceptable Here")
		return
	}
	c.mu.Lock() // counted before the 200 leaves, so the far end sees it counted
	c.reinvites++
	c.mu.Unlock()
	res := sip.NewSDPResponseFromRequest(req, []byte(body))
	contact := u.dua.ContactHDR
	res.AppendHeader(&contact)
	if err := tx.Respond(res); err != nil {
		u.log.Debug("re-INVITE 200", "call_id", callID, "error", err)
	}
}

func (u *UA) onAck(req *sip.Request, tx sip.ServerTransaction) {
	callID := ""
	if h := req.CallID(); h != nil {
		callID = h.Value()
	}
	c := u.call(callID)
	if c == nil {
		return
	}
	if c.srv != nil {
		_ = c.srv.ReadAck(req, tx) // a re-INVITE's ACK has another CSeq: fine
	}
	c.mu.Lock()
	late := c.lateOffer && !c.acked
	c.acked = true
	c.mu.Unlock()
	if late && len(req.Body()) > 0 {
		if err := c.Media.SetAnswer(string(req.Body())); err != nil {
			u.log.Debug("late answer", "call_id", callID, "error", err)
		}
	}
	c.ackOnce.Do(func() { close(c.ackCh) })
}

func (u *UA) onBye(req *sip.Request, tx sip.ServerTransaction) {
	callID := ""
	if h := req.CallID(); h != nil {
		callID = h.Value()
	}
	c := u.call(callID)
	if c == nil || c.isEnded() {
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	c.mu.Lock()
	c.bye = req
	c.mu.Unlock()
	var err error
	switch {
	case c.srv != nil:
		err = c.srv.ReadBye(req, tx)
	case c.cli != nil:
		err = c.cli.ReadBye(req, tx)
	}
	if err != nil {
		u.respond(req, tx, 200, "OK")
	}
	c.end(EndByeReceived)
}

// CallParams describe an outgoing call.
type CallParams struct {
	// To is the callee's URI (the Request-URI and To), e.g.
	// "sip:alice@example.test". Required.
	To string
	// Proxy is the "host:port" the INVITE is sent to (outbound proxy);
	// empty sends it to the To URI's host.
	Proxy string
	// Username and Password answer a 401/407 challenge, if any.
	Username, Password string
	// Offer is the SDP offer; empty uses the call's Media.Offer("").
	Offer string
}

// Call places a call: INVITE with a plain RTP offer (through p.Proxy),
// digest authentication when challenged, ACK on the 2xx. It returns the
// established call, or an error with the final failure status (see
// sipgo.ErrDialogResponse).
func (u *UA) Call(ctx context.Context, p CallParams) (*Call, error) {
	var to sip.Uri
	if err := sip.ParseUri(p.To, &to); err != nil {
		return nil, fmt.Errorf("rtpecho: call to %q: %w", p.To, err)
	}
	m, err := NewMedia(u.cfg.Media)
	if err != nil {
		return nil, err
	}
	offer := p.Offer
	if offer == "" {
		offer = m.Offer("")
	}
	req := sip.NewRequest(sip.INVITE, to)
	req.SetBody([]byte(offer))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: u.cfg.User, Host: u.dua.ContactHDR.Address.Host}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	if p.Proxy != "" {
		req.SetDestination(p.Proxy)
	}
	dcs, err := u.dua.WriteInvite(ctx, req)
	if err != nil {
		_ = m.Close()
		return nil, fmt.Errorf("rtpecho: invite: %w", err)
	}
	if err := dcs.WaitAnswer(ctx, sipgo.AnswerOptions{Username: p.Username, Password: p.Password}); err != nil {
		_ = m.Close()
		_ = dcs.Close()
		return nil, fmt.Errorf("rtpecho: invite %s: %w", p.To, err)
	}
	c := newCall(dcs.InviteRequest.CallID().Value(), true, m)
	c.cli = dcs
	c.acked = true
	c.ackOnce.Do(func() { close(c.ackCh) })
	if err := u.addCall(c); err != nil {
		_ = m.Close()
		return nil, err
	}
	if err := m.SetAnswer(string(dcs.InviteResponse.Body())); err != nil {
		u.log.Debug("answer sdp", "call_id", c.CallID, "error", err)
	}
	if err := dcs.Ack(ctx); err != nil {
		return c, fmt.Errorf("rtpecho: ack: %w", err)
	}
	return c, nil
}

// Close ends every call without signalling (their Ended channels close
// with EndClosed), stops the server and waits for it. It is idempotent.
func (u *UA) Close() error {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return nil
	}
	u.closed = true
	calls := make([]*Call, 0, len(u.calls))
	for _, c := range u.calls {
		calls = append(calls, c)
	}
	u.mu.Unlock()
	for _, c := range calls {
		c.end(EndClosed)
	}
	err := u.conn.Close()
	_ = u.sua.Close()
	u.wg.Wait()
	return err
}
