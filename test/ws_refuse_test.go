package test

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestWSRefusals checks each refusal of the WebSocket edge: the HTTP
// status (or close code) the client sees, and the line sipedge logs.
func TestWSRefusals(t *testing.T) {
	const perIP = 4
	e := startWSEdge(t, func(c *proxyConfig) {
		c.WS = map[string]any{
			"origins":                []string{"app.example.test"},
			"read_limit":             2048,
			"max_connections_per_ip": perIP,
		}
	})
	// handshake dials and returns the HTTP status of the handshake (101
	// when it succeeded; the connection is closed when the test ends).
	handshake := func(t *testing.T, transport string, opts wsDialOpts) int {
		t.Helper()
		opts.Pool = e.pool
		ctx := withTimeout(t, 5*time.Second)
		conn, res, err := dialWS(ctx, e.url(transport), opts)
		if err == nil {
			t.Cleanup(func() { conn.CloseNow() })
			return http.StatusSwitchingProtocols
		}
		if res == nil {
			t.Fatalf("handshake failed without an HTTP answer: %v", err)
		}
		return res.StatusCode
	}
	for _, transport := range []string{"ws", "wss"} {
		t.Run(transport, func(t *testing.T) {
			tests := []struct {
				name   string
				opts   wsDialOpts
				status int
				log    []string // what sipedge's log line must contain
			}{
				{"no subprotocol", wsDialOpts{LocalIP: "127.0.0.5", Subprotocols: []string{}}, 400,
					[]string{`msg="websocket refused"`, `reason="subprotocol sip required"`, "status=400", "src=127.0.0.5:"}},
				{"other subprotocol", wsDialOpts{LocalIP: "127.0.0.5", Subprotocols: []string{"chat"}}, 400,
					[]string{`msg="websocket refused"`, `reason="subprotocol sip required"`, "offered=chat"}},
				{"forbidden origin", wsDialOpts{LocalIP: "127.0.0.5", Origin: "https://evil.example"}, 403,
					[]string{`msg="websocket refused"`, `reason="origin not allowed"`, "status=403", "origin=https://evil.example"}},
				{"allowed origin", wsDialOpts{LocalIP: "127.0.0.5", Origin: "https://app.example.test"}, 101, nil},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					before := len(logLines(e.gw, tt.log...))
					if got := handshake(t, transport, tt.opts); got != tt.status {
						t.Errorf("handshake status %d, want %d", got, tt.status)
					}
					if tt.log != nil {
						waitLog(t, e.gw, 2*time.Second, before+1, tt.log...)
					}
				})
			}

			t.Run("oversize message", func(t *testing.T) {
				ctx := withTimeout(t, 5*time.Second)
				conn, _, err := dialWS(ctx, e.url(transport), wsDialOpts{Pool: e.pool, LocalIP: "127.0.0.6"})
				if err != nil {
					t.Fatal(err)
				}
				defer conn.CloseNow()
				closedBefore := len(logLines(e.gw, `msg="flow closed"`, "code=1009"))
				big := "OPTIONS sip:example.test SIP/2.0\r\nX-Padding: " + strings.Repeat("a", 4096) + "\r\nContent-Length: 0\r\n\r\n"
				// sipedge may close (1009) while the frame is still being
				// written; then the write fails and the client never reads
				// the close frame. The close code is asserted from the
				// client when it gets it, and always from sipedge's log.
				if err := conn.Write(ctx, websocket.MessageText, []byte(big)); err == nil {
					_, _, err = conn.Read(ctx)
					if code := websocket.CloseStatus(err); code != websocket.StatusMessageTooBig && !isResetOrPipe(err) {
						t.Errorf("after a %d-byte message (read_limit 2048): read error %v (close code %d), want close 1009", len(big), err, code)
					}
				}
				waitLog(t, e.gw, 2*time.Second, closedBefore+1, `msg="flow closed"`, "code=1009", `reason="message too big"`)
			})

			t.Run("connection flood", func(t *testing.T) {
				// A source address of its own per transport: the cap is per IP
				// for the whole server, and earlier subtests' connections
				// may still be closing.
				ip := map[string]string{"ws": "127.0.0.7", "wss": "127.0.0.8"}[transport]
				for i := range perIP {
					if got := handshake(t, transport, wsDialOpts{LocalIP: ip}); got != 101 {
						t.Fatalf("connection %d of %d allowed per address: status %d, want 101", i+1, perIP, got)
					}
				}
				before := len(logLines(e.gw, "status=429", "ip="+ip))
				ctx := withTimeout(t, 5*time.Second)
				_, res, err := dialWS(ctx, e.url(transport), wsDialOpts{Pool: e.pool, LocalIP: ip})
				if err == nil || res == nil || res.StatusCode != http.StatusTooManyRequests {
					t.Fatalf("connection %d from %s: %v (response %v), want HTTP 429", perIP+1, ip, err, res)
				}
				if ra := res.Header.Get("Retry-After"); ra == "" {
					t.Errorf("429 without Retry-After")
				} else if _, err := strconv.Atoi(ra); err != nil {
					t.Errorf("Retry-After %q is not a number of seconds", ra)
				}
				waitLog(t, e.gw, 2*time.Second, before+1, `msg="websocket refused"`, `reason="too many connections from this address"`, "status=429", "ip="+ip)
				// Another address is not affected.
				if got := handshake(t, transport, wsDialOpts{LocalIP: "127.0.0.9"}); got != 101 {
					t.Errorf("a connection from another address: status %d, want 101", got)
				}
			})

			t.Run("tcp flood", func(t *testing.T) {
				// Connections that never start TLS or HTTP: past the flow cap
				// plus the accept slack (16), sipedge closes them at accept,
				// before spending a handshake on them, and says so once.
				ip := map[string]string{"ws": "127.0.0.10", "wss": "127.0.0.11"}[transport]
				addr := e.gw.Addr(t, transport)
				d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
				open := func() net.Conn {
					t.Helper()
					c, err := d.Dial("tcp", addr)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { _ = c.Close() })
					return c
				}
				closedWithin := func(c net.Conn, d time.Duration) bool {
					_ = c.SetReadDeadline(time.Now().Add(d))
					_, err := c.Read(make([]byte, 1))
					var ne net.Error
					return err != nil && !(errors.As(err, &ne) && ne.Timeout())
				}
				before := len(logLines(e.gw, "connections refused at accept", "last_ip="+ip))
				// Quickly: silent connections are dropped after the 10 s
				// header timeout, which would free their slots.
				allowed := make([]net.Conn, perIP+16)
				for i := range allowed {
					allowed[i] = open()
				}
				if c := open(); !closedWithin(c, time.Second) {
					t.Fatalf("silent connection %d from %s was not closed at accept", perIP+17, ip)
				}
				for i, c := range allowed {
					if closedWithin(c, 5*time.Millisecond) {
						t.Fatalf("silent connection %d of %d allowed from %s was closed", i+1, len(allowed), ip)
					}
				}
				waitLog(t, e.gw, 2*time.Second, before+1, "connections refused at accept", `reason="too many connections"`, "last_ip="+ip)
				// Another address is not affected.
				if got := handshake(t, transport, wsDialOpts{LocalIP: "127.0.0.12"}); got != 101 {
					t.Errorf("a connection from another address: status %d, want 101", got)
				}
			})
		})
	}
}

// isResetOrPipe reports a connection the peer already tore down.
func isResetOrPipe(err error) bool {
	return err != nil && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		strings.Contains(err.Error(), "broken pipe") || strings.Contains(err.Error(), "connection reset"))
}
