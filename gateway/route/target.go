package route

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

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

// targetError is a target problem worded for the operator (it ends up
// after the config field in `sipedge check`), matching one sentinel.
type targetError struct {
	msg  string
	kind error
}

func (e *targetError) Error() string { return e.msg }
func (e *targetError) Unwrap() error { return e.kind }

func problem(kind error, format string, args ...any) error {
	return &targetError{msg: fmt.Sprintf(format, args...), kind: kind}
}

// Kind says what a target names.
type Kind uint8

const (
	// KindHop is a SIP next hop (the zero value).
	KindHop Kind = iota
	// KindTrunk names a trunk (`trunk:NAME`), expanded into its hops when
	// a request is forwarded.
	KindTrunk
	// KindSet names a destination set (`set:NAME`), expanded into the
	// members its algorithm selects when a request is forwarded.
	KindSet
)

// Target is one place a request is forwarded to.
type Target struct {
	// Kind is KindHop for a SIP hop; for KindTrunk and KindSet only Name
	// is set, and the gateway expands the target before forwarding.
	Kind Kind
	// Name is the trunk or set a KindTrunk or KindSet target names.
	Name string
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
	// Peer marks a hop to another node of the cluster that delivers the
	// request to its own users' connections: that node anchors the media;
	// this one record-routes too, so the caller's side sees every
	// in-dialog request and response come from the node it called
	// (carriers, SBCs and SIPp take them from nowhere else).
	Peer bool
	// FRTimer is how long the branch may go without any response before
	// it is given up (408) and the next group tried; 0: the gateway's
	// default. Not applied to WebSocket flows.
	FRTimer time.Duration
	// Failover, if set, says on which answer codes serial failover moves
	// past this target's group (a destination set's failover codes); nil:
	// Retryable.
	Failover func(code int) bool
	// InviteTimeout, if set, replaces invite_timeout for this branch
	// (rtjson's fr_inv_timer).
	InviteTimeout time.Duration
	// Edit, if set, changes the branch's request before it is sent
	// (a routing service's header changes). It must replace headers,
	// never change one in place: they are shared with the received
	// request.
	Edit func(*sip.Request)
	// Observer, if set, is told when a branch to this target starts and
	// how it ends (a destination set's member).
	Observer Observer
	// Trunk is the trunk a hop belongs to (a trunk:NAME target expanded),
	// whose credentials answer its challenges; "" otherwise.
	Trunk string
	// TLSName, for a tls hop resolved from a URI naming a host, is that
	// host: the name the next hop's certificate must carry (and the SNI
	// sent), not the address it resolved to (RFC 5922). "" otherwise.
	TLSName string
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
		return Target{}, problem(ErrTransport, "transport %q not supported (udp, tcp, tls)", t)
	}
	if host == "" {
		return Target{}, problem(ErrTarget, "SIP URI has no host")
	}
	if strings.HasSuffix(strings.ToLower(host), ".invalid") {
		return Target{}, problem(ErrUnresolvable, "host %s is not resolvable", host)
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
// with a host, over udp, tcp or tls; or `trunk:NAME` or `set:NAME` (whether
// the name exists is the config's check).
func ParseTarget(s string) (Target, error) {
	for prefix, kind := range map[string]Kind{"trunk:": KindTrunk, "set:": KindSet} {
		if name, ok := strings.CutPrefix(s, prefix); ok {
			if !ValidName(name) {
				return Target{}, problem(ErrTarget, "%sNAME: name %q must be letters, digits, '-', '_' or '.'", prefix, name)
			}
			return Target{Kind: kind, Name: name}, nil
		}
	}
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		return Target{}, problem(ErrTarget, "not a SIP URI: %v", err)
	}
	switch strings.ToLower(u.Scheme) {
	case "sip", "sips":
	default:
		return Target{}, problem(ErrTarget, "scheme %q not supported (sip, sips)", u.Scheme)
	}
	if u.Host == "" {
		return Target{}, problem(ErrTarget, "SIP URI has no host")
	}
	return FromURI(u)
}

// ValidName reports whether s can name a trunk or a destination set:
// letters, digits, '-', '_' and '.'.
func ValidName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}
