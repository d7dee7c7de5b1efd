package ws

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/internal/listen"
)

// Handler receives what arrives on flows. The gateway implements it.
type Handler interface {
	// ServeSIP is called, in a goroutine of its own, for every new server
	// transaction, like a sipgo Server handler. When it returns the
	// transaction is terminated (as sipgo's Server does), so a handler that
	// forwards must wait for the final response before returning.
	//
	// An ACK for a 2xx (a transaction of its own in RFC 3261) arrives here
	// too, with a throw-away, non-nil tx that is not matched against later
	// messages and must not be answered (sipgo's OnAck does the same). An ACK
	// for a non-2xx and a CANCEL that matches an INVITE go to that INVITE's
	// transaction (tx.Acks, tx.OnCancel); an unmatched CANCEL arrives here
	// (answer 481).
	ServeSIP(req *sip.Request, tx sip.ServerTransaction)

	// FlowClosed is called once when a flow ends, after its pending
	// transactions were terminated. It runs on the flow's reader goroutine
	// and must not block for long.
	FlowClosed(f *Flow)
}

// Checker may be implemented by a Handler to see each SIP message before it
// is parsed (the gateway passes it through wire.Check). CheckSIP returns
// the (possibly normalised) message to parse, the octets to send back on
// the flow (a stateless answer, or nil) and, for a message that must not
// be parsed, an error. A nil out with a nil error drops the message
// silently. The Checker owns the logging of what it refuses (ws logs those
// at Debug only), so that it can rate-limit it.
type Checker interface {
	CheckSIP(f *Flow, msg []byte) (out, reply []byte, err error)
}

// SentTap may be implemented by a Handler to see every SIP message written
// on a flow (keepalive answers excepted), just before it is written (so
// that it is seen before its answer arrives). It runs on the writer's
// goroutine and must not block nor keep msg.
type SentTap interface {
	SentSIP(f *Flow, msg []byte)
}

// Server is the WebSocket upgrade endpoint and the table of open flows.
type Server struct {
	cfg    Config
	h      Handler
	check  Checker // h, if it implements Checker; else nil
	sent   SentTap // h, if it implements SentTap; else nil
	log    *slog.Logger
	parser *sip.Parser

	mu      sync.Mutex
	closing bool
	flows   map[string]*Flow
	perIP   map[string]int // open or upgrading connections per source IP
	total   int            // sum of perIP
	tcpCaps *listen.Caps   // TCP connections let through by Guard, upgraded or not
	sweep   []*Flow        // reused snapshot buffer, sweeper goroutine only

	bufs    sync.Pool // *bytes.Buffer for reading and writing messages
	refused refusals  // refused upgrades by reason (refusals.go)

	wg        sync.WaitGroup // readers, workers, closers
	stop      chan struct{}
	work      chan func() // hands work to an idle worker (workers.go)
	sweepDone chan struct{}
	closeOnce sync.Once
}

// NewServer returns a Server using cfg (defaults are applied to zero fields)
// and delivering requests to h. It starts the keepalive sweeper; Close stops
// it.
func NewServer(cfg Config, h Handler, log *slog.Logger) *Server {
	cfg.SetDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := sip.NewParser()
	p.MaxMessageLength = int(cfg.ReadLimit)
	s := &Server{
		cfg:       cfg,
		h:         h,
		log:       log.With("component", "ws"),
		parser:    p,
		flows:     make(map[string]*Flow),
		perIP:     make(map[string]int),
		tcpCaps:   listen.NewCaps(cfg.MaxConns+acceptSlack, cfg.MaxConnsPerIP+acceptSlack),
		stop:      make(chan struct{}),
		work:      make(chan func()),
		sweepDone: make(chan struct{}),
	}
	s.check, _ = h.(Checker)
	s.sent, _ = h.(SentTap)
	go s.sweeper()
	return s
}

// ServeHTTP is the upgrade endpoint; mount it on any path of any
// http.Server. A request over TLS (r.TLS != nil) makes a WSS flow, otherwise
// a WS flow. Refusals: Host not allowed → 403, Origin not allowed → 403, no
// "sip" subprotocol offered → 400 (before upgrading: a WebSocket without the
// subprotocol would have to be closed at once anyway, and a status is
// clearer to the client than a close frame), global cap → 503, per-address
// cap → 429.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ip := remoteIP(r.RemoteAddr)
	refuse := func(status int, reason string, args ...any) {
		s.refused.add(refusalReason(status, reason))
		s.log.Warn("websocket refused", append([]any{"reason", reason, "status", status, "src", r.RemoteAddr}, args...)...)
		if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "5")
		}
		http.Error(w, reason, status)
	}
	if !s.hostAllowed(r.Host) {
		refuse(http.StatusForbidden, "host not allowed", "host", r.Host)
		return
	}
	if !originAllowed(r, s.cfg.Origins) {
		refuse(http.StatusForbidden, "origin not allowed", "origin", r.Header.Get("Origin"))
		return
	}
	if !offersSIP(r) {
		refuse(http.StatusBadRequest, "subprotocol sip required", "offered", r.Header.Get("Sec-WebSocket-Protocol"))
		return
	}
	if status, reason := s.reserve(ip); status != 0 {
		refuse(status, reason, "ip", ip)
		return
	}
	transport := "WS"
	if r.TLS != nil {
		transport = "WSS"
	}
	f := newFlow(s, transport, r, ip)
	c, err := websocket.Accept(slimResponseWriter{ResponseWriter: w, srv: s}, r, &websocket.AcceptOptions{
		Subprotocols:    []string{"sip"},
		OriginPatterns:  s.cfg.Origins,
		CompressionMode: websocket.CompressionDisabled,
		OnPongReceived:  f.onPong,
	})
	if err != nil {
		s.release(ip)
		s.refused.add(RefusedUpgrade)
		s.log.Warn("websocket refused", "reason", "upgrade failed", "src", r.RemoteAddr, "error", err)
		return
	}
	c.SetReadLimit(s.cfg.ReadLimit)
	f.conn, f.w = c, c
	if !s.add(f) {
		s.release(ip)
		c.Close(websocket.StatusGoingAway, "server closing")
		return
	}
	s.log.Debug("flow opened", "flow", f.id, "transport", transport, "src", f.source)
	go func() {
		defer s.wg.Done()
		f.readLoop()
	}()
}

// Flow returns the open flow with the given id.
func (s *Server) Flow(id string) (*Flow, bool) {
	s.mu.Lock()
	f, ok := s.flows[id]
	s.mu.Unlock()
	return f, ok
}

// Len returns the number of open flows.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.flows)
}

// Close closes every flow (close code 1001), stops the sweeper and waits for
// all goroutines the Server started: readers, pings and handlers (handlers
// see their transactions terminated). It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		flows := make([]*Flow, 0, len(s.flows))
		for _, f := range s.flows {
			flows = append(flows, f)
		}
		s.mu.Unlock()
		close(s.stop)
		<-s.sweepDone
		for _, f := range flows {
			f.closeWith(websocket.StatusGoingAway, "server closing", true)
		}
	})
	s.wg.Wait()
	return nil
}

// reserve takes a connection slot for ip, or returns the HTTP status and
// reason of the refusal.
func (s *Server) reserve(ip string) (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing:
		return http.StatusServiceUnavailable, "server closing"
	case s.total >= s.cfg.MaxConns:
		return http.StatusServiceUnavailable, "too many connections"
	case s.perIP[ip] >= s.cfg.MaxConnsPerIP:
		return http.StatusTooManyRequests, "too many connections from this address"
	}
	s.perIP[ip]++
	s.total++
	return 0, ""
}

func (s *Server) release(ip string) {
	s.mu.Lock()
	s.total--
	if s.perIP[ip] <= 1 {
		delete(s.perIP, ip)
	} else {
		s.perIP[ip]--
	}
	s.mu.Unlock()
}

// add registers an accepted flow and accounts its reader goroutine.
func (s *Server) add(f *Flow) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.flows[f.id] = f
	s.wg.Add(1)
	return true
}

// remove drops a flow whose reader is ending and frees its slot.
func (s *Server) remove(f *Flow) {
	s.mu.Lock()
	delete(s.flows, f.id)
	s.mu.Unlock()
	s.release(f.ip)
}

func (s *Server) hostAllowed(host string) bool {
	if len(s.cfg.Hosts) == 0 {
		return true
	}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	for _, a := range s.cfg.Hosts {
		if strings.EqualFold(a, host) || strings.EqualFold(a, name) {
			return true
		}
	}
	return false
}

// originAllowed applies coder/websocket's Origin rules (see Config.Origins)
// so that a refusal can be logged with its reason before Accept.
func originAllowed(r *http.Request, patterns []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(r.Host, u.Host) {
		return true
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, err := path.Match(strings.ToLower(p), strings.ToLower(target)); err == nil && ok {
			return true
		}
	}
	return false
}

// offersSIP reports whether the client offered the "sip" subprotocol.
func offersSIP(r *http.Request) bool {
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), "sip") {
				return true
			}
		}
	}
	return false
}

func remoteIP(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// newFlowID returns 16 url-safe characters from 96 random bits.
func newFlowID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func parseAddr(s string) net.Addr {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return &net.TCPAddr{}
	}
	port, _ := strconv.Atoi(p)
	ip := net.ParseIP(h)
	return &net.TCPAddr{IP: ip, Port: port}
}

// writeCtx bounds one write; cancelling a coder/websocket write closes the
// connection, which is what a client that stopped reading deserves.
func (s *Server) writeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.cfg.WriteTimeout)
}

func (s *Server) getBuf() *bytes.Buffer {
	if b, ok := s.bufs.Get().(*bytes.Buffer); ok {
		b.Reset()
		return b
	}
	return new(bytes.Buffer)
}

// now is the sweeper's and the flows' clock in Unix nanoseconds.
func now() int64 { return time.Now().UnixNano() }
