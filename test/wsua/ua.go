package wsua

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Config shapes a UA.
type Config struct {
	// URL is the gateway's WebSocket URL, ws://HOST:PORT/PATH or wss://...
	URL string
	// TLS is used for wss:// (e.g. RootCAs with the test CA). Optional.
	TLS *tls.Config
	// Origin is sent as the Origin header when not empty.
	Origin string
	// User and Domain form the AOR sip:User@Domain.
	User, Domain string
	// Password answers digest challenges.
	Password string
	// Answer makes the SDP answer for an incoming INVITE's offer; nil or an
	// error rejects the call with 488.
	Answer func(offer string) (string, error)
	// Reanswer makes the SDP answer for an in-dialog re-INVITE's offer
	// (hold, resume, ICE restart); nil answers with the call's previous
	// answer. An error rejects the re-INVITE with 488.
	Reanswer func(offer string) (string, error)
	// Timeout bounds each request's wait for its final response when the
	// caller's context has no earlier deadline. Default 5s.
	Timeout time.Duration
	// Log receives debug logs. Default: discard.
	Log *slog.Logger
}

// UA is a SIP user agent on one WebSocket connection.
type UA struct {
	cfg       Config
	log       *slog.Logger
	conn      *websocket.Conn
	transport string // "WSS" or "WS" in Via
	host      string // random .invalid host of Via and Contact
	contact   sip.Uri
	instance  string
	source    string // the gateway's host:port, for parsed messages
	parser    *sip.Parser
	done      chan struct{}
	wg        sync.WaitGroup

	writeMu sync.Mutex

	mu        sync.Mutex
	closed    bool
	pending   map[string]chan *sip.Response // by Via branch
	calls     map[string]*Call              // by Call-ID
	incoming  chan *Call
	regCallID string
	regCSeq   uint32
}

// Dial connects to cfg.URL with subprotocol "sip" and starts the reader.
func Dial(ctx context.Context, cfg Config) (*UA, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("wsua: url %q: %w", cfg.URL, err)
	}
	transport := "WS"
	opts := &websocket.DialOptions{Subprotocols: []string{"sip"}, HTTPHeader: http.Header{}}
	switch u.Scheme {
	case "ws":
	case "wss":
		transport = "WSS"
		opts.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: cfg.TLS}}
	default:
		return nil, fmt.Errorf("wsua: url %q: scheme must be ws or wss", cfg.URL)
	}
	if cfg.Origin != "" {
		opts.HTTPHeader.Set("Origin", cfg.Origin)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	conn, _, err := websocket.Dial(ctx, cfg.URL, opts)
	if err != nil {
		return nil, fmt.Errorf("wsua: dial %s: %w", cfg.URL, err)
	}
	if conn.Subprotocol() != "sip" {
		conn.CloseNow()
		return nil, fmt.Errorf("wsua: server did not select subprotocol sip (got %q)", conn.Subprotocol())
	}
	conn.SetReadLimit(1 << 20)
	ua := &UA{
		cfg: cfg, log: log.With("component", "wsua"), conn: conn, transport: transport,
		host: randHex(6) + ".invalid", instance: uuid(), source: u.Host,
		parser: sip.NewParser(), done: make(chan struct{}),
		pending: map[string]chan *sip.Response{}, calls: map[string]*Call{}, incoming: make(chan *Call, 8),
		regCallID: randHex(10),
	}
	ua.contact = sip.Uri{Scheme: "sip", User: randHex(4), Host: ua.host, UriParams: sip.NewParams()}
	ua.contact.UriParams.Add("transport", "ws")
	ua.wg.Add(1)
	go ua.read()
	return ua, nil
}

// AOR returns the UA's address of record, sip:User@Domain.
func (u *UA) AOR() string { return "sip:" + u.cfg.User + "@" + u.cfg.Domain }

// Contact returns the UA's Contact URI (sip:x@y.invalid;transport=ws).
func (u *UA) Contact() string { return u.contact.String() }

// Instance returns the UA's +sip.instance URN.
func (u *UA) Instance() string { return "<urn:uuid:" + u.instance + ">" }

// Done is closed when the connection is gone (Close or peer close).
func (u *UA) Done() <-chan struct{} { return u.done }

func (u *UA) read() {
	defer u.wg.Done()
	defer u.shutdown()
	for {
		_, data, err := u.conn.Read(context.Background())
		if err != nil {
			u.log.Debug("read ends", "error", err)
			return
		}
		msg, err := u.parser.ParseSIP(data)
		if err != nil {
			u.log.Debug("unparsable message", "error", err)
			continue
		}
		msg.SetSource(u.source)
		switch m := msg.(type) {
		case *sip.Response:
			u.dispatch(m)
		case *sip.Request:
			u.handleRequest(m)
		}
	}
}

// shutdown marks the UA closed, ends waiters and calls; the reader runs it
// once on its way out.
func (u *UA) shutdown() {
	u.mu.Lock()
	u.closed = true
	calls := make([]*Call, 0, len(u.calls))
	for _, c := range u.calls {
		calls = append(calls, c)
	}
	u.mu.Unlock()
	close(u.done)
	for _, c := range calls {
		c.end(EndConnectionLost)
	}
}

func (u *UA) dispatch(res *sip.Response) {
	via := res.Via()
	if via == nil {
		return
	}
	branch, _ := via.Params.Get("branch")
	u.mu.Lock()
	ch := u.pending[branch]
	u.mu.Unlock()
	if ch == nil {
		u.log.Debug("response without a waiter", "status", res.StatusCode, "branch", branch)
		return
	}
	select {
	case ch <- res:
	default:
		u.log.Debug("response dropped: waiter busy", "status", res.StatusCode)
	}
}

func (u *UA) write(ctx context.Context, m sip.Message) error {
	u.writeMu.Lock()
	defer u.writeMu.Unlock()
	select {
	case <-u.done:
		return ErrClosed
	default:
	}
	if err := u.conn.Write(ctx, websocket.MessageText, []byte(m.String())); err != nil {
		return fmt.Errorf("wsua: write: %w", err)
	}
	return nil
}

// newVia returns a Via for this UA with a fresh branch.
func (u *UA) newVia() (*sip.ViaHeader, string) {
	branch := sip.GenerateBranch()
	p := sip.NewParams()
	p.Add("branch", branch)
	p.Add("rport", "")
	return &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: u.transport, Host: u.host, Params: p}, branch
}

// transact sends req (which must carry a Via from newVia with branch) and
// returns its final response; provisional responses go to onProvisional.
func (u *UA) transact(ctx context.Context, req *sip.Request, branch string, onProvisional func(*sip.Response)) (*sip.Response, error) {
	ch := make(chan *sip.Response, 16)
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return nil, ErrClosed
	}
	u.pending[branch] = ch
	u.mu.Unlock()
	defer func() {
		u.mu.Lock()
		delete(u.pending, branch)
		u.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(ctx, u.cfg.Timeout)
	defer cancel()
	if err := u.write(ctx, req); err != nil {
		return nil, err
	}
	for {
		select {
		case res := <-ch:
			if res.StatusCode < 200 {
				if onProvisional != nil {
					onProvisional(res)
				}
				continue
			}
			return res, nil
		case <-u.done:
			return nil, ErrClosed
		case <-ctx.Done():
			return nil, fmt.Errorf("wsua: %s: no final response: %w", req.Method, ctx.Err())
		}
	}
}

// authorize adds Authorization or Proxy-Authorization to req for the
// challenge in res (401 or 407).
func (u *UA) authorize(req *sip.Request, res *sip.Response) error {
	hdr, out := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		hdr, out = "Proxy-Authenticate", "Proxy-Authorization"
	}
	for _, h := range res.GetHeaders(hdr) {
		ch, err := digest.ParseChallenge(h.Value())
		if err != nil {
			continue
		}
		cred, err := digest.Digest(ch, digest.Options{Method: string(req.Method), URI: req.Recipient.String(), Username: u.cfg.User, Password: u.cfg.Password, Count: 1})
		if err != nil {
			continue
		}
		req.RemoveHeader(out)
		req.AppendHeader(sip.NewHeader(out, cred.String()))
		return nil
	}
	return ErrNoChallenge
}

// Register sends REGISTER for the AOR binding this UA's Contact (with
// +sip.instance and reg-id=1) for expires seconds (0 unregisters),
// answering one digest challenge. It returns the 200 OK.
func (u *UA) Register(ctx context.Context, expires int) (*sip.Response, error) {
	var aor sip.Uri
	if err := sip.ParseUri(u.AOR(), &aor); err != nil {
		return nil, fmt.Errorf("wsua: aor: %w", err)
	}
	fromTag := sip.GenerateTagN(10)
	var auth *sip.Response
	for attempt := 0; attempt < 2; attempt++ {
		req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: u.cfg.Domain})
		via, branch := u.newVia()
		req.AppendHeader(via)
		from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
		from.Params.Add("tag", fromTag)
		req.AppendHeader(from)
		req.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
		callID := sip.CallIDHeader(u.regCallID)
		req.AppendHeader(&callID)
		u.mu.Lock()
		u.regCSeq++
		seq := u.regCSeq
		u.mu.Unlock()
		req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: sip.REGISTER})
		mf := sip.MaxForwardsHeader(70)
		req.AppendHeader(&mf)
		req.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<%s>;+sip.instance=\"%s\";reg-id=1;expires=%d", u.contact.String(), u.Instance(), expires)))
		req.AppendHeader(sip.NewHeader("Expires", fmt.Sprint(expires)))
		req.AppendHeader(sip.NewHeader("Supported", "path, outbound, gruu"))
		if auth != nil {
			if err := u.authorize(req, auth); err != nil {
				return nil, err
			}
		}
		req.SetBody(nil)
		res, err := u.transact(ctx, req, branch, nil)
		if err != nil {
			return nil, err
		}
		switch {
		case res.StatusCode == 200:
			return res, nil
		case (res.StatusCode == 401 || res.StatusCode == 407) && auth == nil && u.cfg.Password != "":
			auth = res
		default:
			return res, &StatusError{Method: "REGISTER", Code: res.StatusCode, Reason: res.Reason}
		}
	}
	return nil, &StatusError{Method: "REGISTER", Code: auth.StatusCode, Reason: auth.Reason}
}

// WaitCall returns the next incoming call once its INVITE was answered
// 200, or ctx's error.
func (u *UA) WaitCall(ctx context.Context) (*Call, error) {
	select {
	case c := <-u.incoming:
		return c, nil
	case <-u.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, fmt.Errorf("wsua: waiting for a call: %w", ctx.Err())
	}
}

// Close closes the WebSocket (normal closure) and waits for the reader and
// every answering goroutine. It is idempotent.
func (u *UA) Close() error {
	u.mu.Lock()
	already := u.closed
	u.closed = true
	u.mu.Unlock()
	if !already {
		_ = u.conn.Close(websocket.StatusNormalClosure, "bye")
	}
	u.conn.CloseNow() // ends a reader still waiting for the close handshake
	u.wg.Wait()
	return nil
}

// Drop closes the TCP connection without the WebSocket closing handshake,
// as when a browser tab is killed or the network goes (the gateway sees
// the connection end, not a close frame), and waits for the reader. Use
// it instead of Close.
func (u *UA) Drop() {
	u.mu.Lock()
	u.closed = true
	u.mu.Unlock()
	u.conn.CloseNow()
	u.wg.Wait()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func uuid() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return strings.Join([]string{h[:8], h[8:12], h[12:16], h[16:20], h[20:]}, "-")
}
