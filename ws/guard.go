package ws

import (
	"net"
	"sync"
	"time"
)

// acceptSlack is how many TCP connections beyond the flow caps the guard
// lets through, per address and in all: room for the softphone page's own
// requests and for the HTTP 429/503 that tell a client why it was refused.
const acceptSlack = 16

// Guard wraps the TCP listener of a ws:// or wss:// endpoint (under the TLS
// layer) so that a connection flood is refused at accept, before any TLS
// handshake, HTTP parsing or goroutine: beyond max_connections_per_ip +
// acceptSlack open TCP connections from one address, or max_connections +
// acceptSlack in all, a new connection is closed at once. The flow caps
// (HTTP 429 and 503 with a reason) still apply to what gets through; the
// guard bounds what a flood can cost in handshakes and descriptors.
func (s *Server) Guard(ln net.Listener) net.Listener {
	return &guardListener{Listener: ln, srv: s}
}

type guardListener struct {
	net.Listener
	srv *Server

	// Refusal logging, throttled to a line a second; only Accept (one
	// goroutine) touches these.
	refused  int
	lastIP   string
	lastLine time.Time
}

// Accept returns the next connection within the caps, closing the others.
func (l *guardListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c.RemoteAddr().String())
		if l.srv.admitTCP(ip) {
			return &guardConn{Conn: c, srv: l.srv, ip: ip}, nil
		}
		_ = c.Close()
		l.refused++
		l.lastIP = ip
		if now := time.Now(); now.Sub(l.lastLine) >= time.Second {
			l.srv.log.Warn("connections refused at accept", "reason", "too many connections", "refused", l.refused, "last_ip", ip)
			l.refused, l.lastLine = 0, now
		}
	}
}

// admitTCP counts a new TCP connection from ip, or refuses it.
func (s *Server) admitTCP(ip string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tcpTotal >= s.cfg.MaxConns+acceptSlack || s.tcpPerIP[ip] >= s.cfg.MaxConnsPerIP+acceptSlack {
		return false
	}
	s.tcpPerIP[ip]++
	s.tcpTotal++
	return true
}

// releaseTCP uncounts a closed TCP connection from ip.
func (s *Server) releaseTCP(ip string) {
	s.mu.Lock()
	s.tcpTotal--
	if s.tcpPerIP[ip] <= 1 {
		delete(s.tcpPerIP, ip)
	} else {
		s.tcpPerIP[ip]--
	}
	s.mu.Unlock()
}

// guardConn uncounts itself once when closed (by net/http, by the TLS
// layer above it, or by the flow that hijacked it).
type guardConn struct {
	net.Conn
	srv  *Server
	ip   string
	once sync.Once
}

func (c *guardConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.srv.releaseTCP(c.ip) })
	return err
}
