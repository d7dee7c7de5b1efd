package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
)

// Listener is one parsed entry of listen.
type Listener struct {
	// Scheme is udp, tcp, tls, ws, wss or stun.
	Scheme string
	// Addr is host:port.
	Addr string
	// Path is the WebSocket endpoint's URL path (ws, wss), e.g. /ws.
	Path string
}

// ParseListen parses one listen URL.
func ParseListen(s string) (Listener, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Listener{}, fmt.Errorf("not a URL: %w", err)
	}
	switch u.Scheme {
	case "udp", "tcp", "tls", "ws", "wss", "stun":
	default:
		return Listener{}, fmt.Errorf("scheme %q not supported (udp, tcp, tls, ws, wss, stun)", u.Scheme)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return Listener{}, fmt.Errorf("needs HOST:PORT: %w", err)
	}
	if net.ParseIP(host) == nil && host != "localhost" {
		return Listener{}, fmt.Errorf("host %q must be an IP address", host)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return Listener{}, fmt.Errorf("port %q must be 0..65535", port)
	}
	switch {
	case (u.Scheme == "ws" || u.Scheme == "wss") && (u.Path == "" || u.Path == "/"):
		return Listener{}, fmt.Errorf("%s listener needs a path other than /, e.g. %s://%s/ws (/ serves the softphone)", u.Scheme, u.Scheme, u.Host)
	case u.Scheme != "ws" && u.Scheme != "wss" && u.Path != "":
		return Listener{}, fmt.Errorf("%s listener takes no path", u.Scheme)
	}
	return Listener{Scheme: u.Scheme, Addr: u.Host, Path: u.Path}, nil
}

// Listeners returns the parsed listen entries. Call after Validate.
func (c *Config) Listeners() []Listener {
	out := make([]Listener, 0, len(c.Listen))
	for _, s := range c.Listen {
		if l, err := ParseListen(s); err == nil {
			out = append(out, l)
		}
	}
	return out
}
