package ban

import (
	"fmt"
	"time"

	"github.com/sipedge/sipedge/internal/field"
)

// Config is the ban: section: when a source address is banned and for how
// long. Protection is on by default; every threshold is per source
// address and far above what a busy legitimate PBX or phone sends.
type Config struct {
	// Off turns every ban off (no sampling, no scanner check, no table).
	// Default false: protection is on.
	Off bool `yaml:"off"`
	// Window is the span of the request-rate limit (Kamailio pike's
	// sampling_time_unit), counted as a sliding window (this window's
	// requests plus the last one's weighted by the part of this window
	// still to come). Default 2s; 100ms..1m.
	Window time.Duration `yaml:"window"`
	// MaxRequests is how many SIP requests one source may send within one
	// window; the next one bans it. Responses and keepalives are not
	// counted; trusted networks and addresses that authenticated within
	// vouch_time are never banned by rate. Default 400 (200 requests/s
	// sustained, about 60 new calls/s with their ACKs and BYEs and
	// retransmissions from one untrusted address). At least 10.
	MaxRequests int `yaml:"max_requests"`
	// MaxAuthFailures is how many refused digest answers (wrong password,
	// unknown user, replayed nonce count: all answered 403) one source may
	// give within auth_window; the next bans it. Challenges (401/407) are
	// not failures. Default 10; at least 1.
	MaxAuthFailures int `yaml:"max_auth_failures"`
	// AuthWindow is the period over which auth failures are counted.
	// Default 10m; 1s..24h.
	AuthWindow time.Duration `yaml:"auth_window"`
	// Scanners are User-Agent substrings (compared without case) of known
	// SIP scanners; one request carrying one bans its source at once.
	// Default: friendly-scanner, sipvicious, sipcli, VaxSIPUserAgent,
	// sundayddr, iWar, SIVuS, sip-scan (DefaultScanners()). A list given replaces the default; scanners_off
	// turns the check off.
	Scanners []string `yaml:"scanners"`
	// ScannersOff turns the User-Agent check off. Default false.
	ScannersOff bool `yaml:"scanners_off"`
	// Time is how long a ban lasts. Default 15m; 1s..30d.
	Time time.Duration `yaml:"time"`
	// VouchTime is how long an address that authenticated successfully (a
	// REGISTER or a call with the right password) stays exempt from the
	// rate limit. Default 1h; 1m..30d.
	VouchTime time.Duration `yaml:"vouch_time"`
	// MaxBans caps the ban table; when it is full a new ban replaces an
	// arbitrary old one (spoofed sources cannot grow memory). Default
	// 65536; at least 16.
	MaxBans int `yaml:"max_bans"`
}

// DefaultScanners are the User-Agent substrings banned unless Scanners is
// set: SIPVicious (svmap, svwar, svcrack send "friendly-scanner"), sipcli
// and VaxSIPUserAgent (the three Kamailio's default configuration drops),
// and other scanning tools.
func DefaultScanners() []string {
	return []string{
		"friendly-scanner", "sipvicious", "sipcli", "VaxSIPUserAgent",
		"sundayddr", "iWar", "SIVuS", "sip-scan",
	}
}

// SetDefaults fills every zero field with its documented default.
func (c *Config) SetDefaults() {
	if c.Window == 0 {
		c.Window = 2 * time.Second
	}
	if c.MaxRequests == 0 {
		c.MaxRequests = 400
	}
	if c.MaxAuthFailures == 0 {
		c.MaxAuthFailures = 10
	}
	if c.AuthWindow == 0 {
		c.AuthWindow = 10 * time.Minute
	}
	if len(c.Scanners) == 0 {
		c.Scanners = DefaultScanners()
	}
	if c.Time == 0 {
		c.Time = 15 * time.Minute
	}
	if c.VouchTime == 0 {
		c.VouchTime = time.Hour
	}
	if c.MaxBans == 0 {
		c.MaxBans = 65536
	}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var l field.List
	between := func(name string, v, lo, hi time.Duration) {
		if v != 0 && (v < lo || v > hi) {
			l.Add(name, v, "must be between %v and %v", lo, hi)
		}
	}
	between("window", c.Window, 100*time.Millisecond, time.Minute)
	between("auth_window", c.AuthWindow, time.Second, 24*time.Hour)
	between("time", c.Time, time.Second, 30*24*time.Hour)
	between("vouch_time", c.VouchTime, time.Minute, 30*24*time.Hour)
	if c.MaxRequests != 0 && c.MaxRequests < 10 {
		l.Add("max_requests", c.MaxRequests, "must be >= 10")
	}
	if c.MaxAuthFailures < 0 {
		l.Add("max_auth_failures", c.MaxAuthFailures, "must be >= 1")
	}
	if c.MaxBans != 0 && c.MaxBans < 16 {
		l.Add("max_bans", c.MaxBans, "must be >= 16")
	}
	for i, s := range c.Scanners {
		if s == "" {
			l.Add(fmt.Sprintf("scanners[%d]", i), nil, "must not be empty (it would match every User-Agent)")
		}
	}
	return l.Err()
}
