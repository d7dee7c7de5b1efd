package listen

import (
	"log/slog"
	"net"
)

// Filter checks one framed SIP message (headers and body, as received)
// before the SIP stack parses it; src is the connection's remote address
// (e.g. for the received parameter of RFC 3261 §18.2.1). out is what to
// hand on (nil: skip the message); reply, if not empty, is written back on
// the connection (e.g. a stateless 400); err, if not nil, is why the
// message was refused or changed, logged at most once a second. A Filter
// must not keep msg or change it in place: return a new slice to change it.
type Filter func(msg []byte, src net.Addr) (out, reply []byte, err error)

// Streams holds what the tcp:// and tls:// SIP listeners share: the
// configuration, the connection caps (counted over all of them), the
// message filter and the throttled log lines. It starts no goroutine and
// needs no Close: closing a listener it wrapped is enough.
type Streams struct {
	cfg    Config
	caps   *Caps
	filter Filter
	log    *slog.Logger
	tap    Tap // nil: none

	cut       *throttle // message_timeout
	idle      *throttle // idle_timeout
	broken    *throttle // framing errors
	refused   *throttle // filter errors
	handshake *throttle // failed TLS handshakes
}

// NewStreams returns the shared state of SIP stream listeners. cfg gets its
// defaults (SetDefaults) and should be valid; filter may be nil (every
// message is handed on); log nil discards, and gets component=listen.
func NewStreams(cfg Config, filter Filter, log *slog.Logger) *Streams {
	cfg.SetDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "listen")
	return &Streams{
		cfg:       cfg,
		caps:      NewCaps(cfg.MaxConns, cfg.MaxConnsPerIP),
		filter:    filter,
		log:       log,
		cut:       newThrottle(log, slog.LevelInfo, "connections closed: message not completed in time"),
		idle:      newThrottle(log, slog.LevelDebug, "connections closed: idle"),
		broken:    newThrottle(log, slog.LevelWarn, "connections closed: message framing broken"),
		refused:   newThrottle(log, slog.LevelInfo, "messages refused by filter"),
		handshake: newThrottle(log, slog.LevelInfo, "connections closed: tls handshake failed"),
	}
}

// Limit wraps the raw TCP listener of a tcp:// or tls:// endpoint (under
// the TLS layer) with accept backoff and the shared caps; see Limit.
func (s *Streams) Limit(ln net.Listener) net.Listener {
	return Limit(ln, s.caps, s.log)
}

// Frame wraps the listener sipgo serves (above the TLS layer) so that each
// connection is framed into SIP messages with the deadlines, the size limit
// and the filter of s.
func (s *Streams) Frame(ln net.Listener) net.Listener {
	return &frameListener{Listener: ln, s: s}
}

// Wrap frames one connection the caller opened itself (a dialled TCP or
// TLS connection, its handshake done) like an accepted one: deadlines, size
// limit, filter and tap. It is not counted against the caps.
func (s *Streams) Wrap(c net.Conn) net.Conn { return newSIPConn(c, s) }

// Tap sees every SIP message read from or written to a connection framed
// by Streams, as octets with the connection: received messages as they
// arrived (before the filter), written ones just before the write. msg is
// valid only during the call. tls tells a TLS connection from a TCP one. It
// is called on the connection's reader or writer and must not block.
type Tap func(c net.Conn, tls bool, msg []byte, sent bool)

// SetTap installs the tap; call it before any listener is served.
func (s *Streams) SetTap(t Tap) { s.tap = t }

// Count returns the open connections counted against the caps and from how
// many addresses.
func (s *Streams) Count() (total, addrs int) { return s.caps.Count() }

type frameListener struct {
	net.Listener
	s *Streams
}

// Accept returns the next connection, framed.
func (l *frameListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newSIPConn(c, l.s), nil
}
