package nat

import (
	"time"

	"github.com/sipedge/sipedge/internal/field"
)

// Config is the NAT part of the configuration file (section `nat`). The
// STUN responder is enabled by a `stun://HOST:PORT` entry in `listen`.
type Config struct {
	// Keepalive keeps the NAT bindings of UDP clients behind NAT open.
	Keepalive KeepaliveConfig `yaml:"keepalive"`
}

// KeepaliveConfig sets how NATed UDP contacts are pinged.
type KeepaliveConfig struct {
	// Method is "options" (a SIP OPTIONS request; the client's answer
	// refreshes the binding from its side too), "crlf" (a 4-byte
	// "\r\n\r\n" packet, cheaper, no answer) or "off". Default options.
	Method string `yaml:"method"`

	// Interval is the time between two pings to one contact. Most NATs
	// drop idle UDP bindings after 30 to 120 seconds. Default 20s; range
	// 5s..10m.
	Interval time.Duration `yaml:"interval"`
}

// Keepalive methods.
const (
	MethodOptions = "options"
	MethodCRLF    = "crlf"
	MethodOff     = "off"
)

// SetDefaults fills zero fields with their documented defaults.
func (c *Config) SetDefaults() {
	if c.Keepalive.Method == "" {
		c.Keepalive.Method = MethodOptions
	}
	if c.Keepalive.Interval == 0 {
		c.Keepalive.Interval = 20 * time.Second
	}
}

// Validate reports every problem in c at once, as *field.Error values joined
// with errors.Join. Call SetDefaults first.
func (c *Config) Validate() error {
	var l field.List
	switch c.Keepalive.Method {
	case MethodOptions, MethodCRLF, MethodOff:
	default:
		l.Add("keepalive.method", c.Keepalive.Method, "must be options, crlf or off")
	}
	if c.Keepalive.Interval < 5*time.Second || c.Keepalive.Interval > 10*time.Minute {
		l.Add("keepalive.interval", c.Keepalive.Interval, "must be 5s..10m")
	}
	return l.Err()
}
