package listen

import (
	"time"

	"github.com/sipedge/sipedge/internal/field"
)

// Config is the limits of the tcp:// and tls:// SIP listeners (section
// `tcp`; TLS runs over TCP and shares them). The zero value of every field
// means "use the documented default" (see SetDefaults).
type Config struct {
	// MaxConns caps the open TCP connections of all tcp:// and tls://
	// listeners together; beyond it a new connection is closed at once,
	// before any TLS handshake. Each costs a file descriptor and, while
	// open, sipgo's 32 KiB read buffer. Default 10000.
	MaxConns int `yaml:"max_connections"`

	// MaxConnsPerIP caps open connections from one source IP address, in
	// the same way. A site with many phones behind one NAT, or an SBC in
	// front, shares one address: raise it there. Default 100; at most
	// max_connections.
	MaxConnsPerIP int `yaml:"max_connections_per_ip"`

	// MessageTimeout is how long a SIP message may take to arrive once its
	// first byte has: a connection holding half a message longer is closed.
	// It also bounds a TLS handshake. Default 10s.
	MessageTimeout time.Duration `yaml:"message_timeout"`

	// IdleTimeout closes a connection that has received nothing, not even
	// a CRLF keepalive, for this long. SIP clients on TCP send keepalives
	// every 30 to 120 s (RFC 5626) or re-register; one that does neither
	// more often than this loses its connection and must open a new one.
	// Default 10m; at least message_timeout.
	IdleTimeout time.Duration `yaml:"idle_timeout"`

	// WriteTimeout bounds one write to a client; a client that does not
	// read for this long is disconnected. Default 10s.
	WriteTimeout time.Duration `yaml:"write_timeout"`

	// MaxMessageSize is the largest SIP message accepted, headers and body,
	// in bytes. A larger one is answered 413 Request Entity Too Large (when
	// its headers are complete) and its connection closed. Default 65535, the
	// SIP stack's own limit; range 1024..65535.
	MaxMessageSize int `yaml:"max_message_size"`
}

// Defaults documented on Config.
const (
	DefaultMaxConns       = 10000
	DefaultMaxConnsPerIP  = 100
	DefaultMessageTimeout = 10 * time.Second
	DefaultIdleTimeout    = 10 * time.Minute
	DefaultWriteTimeout   = 10 * time.Second
	DefaultMaxMessageSize = 65535
)

// SetDefaults fills zero fields with their documented defaults.
func (c *Config) SetDefaults() {
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxConnsPerIP == 0 {
		c.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if c.MessageTimeout == 0 {
		c.MessageTimeout = DefaultMessageTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
}

// Validate reports every problem in c at once, as *field.Error values joined
// with errors.Join. Call SetDefaults first.
func (c *Config) Validate() error {
	var l field.List
	if c.MaxConns < 1 {
		l.Add("max_connections", c.MaxConns, "must be > 0")
	}
	if c.MaxConnsPerIP < 1 {
		l.Add("max_connections_per_ip", c.MaxConnsPerIP, "must be > 0")
	} else if c.MaxConns > 0 && c.MaxConnsPerIP > c.MaxConns {
		l.Add("max_connections_per_ip", c.MaxConnsPerIP, "must be <= max_connections (%d)", c.MaxConns)
	}
	if c.MessageTimeout <= 0 {
		l.Add("message_timeout", c.MessageTimeout, "must be > 0")
	}
	if c.IdleTimeout <= 0 {
		l.Add("idle_timeout", c.IdleTimeout, "must be > 0")
	} else if c.MessageTimeout > 0 && c.IdleTimeout < c.MessageTimeout {
		l.Add("idle_timeout", c.IdleTimeout, "must be >= message_timeout (%s)", c.MessageTimeout)
	}
	if c.WriteTimeout <= 0 {
		l.Add("write_timeout", c.WriteTimeout, "must be > 0")
	}
	if c.MaxMessageSize < 1024 || c.MaxMessageSize > 65535 {
		l.Add("max_message_size", c.MaxMessageSize, "must be 1024..65535 bytes")
	}
	return l.Err()
}
