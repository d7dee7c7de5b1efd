package trunk

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/internal/field"
)

// Config is one trunk: a provider sipedge registers with, sends calls to
// and takes calls from. The zero value of every field means "use the
// documented default" (see SetDefaults).
type Config struct {
	// URIs are the provider's addresses, tried in order for every call
	// (serial failover on 408, 5xx or a transport error) and for the
	// registration: sip: or sips: URIs with a host and optional port and
	// transport (udp, tcp, tls). A host name is resolved as RFC 3263 says
	// (NAPTR, SRV with priority and weight, A/AAAA). Required.
	URIs []string `yaml:"uris"`
	// Username is the account at the provider: the user of the From and
	// To of the REGISTER and the digest user name (unless auth_username is
	// given). Required with register or password.
	Username string `yaml:"username"`
	// AuthUsername is the digest user name when it differs from username.
	// Default: username.
	AuthUsername string `yaml:"auth_username"`
	// Password is the digest password that answers the provider's 401 and
	// 407 challenges (on REGISTER, INVITE and in-dialog requests).
	// Required with username.
	Password string `yaml:"password"`
	// Realm, when set, is the only digest realm answered: a challenge for
	// another realm is passed back to the caller unanswered. Default: any.
	Realm string `yaml:"realm"`
	// Domain is the host of the From and To of the REGISTER (the address
	// of record user@domain). Default: the host of the first URI.
	Domain string `yaml:"domain"`
	// Register keeps a registration with the provider (REGISTER to the
	// first URI that answers, refreshed before expiry). Default false.
	Register bool `yaml:"register"`
	// Expires is the registration lifetime asked for, in seconds; the
	// provider's answer (Contact expires, Expires, 423 Min-Expires) wins.
	// Default 3600; 30..86400.
	Expires int `yaml:"expires"`
	// FromUser, when set, replaces the user of the From of calls sent to
	// the trunk, and is sent as P-Asserted-Identity too (caller-ID the
	// provider accepts). Default: the caller's own.
	FromUser string `yaml:"from_user"`
	// DIDs map the provider's numbers, as the Request-URI user (or To
	// user) of its calls, to local users (keys of users:). A call to a
	// number not listed gets 404.
	DIDs map[string]string `yaml:"dids"`
	// MaxCalls caps the concurrent calls routed to this trunk (a call
	// holds its slot from routing until it fails or its BYE passes; one
	// whose end is never seen, after media.max_call_duration). Over it the
	// route's next target is tried, else 503. 0 (default) = no limit.
	MaxCalls int `yaml:"max_calls"`
	// TLSNames identify the trunk by the client certificate of its TLS
	// (or WSS) connections, for a provider whose source address is not
	// known in advance: a request over a connection whose certificate,
	// verified against tls.client_ca (needs tls.client_auth request or
	// require), has one of these among its subject alternative names comes
	// from this trunk (no digest, dids apply), wherever it comes from. An
	// entry is a DNS name (carrier.example), a one-label wildcard
	// (*.carrier.example) or a URI SAN (sip:carrier.example), compared
	// without case. A connection without a certificate, or with one
	// client_ca does not verify or naming none of them, is not the trunk.
	// Default none.
	TLSNames []string `yaml:"tls_names"`
}

// SetDefaults fills zero fields with their documented defaults.
func (c *Config) SetDefaults() {
	if c.Expires == 0 {
		c.Expires = 3600
	}
	if c.AuthUsername == "" {
		c.AuthUsername = c.Username
	}
}

// Validate reports every problem in c. Call SetDefaults first. Whether each
// DID names a configured user is the gateway's check (it knows the users).
func (c *Config) Validate() error {
	var l field.List
	if len(c.URIs) == 0 {
		l.Add("uris", nil, "at least one provider URI is required")
	}
	for i, s := range c.URIs {
		if _, err := ParseURI(s); err != nil {
			l.Add(fmt.Sprintf("uris[%d]", i), s, "%v", err)
		}
	}
	switch {
	case c.Username != "" && c.Password == "":
		l.Add("password", nil, "required: username %q is set", c.Username)
	case c.Password != "" && c.Username == "":
		l.Add("username", nil, "required: password is set")
	case c.Register && c.Username == "":
		l.Add("username", nil, "required: register is true")
	}
	if strings.ContainsAny(c.Username, " :@;<>") {
		l.Add("username", c.Username, "must not contain space, ':', '@', ';', '<' or '>'")
	}
	if strings.ContainsAny(c.Domain, " :@;<>/") {
		l.Add("domain", c.Domain, "must be a host name")
	}
	if c.Expires < 30 || c.Expires > 86400 {
		l.Add("expires", c.Expires, "must be 30..86400 (seconds)")
	}
	if strings.ContainsAny(c.FromUser, " :@;<>") {
		l.Add("from_user", c.FromUser, "must not contain space, ':', '@', ';', '<' or '>'")
	}
	for _, did := range slices.Sorted(maps.Keys(c.DIDs)) {
		if did == "" || strings.ContainsAny(did, " :@;<>") {
			l.Add("dids."+did, did, "a DID must be a SIP user (digits, '+')")
		}
	}
	if c.MaxCalls < 0 {
		l.Add("max_calls", c.MaxCalls, "must be >= 0 (0 = no limit)")
	}
	for i, n := range c.TLSNames {
		if err := checkTLSName(n); err != nil {
			l.Add(fmt.Sprintf("tls_names[%d]", i), n, "%v", err)
		}
	}
	return l.Err()
}

// ParseURI parses one entry of uris: a sip: or sips: URI with a host, over
// udp, tcp or tls.
func ParseURI(s string) (sip.Uri, error) {
	t, err := route.ParseTarget(s)
	if err != nil {
		return sip.Uri{}, err
	}
	if t.Kind != route.KindHop {
		return sip.Uri{}, fmt.Errorf("%w: a trunk URI must be a sip: or sips: URI", route.ErrTarget)
	}
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		return sip.Uri{}, err
	}
	return u, nil
}

// RegistrationConfig is the policy every trunk registration shares
// (trunk_registration:): how fast registrations start and how failures are
// retried.
type RegistrationConfig struct {
	// Rate caps the REGISTERs sent per second, all trunks together
	// (challenge answers, refreshes and retries included; the unregisters
	// at shutdown are not held back), so a restart with many trunks is no
	// storm. Default 20.
	Rate float64 `yaml:"rate"`
	// StartDelay is the longest random delay before a trunk's first
	// REGISTER after start. Default 10s; 0s..10m. Written as -1s: none.
	StartDelay time.Duration `yaml:"start_delay"`
	// Timeout is how long a REGISTER may wait for its final response
	// before it counts as failed (and the next URI is tried). Default 8s.
	Timeout time.Duration `yaml:"timeout"`
	// RetryMin and RetryMax bound the exponential backoff after a failure
	// (timeout, transport error, 5xx, a rejected challenge): the first
	// retry waits RetryMin, each next one twice as long up to RetryMax,
	// each with ±20% jitter. A Retry-After longer than that wins.
	// Defaults 30s and 10m.
	RetryMin time.Duration `yaml:"retry_min"`
	RetryMax time.Duration `yaml:"retry_max"`
	// ForbiddenRetry is the wait after 403 Forbidden or 404 Not Found
	// (wrong account): the provider is not asked again sooner. Default 1h.
	ForbiddenRetry time.Duration `yaml:"forbidden_retry"`
	// RefreshPercent is when a registration is refreshed, in percent of
	// the lifetime granted (at most 10s before it ends for short ones).
	// Default 80; 50..95.
	RefreshPercent int `yaml:"refresh_percent"`
}

// SetDefaults fills zero fields with their documented defaults.
func (c *RegistrationConfig) SetDefaults() {
	if c.Rate == 0 {
		c.Rate = 20
	}
	if c.StartDelay == 0 {
		c.StartDelay = 10 * time.Second
	}
	if c.Timeout == 0 {
		c.Timeout = 8 * time.Second
	}
	if c.RetryMin == 0 {
		c.RetryMin = 30 * time.Second
	}
	if c.RetryMax == 0 {
		c.RetryMax = 10 * time.Minute
	}
	if c.ForbiddenRetry == 0 {
		c.ForbiddenRetry = time.Hour
	}
	if c.RefreshPercent == 0 {
		c.RefreshPercent = 80
	}
}

// Validate reports every problem in c. Call SetDefaults first.
func (c *RegistrationConfig) Validate() error {
	var l field.List
	if c.Rate <= 0 {
		l.Add("rate", c.Rate, "must be > 0 (REGISTERs per second)")
	}
	if c.StartDelay > 10*time.Minute || (c.StartDelay < 0 && c.StartDelay != -time.Second) {
		l.Add("start_delay", c.StartDelay, "must be 0s..10m (or -1s: none)")
	}
	if c.Timeout < 100*time.Millisecond {
		l.Add("timeout", c.Timeout, "must be >= 100ms")
	}
	if c.RetryMin < 100*time.Millisecond {
		l.Add("retry_min", c.RetryMin, "must be >= 100ms")
	}
	if c.RetryMax < c.RetryMin {
		l.Add("retry_max", c.RetryMax, "must be >= retry_min (%s)", c.RetryMin)
	}
	if c.ForbiddenRetry < c.RetryMin {
		l.Add("forbidden_retry", c.ForbiddenRetry, "must be >= retry_min (%s)", c.RetryMin)
	}
	if c.RefreshPercent < 50 || c.RefreshPercent > 95 {
		l.Add("refresh_percent", c.RefreshPercent, "must be 50..95")
	}
	return l.Err()
}
