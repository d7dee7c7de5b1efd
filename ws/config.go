package ws

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/sipedge/sipedge/internal/field"
)

// Config is the WebSocket edge's part of the configuration file (section
// `websocket`). The zero value of every field means "use the documented
// default" (see SetDefaults).
type Config struct {
	// Origins lists the browser Origins allowed to open a SIP WebSocket,
	// besides the page's own host (an Origin whose host equals the request's
	// Host header is always allowed, and so is a request without Origin,
	// which browsers always send). Each entry is a case-insensitive
	// path.Match pattern on the Origin's host ("app.example.com",
	// "*.example.com"), or on "scheme://host" if it contains "://"
	// ("https://*.example.com"). Empty: same host only. Another Origin gets
	// HTTP 403.
	Origins []string `yaml:"origins"`

	// Hosts lists the Host header values accepted on the upgrade request,
	// either "name" (any port) or "name:port". Empty: any host. Another Host
	// gets HTTP 403.
	Hosts []string `yaml:"hosts"`

	// ReadLimit is the largest SIP message accepted, in bytes. A larger
	// message closes the connection with WebSocket close code 1009 (message
	// too big). Default 65536; range 1024..1048576.
	ReadLimit int64 `yaml:"read_limit"`

	// MaxConns caps the number of open WebSocket connections on this server;
	// more get HTTP 503. Each idle connection costs about 16 KiB of memory
	// and one file descriptor (raise `ulimit -n` accordingly). Default 10000.
	MaxConns int `yaml:"max_connections"`

	// MaxConnsPerIP caps open connections from one source IP address; more
	// get HTTP 429. Behind a reverse proxy every client has the proxy's
	// address, so raise it there. Default 100; at most max_connections.
	MaxConnsPerIP int `yaml:"max_connections_per_ip"`

	// PingInterval is how long a connection may be silent (no message, no
	// pong) before sipedge sends a WebSocket ping. Default 30s.
	PingInterval time.Duration `yaml:"ping_interval"`

	// PongTimeout is how long sipedge waits for the pong; without one the
	// connection is dropped (logged as "pong timeout", code 1006). Default
	// 10s.
	PongTimeout time.Duration `yaml:"pong_timeout"`

	// IdleTimeout closes a connection (code 1001, "idle timeout") that has
	// carried neither a message nor a pong for this long. As a client that
	// answers pings is never idle for longer than ping_interval, this is a
	// backstop for peers whose pongs stop without the TCP connection
	// failing. Must exceed ping_interval + pong_timeout. Default 10m.
	IdleTimeout time.Duration `yaml:"idle_timeout"`

	// WriteTimeout bounds one message write to a client; a client that does
	// not read for this long is dropped. Default 10s.
	WriteTimeout time.Duration `yaml:"write_timeout"`

	// MaxMessageRate caps the SIP messages one connection may send, per
	// second on average, in bursts of up to twice that. A connection over
	// it is closed with code 1008 (policy violation). A browser sends a
	// few a second at most. Default 200; range 1..100000.
	MaxMessageRate int `yaml:"max_message_rate"`
}

// Defaults documented on Config.
const (
	DefaultReadLimit     = 65536
	DefaultMaxConns      = 10000
	DefaultMaxConnsPerIP = 100
	DefaultPingInterval  = 30 * time.Second
	DefaultPongTimeout   = 10 * time.Second
	DefaultIdleTimeout   = 10 * time.Minute
	DefaultWriteTimeout  = 10 * time.Second
	DefaultMessageRate   = 200
)

// SetDefaults fills zero fields with their documented defaults.
func (c *Config) SetDefaults() {
	if c.ReadLimit == 0 {
		c.ReadLimit = DefaultReadLimit
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxConnsPerIP == 0 {
		c.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if c.PingInterval == 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.PongTimeout == 0 {
		c.PongTimeout = DefaultPongTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.MaxMessageRate == 0 {
		c.MaxMessageRate = DefaultMessageRate
	}
}

// Validate reports every problem in c at once, as *field.Error values joined
// with errors.Join. Call SetDefaults first.
func (c *Config) Validate() error {
	var l field.List
	for i, o := range c.Origins {
		p := fmt.Sprintf("origins[%d]", i)
		switch {
		case o == "":
			l.Add(p, o, "must not be empty")
		case o == "*":
			l.Add(p, o, "allows every web site to use your users' sessions; list the sites instead")
		default:
			if _, err := path.Match(strings.ToLower(o), ""); err != nil {
				l.Add(p, o, "bad pattern: %v", err)
			}
		}
	}
	for i, h := range c.Hosts {
		if h == "" || strings.ContainsAny(h, " /@") {
			l.Add(fmt.Sprintf("hosts[%d]", i), h, "must be a host name or host:port")
		}
	}
	if c.ReadLimit < 1024 || c.ReadLimit > 1<<20 {
		l.Add("read_limit", c.ReadLimit, "must be 1024..1048576 bytes")
	}
	if c.MaxConns < 1 {
		l.Add("max_connections", c.MaxConns, "must be > 0")
	}
	if c.MaxConnsPerIP < 1 {
		l.Add("max_connections_per_ip", c.MaxConnsPerIP, "must be > 0")
	} else if c.MaxConnsPerIP > c.MaxConns && c.MaxConns > 0 {
		l.Add("max_connections_per_ip", c.MaxConnsPerIP, "must be <= max_connections (%d)", c.MaxConns)
	}
	if c.PingInterval <= 0 {
		l.Add("ping_interval", c.PingInterval, "must be > 0")
	}
	if c.PongTimeout <= 0 {
		l.Add("pong_timeout", c.PongTimeout, "must be > 0")
	}
	if c.IdleTimeout <= c.PingInterval+c.PongTimeout {
		l.Add("idle_timeout", c.IdleTimeout, "must be > ping_interval + pong_timeout (%s)", c.PingInterval+c.PongTimeout)
	}
	if c.WriteTimeout <= 0 {
		l.Add("write_timeout", c.WriteTimeout, "must be > 0")
	}
	if c.MaxMessageRate < 1 || c.MaxMessageRate > 100000 {
		l.Add("max_message_rate", c.MaxMessageRate, "must be 1..100000 messages a second")
	}
	return l.Err()
}
