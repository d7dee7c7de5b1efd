// Package gateway is sipedge's proxy core. It owns the sipgo user agent,
// opens the UDP, TCP and TLS listeners, and runs every request through one
// pipeline (request.go): sanity checks, Max-Forwards and loop detection,
// loose routing, authentication, the registrar or the routes, then stateful
// forwarding with Record-Route and response relay with best-response
// selection (proxy.go). ACKs for 2xx are forwarded statelessly (ack.go).
package gateway

import (
	"context"
	stdtls "crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/auth"
	"github.com/sipedge/sipedge/gateway/ban"
	"github.com/sipedge/sipedge/gateway/cdr"
	"github.com/sipedge/sipedge/gateway/dialog"
	"github.com/sipedge/sipedge/gateway/lograte"
	"github.com/sipedge/sipedge/gateway/registrar"
	"github.com/sipedge/sipedge/gateway/retrans"
	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/route/rtjson"
	"github.com/sipedge/sipedge/gateway/self"
	"github.com/sipedge/sipedge/gateway/wire"
	"github.com/sipedge/sipedge/internal/listen"
	"github.com/sipedge/sipedge/nat"
	"github.com/sipedge/sipedge/rtpengine"
	"github.com/sipedge/sipedge/ws"
)

// Deps are the gateway's collaborators, built by cmd.
type Deps struct {
	// Logger receives all log output; a "component" attribute is added.
	Logger *slog.Logger
	// Listeners are the SIP sockets to open.
	Listeners []Listener
	// TLS is the server configuration for tls listeners (nil if none).
	TLS *stdtls.Config
	// ClientTLS is used to reach tls next hops (nil: system roots).
	ClientTLS *stdtls.Config
	// Ready, if set, is called once every listener is bound, with the
	// actual addresses (useful with port 0).
	Ready func(bound []Listener)
	// WS configures the WebSocket listeners (ws, wss).
	WS ws.Config
	// TCP limits the tcp and tls listeners: connection caps, message and
	// idle deadlines, message size (zero fields: defaults).
	TCP listen.Config
	// TCPFilter checks every message framed on a tcp or tls connection
	// before sipgo parses it, and may answer it (e.g. a stateless 400) or
	// drop it; nil means wire.CheckFrom with the connection's remote
	// address, as for UDP datagrams.
	TCPFilter listen.Filter
	// Locations is the registrar's store (nil: an in-memory one for this
	// node alone). cluster.Store shares it between nodes.
	Locations registrar.Store
	// Cluster, with Locations shared, tells which node holds a user's
	// connection and whether it is alive; nil on a single node.
	Cluster Peers
	// Counters, if set, makes trunk max_calls cluster-wide (cluster.Store).
	Counters Counters
	// SetCounts, if set, makes least-calls and destination set members'
	// max_calls count every node's calls (cluster.Store).
	SetCounts CountSharer
	// Leases, if set, lets one node of the cluster at a time register each
	// trunk (cluster.Store); nil: this node registers every trunk.
	Leases Leases
	// Nonces, if set, makes digest nonces verifiable on every node of the
	// cluster (one key, nonce-counts checked cluster-wide).
	Nonces auth.Shared
	// Resolver looks up the names sipgo resolves (next hops named by a
	// host name, RFC 3263); nil: net.DefaultResolver. Responses never need
	// it: they go to the Via's received address (wire.CheckFrom).
	Resolver *net.Resolver
	// NAT configures keepalives toward NATed UDP clients.
	NAT nat.Config
	// TLSPeers, if set, tells what the verified client certificate of the
	// TLS or WSS connection from an address says: whether it makes the
	// connection trusted (tls.trusted_names; its requests are treated as
	// from a trusted network), and its names, which identify a trunk
	// (trunks' tls_names).
	TLSPeers TLSPeers
	// Ban drops floods and scanners (nil: no bans). cmd owns and closes
	// it; the gateway samples, checks and feeds it (gateway/ban.go).
	Ban *ban.Bans
	// RTP is the rtpengine client that anchors media (nil: none). The
	// gateway runs and closes it.
	RTP *rtpengine.Client
	// HTTP serves every path of the ws/wss listeners' HTTP servers other
	// than the WebSocket endpoint (the softphone); nil answers 404.
	HTTP http.Handler
	// Metrics receives the gateway's counters (nil: none). See Metrics.
	Metrics Metrics
	// Tap sees every SIP message sent or received on the UDP listeners,
	// the TCP and TLS connections and the WebSocket flows (HEP capture,
	// the call-ladder ring); nil: none.
	Tap wire.Tap
	// CallRecords receives a record at the end of every call the gateway
	// tracks (a WebSocket leg or media through rtpengine; rtpengine is
	// then asked for the media statistics) and of every forwarded initial
	// INVITE that failed; nil: none.
	CallRecords cdr.Recorder
}

// Gateway is a running proxy core.
type Gateway struct {
	cfg      Config
	deps     Deps
	log      *slog.Logger
	ua       *sipgo.UserAgent
	srv      *sipgo.Server
	cli      *sipgo.Client
	out      sender
	reg      *registrar.Registrar
	trusted  []netip.Prefix
	ruleset  atomic.Pointer[rules] // routes, sets, users: swapped by Reload
	reloadMu sync.Mutex            // one Reload at a time; guards probing
	probing  bool                  // the sets' probes run (listeners bound)
	trunks   *trunks               // trunks.go

	// set by Run once listeners are bound
	self     self.Addrs
	udpLaddr sip.Addr
	udpConn  net.PacketConn

	ws         *ws.Server        // nil without ws/wss listeners
	streams    *listen.Streams   // caps, deadlines and framing of tcp/tls listeners
	rtp        *rtpengine.Client // nil without rtpengine nodes
	dialogs    *dialog.Table
	api        *rtjson.Client // routing API (routes[].api), keep-alive
	tlsNamed   *tlsNamed      // TLS toward trunks named by a host (trunktls.go)
	reqHandler func(*sip.Request, sip.ServerTransaction)
	ackHandler func(*sip.Request, sip.ServerTransaction)

	metrics  Metrics      // never nil (noMetrics)
	active   atomic.Int64 // request handlers running (server transactions in progress)
	draining atomic.Bool  // refuse new calls and registrations (ops.go)

	bg       background    // work started by handlers and not waited for
	handlers background    // request handlers running (on sipgo's goroutines)
	stack    stackGuard    // closed before the UA: no request leaves after it
	dialer   *tapDialer    // with a tap: opens tapped TCP/TLS connections (set in Run)
	closing  *closing      // closed when the gateway starts shutting down
	stopped  chan struct{} // closed when Run has returned
	running  atomic.Bool   // Run was called

	badLog *slog.Logger       // bad input at the edge, rate-limited (badinput.go)
	limits []*lograte.Limiter // closed by Run at its end

	// Stateless local answers kept for retransmissions, and the parser and
	// handler of the REGISTERs served on the UDP reader (answers.go).
	authAnswers, anonAnswers *retrans.Cache
	relayed                  relayCaches // completed proxy transactions as bytes (accepted.go)
	parser                   *sip.Parser
	regHandler               func(*sip.Request, sip.ServerTransaction)
	regSlots                 chan struct{} // REGISTERs running beside the UDP reader
}

// ErrNoListener is returned by New when no listener is given.
var ErrNoListener = errors.New("gateway: no listener")

// New builds a gateway from a validated configuration (SetDefaults and
// Validate already applied).
func New(cfg Config, deps Deps) (*Gateway, error) {
	if len(deps.Listeners) == 0 {
		return nil, ErrNoListener
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.TCPFilter == nil {
		deps.TCPFilter = checkStream
	}
	if deps.Metrics == nil {
		deps.Metrics = noMetrics{}
	}
	g := &Gateway{cfg: cfg, deps: deps, log: deps.Logger.With("component", "gateway"),
		rtp: deps.RTP, dialogs: dialog.NewTable(), api: rtjson.NewClient(64), closing: newClosing(), stopped: make(chan struct{}),
		streams: listen.NewStreams(deps.TCP, deps.TCPFilter, deps.Logger), metrics: deps.Metrics}
	if deps.Tap != nil {
		g.streams.SetTap(g.tapStream)
	}
	for _, t := range cfg.Trusted {
		p, err := route.ParsePrefix(t)
		if err != nil {
			return nil, fmt.Errorf("gateway: trusted %q: %w", t, err)
		}
		g.trusted = append(g.trusted, p)
	}
	r, err := buildRules(cfg, nil, deps)
	if err != nil {
		return nil, err
	}
	g.ruleset.Store(r)
	g.trunks = &trunks{slots: newTrunkSlots()}
	g.tlsNamed = newTLSNamed(deps.ClientTLS, g.log)
	g.trunks.slots.shared = deps.Counters
	store := deps.Locations
	if store == nil {
		store = registrar.NewMemoryStore()
	}
	g.reg = registrar.New(cfg.Registrar.Config, store, deps.Logger)
	g.authAnswers = retrans.New(authAnswerBytes, retrans.TimerJ)
	g.anonAnswers = retrans.New(anonAnswerBytes, retrans.TimerJ)
	g.relayed = newRelayCaches()
	g.parser = sip.NewParser()
	g.regSlots = make(chan struct{}, 2*runtime.GOMAXPROCS(0))

	badLim, sipLim := lograte.New(lograte.Interval, lograte.Burst), lograte.New(lograte.Interval, lograte.Burst)
	g.limits = []*lograte.Limiter{badLim, sipLim}
	g.badLog = slog.New(lograte.Handler(g.log.Handler(), badLim))
	sipLog := slog.New(lograte.SIPHandler(deps.Logger.Handler(), sipLim)).With("component", "sip")
	uaOpts := []sipgo.UserAgentOption{
		sipgo.WithUserAgent("sipedge"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(sipLog)),
		sipgo.WithUserAgentTransactionLayerOptions(
			sip.WithTransactionLayerLogger(sipLog),
			sip.WithTransactionLayerUnhandledResponseHandler(g.onStrayResponse),
		),
	}
	if deps.ClientTLS != nil {
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(deps.ClientTLS))
	}
	if deps.Resolver != nil {
		uaOpts = append(uaOpts, sipgo.WithUserAgentDNSResolver(deps.Resolver))
	}
	ua, err := sipgo.NewUA(uaOpts...)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	g.ua = ua
	g.srv, err = sipgo.NewServer(ua, sipgo.WithServerLogger(sipLog))
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	g.cli, err = sipgo.NewClient(ua, sipgo.WithClientLogger(sipLog))
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	g.out = sipgoSender{g}
	g.reqHandler = g.tracked(g.wrap(g.handle))
	g.ackHandler = g.tracked(g.wrap(g.handleAck))
	g.regHandler = g.tracked(g.wrap(g.handleRegister))
	for m := range knownMethods {
		if m != sip.ACK {
			g.srv.OnRequest(m, g.reqHandler)
		}
	}
	g.srv.OnAck(g.ackHandler)
	g.srv.OnNoRoute(g.reqHandler)
	for _, l := range deps.Listeners {
		if l.Transport == "ws" || l.Transport == "wss" {
			g.ws = ws.NewServer(deps.WS, g, deps.Logger)
			break
		}
	}
	return g, nil
}

// Run binds every listener, serves until ctx is done, then closes the
// listeners and waits for background work.
func (g *Gateway) Run(ctx context.Context) error {
	if !g.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer close(g.stopped)
	defer g.closing.close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// UDP sockets close after the others (see the shutdown below).
	var closers, udpClosers []func() error
	defer func() {
		for _, c := range append(closers, udpClosers...) {
			_ = c()
		}
		if g.rtp != nil {
			_ = g.rtp.Close() // idempotent; the gateway owns the client
		}
	}()
	type serveFn func() error
	var serves []serveFn
	var bound []Listener
	for _, l := range g.deps.Listeners {
		switch l.Transport {
		case "udp":
			pc, err := net.ListenPacket("udp", l.Addr)
			if err != nil {
				return fmt.Errorf("gateway: listen udp %s: %w", l.Addr, err)
			}
			udpClosers = append(udpClosers, pc.Close)
			setReadBuffer(pc, g.log)
			if g.deps.Tap != nil {
				pc = newTappedConn(pc, g.deps.Tap)
			}
			bound = append(bound, Listener{Transport: "udp", Addr: pc.LocalAddr().String()})
			if g.udpConn == nil {
				g.udpConn = pc
			}
			serves = append(serves, func() error { return g.srv.ServeUDP(checkedConn{pc, g}) })
			if g.udpLaddr.IP == nil {
				a := pc.LocalAddr().(*net.UDPAddr)
				g.udpLaddr = sip.Addr{IP: a.IP, Port: a.Port, Hostname: a.IP.String()}
			}
		case "tcp", "tls":
			ln, err := net.Listen("tcp", l.Addr)
			if err != nil {
				return fmt.Errorf("gateway: listen %s %s: %w", l.Transport, l.Addr, err)
			}
			bound = append(bound, Listener{Transport: l.Transport, Addr: ln.Addr().String()})
			// Caps and accept backoff under TLS; framing and deadlines on
			// what sipgo reads, above it.
			ln = g.streams.Limit(ban.Listener(ln, g.deps.Ban))
			if l.Transport == "tls" {
				if g.deps.TLS == nil {
					_ = ln.Close()
					return fmt.Errorf("gateway: tls listener %s: %w", l.Addr, errors.New("no certificate configured"))
				}
				ln = g.streams.Frame(stdtls.NewListener(ln, g.deps.TLS))
				closers = append(closers, ln.Close)
				serves = append(serves, func() error { return g.srv.ServeTLS(ln) })
			} else {
				ln = g.streams.Frame(ln)
				closers = append(closers, ln.Close)
				serves = append(serves, func() error { return g.srv.ServeTCP(ln) })
			}
		case "ws", "wss":
			ln, err := net.Listen("tcp", l.Addr)
			if err != nil {
				return fmt.Errorf("gateway: listen %s %s: %w", l.Transport, l.Addr, err)
			}
			bound = append(bound, Listener{Transport: l.Transport, Addr: ln.Addr().String(), Path: l.Path})
			ln = g.ws.Guard(ban.Listener(ln, g.deps.Ban))
			if l.Transport == "wss" {
				if g.deps.TLS == nil {
					_ = ln.Close()
					return fmt.Errorf("gateway: wss listener %s: %w", l.Addr, errors.New("no certificate configured"))
				}
				ln = stdtls.NewListener(ln, g.deps.TLS)
			}
			hs := &http.Server{Handler: g.httpMux(l.Path), ReadHeaderTimeout: 10 * time.Second,
				ErrorLog: slog.NewLogLogger(g.log.Handler(), slog.LevelDebug)}
			closers = append(closers, hs.Close)
			serves = append(serves, func() error {
				if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
					return err
				}
				return nil
			})
		case "stun":
			pc, err := net.ListenPacket("udp", l.Addr)
			if err != nil {
				return fmt.Errorf("gateway: listen stun %s: %w", l.Addr, err)
			}
			closers = append(closers, pc.Close)
			bound = append(bound, Listener{Transport: "stun", Addr: pc.LocalAddr().String()})
			stun := nat.NewSTUNServer(g.log)
			serves = append(serves, func() error { return stun.Serve(ctx, pc) })
		default:
			return fmt.Errorf("gateway: %w: %q", ErrListenerNotFound, l.Transport)
		}
	}
	if g.ws != nil {
		closers = append(closers, g.ws.Close)
	}
	for _, b := range bound {
		if a, err := net.ResolveTCPAddr("tcp", b.Addr); err == nil && b.Transport == "tls" {
			g.tlsNamed.ln.addr = a
			break
		}
	}
	closers = append(closers, g.tlsNamed.ln.Close)
	serves = append(serves, func() error { return g.srv.ServeTLS(g.tlsNamed.ln) })
	us := make([]self.Listener, len(bound))
	for i, b := range bound {
		us[i] = self.Listener{Transport: b.Transport, Addr: b.Addr}
	}
	g.self = self.New(g.cfg.Advertise, g.cfg.Domains, us)
	if g.deps.Tap != nil {
		g.dialer = newTapDialer(g, bound)
		for _, s := range g.dialer.serves() {
			serves = append(serves, s)
		}
		closers = append(closers, g.dialer.Close)
	}

	var wg sync.WaitGroup
	errc := make(chan error, len(serves)+1)
	for _, s := range serves {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s(); err != nil && !errors.Is(err, net.ErrClosed) {
				errc <- err
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		g.reg.Run(ctx, time.Second)
	}()
	if g.rtp != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = g.rtp.Run(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		g.expireDialogs(ctx)
	}()
	if g.deps.SetCounts != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.shareSetCounts(ctx)
		}()
	}
	if ka := g.keepalive(); ka != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = ka.Run(ctx)
		}()
	}
	g.startProbes()
	g.startTrunks() // after the serves: REGISTERs leave from the UDP socket
	if g.deps.Ready != nil {
		g.deps.Ready(bound)
	}
	var err error
	select {
	case <-ctx.Done():
	case <-g.closing.ch:
	case err = <-errc:
		err = fmt.Errorf("gateway: serve: %w", err)
	}
	cancel()
	g.closing.close()
	g.handlers.refuse() // new requests are dropped from now on
	g.stopProbes()
	// Listeners and WebSocket flows first: closing flows ends their calls
	// (BYE to the other party, rtpengine delete). Give that background
	// work a moment while rtpengine and the SIP stack are still up. UDP
	// sockets stay open meanwhile: those BYEs leave from them and their
	// answers come back to them.
	for _, c := range closers {
		_ = c()
	}
	closers = nil
	g.bg.wait(shutdownGrace)
	g.closeTrunks() // unregisters: the stack is still up
	if g.rtp != nil {
		_ = g.rtp.Close()
	}
	// No request leaves after this. Ending every transaction lets the
	// handlers waiting on one return; wait for them before the sockets
	// and the transport layer close.
	g.stack.close()
	g.ua.TransactionLayer().Close()
	if !g.handlers.wait(shutdownGrace) {
		g.log.Warn("request handlers still running at shutdown", "waited", shutdownGrace)
	}
	for _, c := range udpClosers {
		_ = c()
	}
	udpClosers = nil
	_ = g.ua.Close()
	wg.Wait()
	g.bg.close()
	_ = g.api.Close()
	for _, l := range g.limits {
		l.Close()
	}
	return err
}

// Close stops a running gateway as if Run's context were done: listeners
// and WebSocket flows close, calls on them are ended, transactions end,
// and every goroutine the gateway started is waited for. Close returns
// when Run has returned; it is idempotent and safe before or without Run.
func (g *Gateway) Close() error {
	g.closing.close()
	if g.running.CompareAndSwap(false, true) {
		// Run never started: nothing is bound; release what New made.
		close(g.stopped)
		g.handlers.refuse()
		if g.rtp != nil {
			_ = g.rtp.Close()
		}
		g.stack.close()
		_ = g.ua.Close()
		g.handlers.close()
		g.bg.close()
		_ = g.api.Close()
		for _, l := range g.limits {
			l.Close()
		}
		return nil
	}
	<-g.stopped
	return nil
}

// shutdownGrace bounds how long Run waits for calls being ended on shutdown.
const shutdownGrace = 3 * time.Second

// TLSPeers reports, by the remote address ("ip:port") of a TLS or WSS
// connection, what its verified client certificate says (tls.Certificates
// implements it). It is asked only for requests that came over TLS or WSS.
type TLSPeers interface {
	// TrustedPeerAddr reports whether the certificate names one of
	// tls.trusted_names.
	TrustedPeerAddr(addr string) bool
	// PeerNames are the certificate's DNS and URI subject alternative
	// names (nil: no verified certificate).
	PeerNames(addr string) []string
}

// trustedRequest reports whether req comes from a trusted network, from a
// trunk (by address or client certificate), or over a TLS/WSS connection
// whose client certificate is trusted.
func (g *Gateway) trustedRequest(req *sip.Request) bool {
	return g.trustedSource(req.Source()) || g.certifiedRequest(req)
}

// certifiedRequest reports whether req came over a TLS or WSS connection
// whose verified client certificate makes it trusted (tls.trusted_names)
// or a trunk's (tls_names): as good as a digest, so it also exempts its
// source from rate bans (handle vouches for it).
func (g *Gateway) certifiedRequest(req *sip.Request) bool {
	if !overTLS(req) || g.deps.TLSPeers == nil {
		return false
	}
	if g.deps.TLSPeers.TrustedPeerAddr(req.Source()) {
		return true
	}
	_, ok := g.trunkByCertificate(req)
	return ok
}

// overTLS reports whether req came over a TLS or WSS connection.
func overTLS(req *sip.Request) bool {
	switch req.Transport() {
	case "TLS", "WSS":
		return true
	}
	return false
}

// requestTrunk is the trunk req comes from: the one whose address is its
// source, else the one whose tls_names its TLS connection's verified
// client certificate carries.
func (g *Gateway) requestTrunk(req *sip.Request) (string, bool) {
	if name, ok := g.rules().trunks.source(req.Source()); ok {
		return name, true
	}
	return g.trunkByCertificate(req)
}

// trunkByCertificate is the trunk the verified client certificate of
// req's TLS or WSS connection identifies (trunks' tls_names).
func (g *Gateway) trunkByCertificate(req *sip.Request) (string, bool) {
	if !overTLS(req) || g.deps.TLSPeers == nil {
		return "", false
	}
	rs := g.rules()
	if len(rs.trunks.tls) == 0 {
		return "", false
	}
	return rs.trunks.byCertificate(g.deps.TLSPeers.PeerNames(req.Source()))
}

// trustedSource reports whether src (ip:port) is in a trusted network or
// is a trunk's address.
func (g *Gateway) trustedSource(src string) bool {
	if _, ok := g.rules().trunks.source(src); ok {
		return true
	}
	host, _, err := net.SplitHostPort(src)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range g.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// onStrayResponse forwards a response that matches no client transaction
// statelessly if its top Via is ours (RFC 3261 §16.11), e.g. a 2xx
// retransmission after our INVITE transaction ended.
func (g *Gateway) onStrayResponse(res *sip.Response) {
	v := res.Via()
	if v == nil || !g.self.IsOurVia(v) {
		return
	}
	if g.resendAccepted(res) {
		return // a 2xx retransmission, relayed as the first one was
	}
	out := res.Clone()
	out.RemoveHeader("Via")
	next := out.Via()
	if next == nil {
		return
	}
	host, port := next.Host, next.Port
	if r, ok := next.Params.Get("received"); ok && r != "" {
		host = r
	}
	if rp, ok := next.Params.Get("rport"); ok && rp != "" {
		if p, err := strconv.Atoi(rp); err == nil {
			port = p
		}
	}
	if port == 0 {
		port = 5060
	}
	out.SetTransport(next.Transport)
	out.SetDestination(net.JoinHostPort(host, strconv.Itoa(port)))
	if !g.stack.enter() {
		return // shutting down: sipgo would open a socket nobody closes
	}
	defer g.stack.leave()
	if err := g.srv.WriteResponse(out); err != nil {
		g.log.Debug("stray response not forwarded", "call_id", callID(res), "error", err)
	}
}
