package rtpengine

import (
	"time"

	"github.com/sipedge/sipedge/config/field"
)

// Config lists the rtpengine nodes sipedge controls. (Placeholder until the
// ng client lands; the full set of keys is documented in docs/configuration.md.)
type Config struct {
	// Nodes are ng control addresses written "udp:127.0.0.1:22222" or
	// "tcp:127.0.0.1:22223". Empty: no media anchoring.
	Nodes []string `yaml:"nodes"`
	// Timeout bounds one ng command including resends. Default 1s.
	Timeout time.Duration `yaml:"timeout"`
}

// SetDefaults fills zero fields with their defaults.
func (c *Config) SetDefaults() {
	if c.Timeout == 0 {
		c.Timeout = time.Second
	}
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var l field.List
	if c.Timeout <= 0 {
		l.Add("timeout", c.Timeout, "must be > 0")
	}
	return l.Err()
}
