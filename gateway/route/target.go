package route

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Sentinel errors of target parsing.
var (
	// ErrTransport is a transport the proxy cannot send over.
	ErrTransport = errors.New("route: unsupported transport")
	// ErrUnresolvable is a host that must never be looked up (*.invalid,
	// as browsers write their Contact).
	ErrUnresolvable = errors.New("route: host is not resolvable")
	// ErrTarget is a route target that is not a SIP URI with a host.
	ErrTarget = errors.New("route: bad target")
)

// Target is one place a request is forwarded to.
type Target struct {
	// RURI is the new Request-URI; nil keeps the request's.
	RURI *sip.Uri
	// Transport is udp, tcp or tls (empty for a WebSocket flow).
	Transport string
	// Addr is the host:port to send to.
	Addr string
	// Route are Route entries to push (a binding's Path).
	Route []sip.Uri
	// Flow is the WebSocket flow id to send down, if any.
	Flow string
}

// Group is a set of targets tried in parallel; groups are tried in order
// (serial failover) while the best answer is retryable.
type Group []Target

// FromURI derives where a request goes from a URI (the top Route or the
// Request-URI): its host (or maddr), port and transport parameter.
func FromURI(u sip.Uri) (Target, error) {
	t := "udp"
	if u.IsEncrypted() {
		t = "tls"
	}
	if v, ok := u.UriParams.Get("transport"); ok {
		t = strings.ToLower(v)
	}
	host := u.Host
	if m, ok := u.UriParams.Get("maddr"); ok && m != "" {
		host = m
	}
	switch t {
	case "udp", "tcp", "tls":
	default:
		return Target{}, fmt.Errorf("%w: %q", ErrTransport, t)
	}
	if host == "" {
		return Target{}, fmt.Errorf("%w: no host", ErrTarget)
	}
	if strings.HasSuffix(strings.ToLower(host), ".invalid") {
		return Target{}, fmt.Errorf("%w: %s", ErrUnresolvable, host)
	}
	port := u.Port
	if port == 0 {
		port = 5060
		if t == "tls" {
			port = 5061
		}
	}
	return Target{Transport: t, Addr: net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port))}, nil
}

// ParseTarget parses one entry of a route's `to` list: a sip: or sips: URI
// with a host, over udp, tcp or tls.
func ParseTarget(s string) (Target, error) {
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		return Target{}, fmt.Errorf("%w: not a SIP URI: %w", ErrTarget, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "sip", "sips":
	default:
		return Target{}, fmt.Errorf("%w: scheme %q (want sip: or sips:)", ErrTarget, u.Scheme)
	}
	if u.Host == "" {
		return Target{}, fmt.Errorf("%w: SIP URI has no host", ErrTarget)
	}
	return FromURI(u)
}
