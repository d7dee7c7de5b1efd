package registrar

import (
	"time"

	"github.com/sipedge/sipedge/internal/field"
)

// Config holds the registration limits (RFC 3261 §10).
type Config struct {
	// MinExpires is the shortest registration accepted; a shorter non-zero
	// expiry gets 423 Interval Too Brief. Default 60s.
	MinExpires time.Duration `yaml:"min_expires"`
	// MaxExpires caps a registration's lifetime; longer requests are cut
	// to it. Default 3600s.
	MaxExpires time.Duration `yaml:"max_expires"`
	// DefaultExpires applies when the REGISTER gives no expiry (no expires
	// parameter, no Expires header). Default 3600s.
	DefaultExpires time.Duration `yaml:"default_expires"`
	// MaxContacts caps the bindings per address of record; a REGISTER that
	// would exceed it gets 403. Default 10.
	MaxContacts int `yaml:"max_contacts"`
}

// SetDefaults fills zero fields with their documented defaults.
func (c *Config) SetDefaults() {
	if c.MinExpires == 0 {
		c.MinExpires = 60 * time.Second
	}
	if c.MaxExpires == 0 {
		c.MaxExpires = 3600 * time.Second
	}
	if c.DefaultExpires == 0 {
		c.DefaultExpires = 3600 * time.Second
	}
	if c.MaxContacts == 0 {
		c.MaxContacts = 10
	}
}

// Validate reports every problem in c. Call SetDefaults first.
func (c *Config) Validate() error {
	var l field.List
	if c.MinExpires < time.Second {
		l.Add("min_expires", c.MinExpires, "must be >= 1s")
	}
	if c.MaxExpires < c.MinExpires {
		l.Add("max_expires", c.MaxExpires, "must be >= min_expires (%s)", c.MinExpires)
	}
	if c.DefaultExpires < c.MinExpires || c.DefaultExpires > c.MaxExpires {
		l.Add("default_expires", c.DefaultExpires, "must lie between min_expires (%s) and max_expires (%s)", c.MinExpires, c.MaxExpires)
	}
	if c.MaxContacts < 1 {
		l.Add("max_contacts", c.MaxContacts, "must be >= 1")
	}
	return l.Err()
}

// clamp makes c usable whatever it holds: defaults, then limits forced into
// order. New uses it because it cannot fail; Validate is where an operator
// hears about a bad configuration.
func (c *Config) clamp() {
	c.SetDefaults()
	if c.MinExpires < time.Second {
		c.MinExpires = time.Second
	}
	if c.MaxExpires < c.MinExpires {
		c.MaxExpires = c.MinExpires
	}
	c.DefaultExpires = min(max(c.DefaultExpires, c.MinExpires), c.MaxExpires)
	if c.MaxContacts < 1 {
		c.MaxContacts = 10
	}
}
