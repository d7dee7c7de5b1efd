package auth

import (
	"fmt"
	"time"

	"github.com/sipedge/sipedge/internal/field"
)

// Algorithm names as written in digest headers.
const (
	MD5    = "MD5"
	SHA256 = "SHA-256"
)

// Secret is one subscriber's credential: a clear password, or HA1MD5, the
// lower-case hex MD5(user:realm:password). HA1MD5 only allows MD5 digest;
// SHA-256 needs Password.
type Secret struct{ Password, HA1MD5 string }

// Config holds the digest authentication settings (RFC 3261 §22, RFC 8760):
// the auth section of the configuration file.
type Config struct {
	// Realm is the digest realm shown to clients and used in HA1.
	// Required; the gateway defaults it to its first domain.
	Realm string `yaml:"realm"`
	// Algorithms lists the digest algorithms offered, in order: one
	// challenge header per algorithm, all sharing one nonce. Allowed:
	// "MD5", "SHA-256", each at most once. Default [MD5]: every SIP client
	// knows MD5, and clients disagree on a list of two: SIPp 3.6 answers
	// the first header only (and refuses SHA-256), JsSIP 3.13 the last
	// only (and refuses SHA-256), baresip 1.0 (libre) refuses the whole
	// answer when any header is not MD5. List [MD5, SHA-256] to offer
	// SHA-256 (RFC 8760) to clients that choose among headers.
	Algorithms []string `yaml:"algorithms"`
	// NonceTTL is how long a nonce is valid; afterwards the client gets a
	// fresh challenge with stale=true. Default 300s.
	NonceTTL time.Duration `yaml:"nonce_ttl"`
	// MaxNonces caps how many nonces in use are remembered for replay
	// detection. When full, the oldest is forgotten and its client gets a
	// stale challenge. Default 65536.
	MaxNonces int `yaml:"max_nonces"`
}

// SetDefaults fills zero fields with their documented defaults.
func (c *Config) SetDefaults() {
	if len(c.Algorithms) == 0 {
		c.Algorithms = []string{MD5}
	}
	if c.NonceTTL == 0 {
		c.NonceTTL = 300 * time.Second
	}
	if c.MaxNonces == 0 {
		c.MaxNonces = 1 << 16
	}
}

// Validate reports every problem in c. Call SetDefaults first.
func (c *Config) Validate() error {
	var l field.List
	if c.Realm == "" {
		l.Add("realm", nil, "is required")
	}
	seen := map[string]bool{}
	for i, a := range c.Algorithms {
		p := fmt.Sprintf("algorithms[%d]", i)
		switch {
		case a != MD5 && a != SHA256:
			l.Add(p, a, "must be %s or %s", MD5, SHA256)
		case seen[a]:
			l.Add(p, a, "listed twice")
		}
		seen[a] = true
	}
	if c.NonceTTL < time.Second {
		l.Add("nonce_ttl", c.NonceTTL, "must be >= 1s")
	}
	if c.MaxNonces < 1 {
		l.Add("max_nonces", c.MaxNonces, "must be >= 1")
	}
	return l.Err()
}
