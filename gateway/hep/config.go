package hep

import (
	"net"
	"strconv"

	"github.com/sipedge/sipedge/internal/field"
)

// Config is the hep section of the configuration file: where captured SIP
// messages go. Off unless address is set.
type Config struct {
	// Address is the HOST:PORT of the HEP collector (Homer's heplify-server
	// listens on 9060). Empty (default): no capture.
	Address string `yaml:"address"`
	// Transport is "udp" (default: one datagram per message, as Kamailio's
	// siptrace sends) or "tcp" (one stream, reconnected when it breaks).
	Transport string `yaml:"transport"`
	// CaptureID is the capture agent id (HEP chunk 0x000c) that tells this
	// node's packets apart in Homer. Default 2001. 1..4294967295.
	CaptureID uint32 `yaml:"capture_id"`
	// AuthKey, when set, is sent in every packet (chunk 0x000e) for a
	// collector that checks it. Default: none.
	AuthKey string `yaml:"auth_key"`
	// QueueSize is how many packets may wait for the socket; beyond it new
	// packets are dropped (and counted), so capture never slows the proxy.
	// Default 4096.
	QueueSize int `yaml:"queue_size"`
}

// Enabled reports whether capture is on.
func (c *Config) Enabled() bool { return c.Address != "" }

// SetDefaults fills zero fields with their documented defaults.
func (c *Config) SetDefaults() {
	if !c.Enabled() {
		return
	}
	if c.Transport == "" {
		c.Transport = "udp"
	}
	if c.CaptureID == 0 {
		c.CaptureID = 2001
	}
	if c.QueueSize == 0 {
		c.QueueSize = 4096
	}
}

// Validate reports every problem in c at once. Call SetDefaults first.
func (c *Config) Validate() error {
	var l field.List
	if !c.Enabled() {
		if c.AuthKey != "" || c.Transport != "" || c.CaptureID != 0 {
			l.Add("address", nil, "is required when other hep fields are set")
		}
		return l.Err()
	}
	if _, port, err := net.SplitHostPort(c.Address); err != nil {
		l.Add("address", c.Address, "want HOST:PORT: %v", err)
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		l.Add("address", c.Address, "port %q must be 1-65535", port)
	}
	if c.Transport != "udp" && c.Transport != "tcp" {
		l.Add("transport", c.Transport, "must be udp or tcp")
	}
	if c.QueueSize < 1 || c.QueueSize > 1<<20 {
		l.Add("queue_size", c.QueueSize, "must be 1..1048576")
	}
	return l.Err()
}
