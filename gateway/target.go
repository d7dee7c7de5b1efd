package gateway

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// target is one place a request is forwarded to.
type target struct {
	ruri      *sip.Uri  // new Request-URI, nil keeps the request's
	transport string    // udp, tcp or tls
	addr      string    // host:port to send to
	route     []sip.Uri // Route entries to push (a binding's Path)
	flow      string    // WebSocket flow id: send down this connection
}

// group is a set of targets tried in parallel; groups are tried in order
// (serial failover) while the best answer is 408 or 5xx.
type group []target

// uriTarget derives where a request goes from a URI (the top Route or the
// Request-URI): its host, port and transport parameter.
func uriTarget(u sip.Uri) (target, error) {
	t := "udp"
	if u.IsEncrypted() {
		t = "tls"
	}
	if v, ok := u.UriParams.Get("transport"); ok {
		t = strings.ToLower(v)
	}
	if m, ok := u.UriParams.Get("maddr"); ok && m != "" {
		u.Host = m
	}
	switch t {
	case "udp", "tcp", "tls":
	default:
		return target{}, status(503, "Service Unavailable", fmt.Errorf("%w: transport %q", ErrUnreachable, t))
	}
	if strings.HasSuffix(strings.ToLower(u.Host), ".invalid") {
		return target{}, status(480, "Temporarily Unavailable", fmt.Errorf("%w: %s is not resolvable", ErrUnavailable, u.Host))
	}
	port := u.Port
	if port == 0 {
		port = 5060
		if t == "tls" {
			port = 5061
		}
	}
	return target{transport: t, addr: net.JoinHostPort(strings.Trim(u.Host, "[]"), strconv.Itoa(port))}, nil
}
