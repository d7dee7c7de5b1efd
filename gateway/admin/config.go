package admin

import (
	"net"
	"net/netip"
	"strconv"

	"github.com/sipedge/sipedge/internal/field"
)

// Config is the admin section of the configuration file.
type Config struct {
	// Listen is the HOST:PORT of the admin HTTP server (plain HTTP). Empty
	// (default): no admin server. Without Token the host must be a
	// loopback address (127.0.0.1, ::1 or localhost).
	Listen string `yaml:"listen"`

	// Token, when set, is required on every request as the header
	// "Authorization: Bearer TOKEN", and lets Listen be any address. Use a
	// long random string; the endpoint speaks plain HTTP, so keep it on a
	// private network. Default: none.
	Token string `yaml:"token"`

	// LadderCalls is how many recent calls the call-ladder page (/ladder)
	// keeps the SIP messages of, in memory (at most 200 messages of 16 KiB
	// each per call). Default 100; 1..10000, or -1: no ladder (and no
	// copy of each message kept).
	LadderCalls int `yaml:"ladder_calls"`
}

// Enabled reports whether the admin server runs.
func (c *Config) Enabled() bool { return c.Listen != "" }

// SetDefaults fills zero fields with their documented defaults.
func (c *Config) SetDefaults() {
	if c.LadderCalls == 0 {
		c.LadderCalls = 100
	}
}

// Validate reports every problem in c at once, as *field.Error values joined
// with errors.Join. Call SetDefaults first.
func (c *Config) Validate() error {
	var l field.List
	if !c.Enabled() {
		if c.Token != "" {
			l.Add("token", nil, "has no effect without admin.listen")
		}
		return l.Err()
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		l.Add("listen", c.Listen, "want HOST:PORT: %v", err)
		return l.Err()
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		l.Add("listen", c.Listen, "port %q must be 0-65535", port)
	}
	if c.LadderCalls < -1 || c.LadderCalls > 10000 {
		l.Add("ladder_calls", c.LadderCalls, "must be 1..10000, or -1 (off)")
	}
	if c.Token == "" && !isLoopback(host) {
		l.Add("listen", c.Listen, "without admin.token the admin server listens on loopback only (127.0.0.1, ::1, localhost)")
	}
	return l.Err()
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
