package gateway

import (
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/auth"
	"github.com/sipedge/sipedge/gateway/registrar"
	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/sets"
	"github.com/sipedge/sipedge/gateway/topo"
	"github.com/sipedge/sipedge/gateway/trunk"
	"github.com/sipedge/sipedge/internal/field"
)

// Config is the proxy core's part of the configuration file. The zero value
// of every field means "use the documented default" (see SetDefaults).
type Config struct {
	// Domains lists the SIP domains this node is registrar and authority
	// for. A REGISTER for another domain gets 403; a request whose
	// Request-URI host is one of these (or one of our own addresses) is
	// looked up in the location service before the routes are tried.
	// Required: at least one.
	Domains []string `yaml:"domains"`

	// Users are the local subscribers and their digest credentials, keyed
	// by user name. Give either password or ha1 (MD5(user:realm:password) in
	// hex, realm being the first domain); SHA-256 digest needs password.
	Users map[string]User `yaml:"users"`

	// Trusted lists source networks (CIDR, or a bare address) whose requests
	// other than REGISTER are accepted without authentication: trunks and
	// PBXs. Everything else must authenticate; an unauthenticated request
	// from an untrusted source is never forwarded.
	Trusted []string `yaml:"trusted"`

	// Routes decide where requests go that are not for a user registered
	// here. They are tried in order; the first whose match fits wins; a route
	// without match fits everything. No fitting route gives 404.
	Routes []route.Rule `yaml:"routes"`

	// Sets are the destination sets, by name, that routes name as
	// set:NAME: members (SIP URIs or trunk:NAME), a selection algorithm,
	// failover codes and OPTIONS probing (sets.Config).
	Sets map[string]sets.Config `yaml:"sets"`

	// Advertise is the host (name or address) written into our Via and
	// Record-Route headers. Default: the address of each listener, which
	// must then not be a wildcard (0.0.0.0, ::).
	Advertise string `yaml:"advertise"`

	// Registrar holds the registration limits.
	Registrar RegistrarConfig `yaml:"registrar"`

	// Auth holds the digest authentication settings (auth.Config: realm,
	// algorithms, nonce_ttl, max_nonces). The realm defaults to the first
	// domain.
	Auth auth.Config `yaml:"auth"`

	// InviteTimeout is our Timer C: how long a forwarded INVITE may stay
	// without a final response (even after a provisional one) before we
	// CANCEL it and answer 408 upstream. Default 120s.
	InviteTimeout time.Duration `yaml:"invite_timeout"`

	// FRTimer is the branch timer (Kamailio's fr_timer): a request sent to
	// a next hop that gives no response at all (not even 100 Trying)
	// within it is given up as 408 and the next target of the route is
	// tried, instead of waiting for the transaction timeout (Timer B/F,
	// 32s). Once any response arrives, invite_timeout applies. Not applied
	// toward WebSocket flows. A route may set its own (routes[].fr_timer).
	// Default 4s; 100ms..32s.
	FRTimer time.Duration `yaml:"fr_timer"`

	// MaxForwards is the Max-Forwards value we add to requests that carry
	// none. Default 70.
	MaxForwards int `yaml:"max_forwards"`

	// TransactionLinger is how long a completed transaction stays
	// to absorb retransmissions (RFC 3261 Timers D and J; over UDP only): a request
	// retransmitted within it is answered again instead of being forwarded
	// anew. Forwarded requests over UDP do not keep their transactions for
	// it: a non-INVITE's final answer and an INVITE's relayed 2xx are kept
	// as bytes, within a byte budget, for 32s (accepted.go), and the
	// INVITE's transactions end 500ms after the 2xx. It still holds
	// transactions other requests complete (an INVITE's client side after
	// a failure answer, Timer D). Default 32s (64*T1, as RFC 3261 says).
	// 1s..32s. Process-wide: it takes effect through ApplyProcessTimers.
	TransactionLinger time.Duration `yaml:"transaction_linger"`

	// Media decides which calls rtpengine anchors (needs rtpengine.nodes).
	Media MediaConfig `yaml:"media"`

	// TopologyHiding names the transports that face the outside: no
	// inside address appears in the Via, Record-Route or Contact of what
	// sipedge sends over them (topo.Config, docs/topology-hiding.md).
	// Needs media.classic_to_classic: anchor, else SDP shows inside media
	// addresses.
	TopologyHiding topo.Config `yaml:"topology_hiding"`

	// Trunks are the SIP providers, keyed by a name that routes use as
	// `trunk:NAME` (letters, digits, '-', '_', '.'): their URIs,
	// credentials, registration, DIDs and call cap (trunk.Config).
	Trunks map[string]trunk.Config `yaml:"trunks"`

	// TrunkRegistration is the policy all trunk registrations share:
	// REGISTERs per second, random start delay, timeout, backoff
	// (trunk.RegistrationConfig).
	TrunkRegistration trunk.RegistrationConfig `yaml:"trunk_registration"`

	// TrunkDNS are the DNS servers (IP:port) that resolve trunk URIs
	// naming a host (RFC 3263: NAPTR, SRV, A/AAAA), asked in order.
	// Default: the nameservers of /etc/resolv.conf.
	TrunkDNS []string `yaml:"trunk_dns"`
}

// MediaConfig decides, per pair of call legs, whether rtpengine relays the
// media. A leg is "browser" when it runs over WebSocket (ws, wss) and
// "classic" otherwise. Browser-to-classic calls are always anchored: that
// is where ICE + DTLS-SRTP is bridged to plain RTP.
type MediaConfig struct {
	// ClassicToClassic is "pass" (SDP untouched, like a plain proxy) or
	// "anchor" (media relayed through rtpengine). Default pass.
	ClassicToClassic string `yaml:"classic_to_classic"`
	// BrowserToBrowser is "anchor" (DTLS-SRTP on both legs through
	// rtpengine) or "pass" (browsers connect directly). Default anchor.
	BrowserToBrowser string `yaml:"browser_to_browser"`
	// DTMF is "pass" (SIP INFO and RFC 4733 go through untouched) or
	// "rfc4733": SIP INFO application/dtmf-relay from a browser toward a
	// classic endpoint is answered here and played by rtpengine as RFC 4733
	// events. Default pass.
	DTMF string `yaml:"dtmf"`
	// MaxCallDuration ends the media session of a call that never saw a
	// BYE (dialog expiry). Default 12h.
	MaxCallDuration time.Duration `yaml:"max_call_duration"`
}

// User is one local subscriber.
type User struct {
	// Password is the clear-text digest password.
	Password string `yaml:"password"`
	// HA1 is MD5(user:realm:password) in lower-case hex, as an alternative
	// to Password. It only allows MD5 digest.
	HA1 string `yaml:"ha1"`
}

// RegistrarConfig is the registrar section: the registration limits
// (registrar.Config: min_expires, max_expires, default_expires,
// max_contacts) and what the gateway does when a connection closes.
type RegistrarConfig struct {
	registrar.Config `yaml:",inline"`
	// FlowGrace is how long the bindings of a WebSocket connection stay
	// after it closes. Meanwhile requests to them get 430 Flow Failed (RFC
	// 5626: the client is expected back on a new connection), and the same
	// +sip.instance registering on a new connection replaces them. 0
	// (default) removes them at once, so requests get 480. At most 10m.
	FlowGrace time.Duration `yaml:"flow_grace"`
}

// Listener is one socket the gateway opens.
type Listener struct {
	// Transport is "udp", "tcp", "tls", "ws", "wss" or "stun".
	Transport string
	// Addr is host:port; port 0 picks a free port (tests).
	Addr string
	// Path is the WebSocket endpoint path (ws, wss).
	Path string
}

// SetDefaults fills zero fields with their documented defaults.
func (c *Config) SetDefaults() {
	if c.InviteTimeout == 0 {
		c.InviteTimeout = 120 * time.Second
	}
	if c.MaxForwards == 0 {
		c.MaxForwards = 70
	}
	if c.FRTimer == 0 {
		c.FRTimer = 4 * time.Second
	}
	if c.TransactionLinger == 0 {
		c.TransactionLinger = 32 * time.Second
	}
	c.Registrar.Config.SetDefaults()
	m := &c.Media
	if m.ClassicToClassic == "" {
		m.ClassicToClassic = "pass"
	}
	if m.BrowserToBrowser == "" {
		m.BrowserToBrowser = "anchor"
	}
	if m.DTMF == "" {
		m.DTMF = "pass"
	}
	if m.MaxCallDuration == 0 {
		m.MaxCallDuration = 12 * time.Hour
	}
	if c.Auth.Realm == "" && len(c.Domains) > 0 {
		c.Auth.Realm = c.Domains[0]
	}
	c.Auth.SetDefaults()
	sets.SetDefaultsAll(c.Sets)
	for name, t := range c.Trunks {
		t.SetDefaults()
		c.Trunks[name] = t
	}
	c.TrunkRegistration.SetDefaults()
}

// Validate reports every problem in c at once, as *field.Error values joined
// with errors.Join. Call SetDefaults first.
func (c *Config) Validate() error {
	var l field.List
	if len(c.Domains) == 0 {
		l.Add("domains", nil, "at least one domain is required")
	}
	for i, d := range c.Domains {
		if d == "" || strings.ContainsAny(d, " :;@/") {
			l.Add(fmt.Sprintf("domains[%d]", i), d, "must be a host name")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Users)) {
		u := c.Users[name]
		p := "users." + name
		switch {
		case name == "" || strings.ContainsAny(name, " :@;"):
			l.Add(p, name, "user name must not be empty or contain space, ':', '@' or ';'")
		case u.Password == "" && u.HA1 == "":
			l.Add(p, nil, "needs password or ha1")
		case u.Password != "" && u.HA1 != "":
			l.Add(p, nil, "give password or ha1, not both")
		case u.HA1 != "" && !isHex(u.HA1, 32):
			l.Add(p+".ha1", u.HA1, "must be 32 hex digits (MD5)")
		}
	}
	for i, t := range c.Trusted {
		if _, err := route.ParsePrefix(t); err != nil {
			l.Add(fmt.Sprintf("trusted[%d]", i), t, "must be a CIDR prefix or an address")
		}
	}
	l.Merge("topology_hiding", c.TopologyHiding.Validate())
	if c.TopologyHiding.Enabled() && c.Media.ClassicToClassic != "anchor" {
		l.Add("media.classic_to_classic", c.Media.ClassicToClassic, "must be anchor with topology_hiding.external (else SDP shows inside media addresses)")
	}
	for i, r := range c.Routes {
		p := fmt.Sprintf("routes[%d]", i)
		l.Merge(p+".match", r.Match.Validate())
		l.Merge(p+".actions", r.Actions.Validate())
		if len(r.To) == 0 && r.API == nil {
			l.Add(p+".to", nil, "at least one next hop is required")
		}
		if r.API != nil {
			validateAPI(&l, p+".api", r.API, c.InviteTimeout)
		}
		if f := r.FRTimer; f != 0 && (f < 100*time.Millisecond || f > 32*time.Second) {
			l.Add(p+".fr_timer", f, "must be 100ms..32s")
		}
		for j, to := range r.To {
			t, err := route.ParseTarget(to)
			if err != nil {
				l.Add(fmt.Sprintf("%s.to[%d]", p, j), to, "%v", err)
				continue
			}
			if msg := c.unknownTarget(t); msg != "" {
				l.Add(fmt.Sprintf("%s.to[%d]", p, j), to, "%s", msg)
			}
		}
	}
	l.Merge("sets", sets.Validate(c.Sets, c.hasTrunk))
	c.validateTrunks(&l)
	l.Merge("registrar", c.Registrar.Config.Validate())
	if g := c.Registrar.FlowGrace; g < 0 || g > 10*time.Minute {
		l.Add("registrar.flow_grace", g, "must be 0s..10m")
	}
	a := c.Auth
	if a.Realm == "" && len(c.Domains) == 0 {
		a.Realm = "-" // the realm defaults to the first domain: the missing domains are the problem reported
	}
	l.Merge("auth", a.Validate())
	if c.InviteTimeout < 100*time.Millisecond {
		l.Add("invite_timeout", c.InviteTimeout, "must be >= 100ms")
	}
	if c.FRTimer < 100*time.Millisecond || c.FRTimer > 32*time.Second {
		l.Add("fr_timer", c.FRTimer, "must be 100ms..32s")
	}
	if c.TransactionLinger < time.Second || c.TransactionLinger > 32*time.Second {
		l.Add("transaction_linger", c.TransactionLinger, "must be 1s..32s")
	}
	if v := c.Media.ClassicToClassic; v != "pass" && v != "anchor" {
		l.Add("media.classic_to_classic", v, "must be pass or anchor")
	}
	if v := c.Media.BrowserToBrowser; v != "pass" && v != "anchor" {
		l.Add("media.browser_to_browser", v, "must be pass or anchor")
	}
	if v := c.Media.DTMF; v != "pass" && v != "rfc4733" {
		l.Add("media.dtmf", v, "must be pass or rfc4733")
	}
	if c.Media.MaxCallDuration < time.Minute {
		l.Add("media.max_call_duration", c.Media.MaxCallDuration, "must be >= 1m")
	}
	if c.MaxForwards < 1 || c.MaxForwards > 255 {
		l.Add("max_forwards", c.MaxForwards, "must be between 1 and 255")
	}
	return l.Err()
}

// unknownTarget says what is wrong with a named target whose name is not
// configured ("" when it is, or when t is a SIP hop).
func (c *Config) unknownTarget(t route.Target) string {
	switch t.Kind {
	case route.KindTrunk:
		if _, ok := c.Trunks[t.Name]; ok {
			return ""
		}
		return fmt.Sprintf("no trunk named %q (trunks:)", t.Name)
	case route.KindSet:
		if _, ok := c.Sets[t.Name]; ok {
			return ""
		}
		return fmt.Sprintf("no destination set named %q (sets:)", t.Name)
	}
	return ""
}

// hasTrunk reports whether a trunk is configured (sets' trunk:NAME
// members): the trunks section answers once it exists.
func (c *Config) hasTrunk(name string) bool {
	return c.unknownTarget(route.Target{Kind: route.KindTrunk, Name: name}) == ""
}

// validateAPI checks a route's routing service.
func validateAPI(l *field.List, p string, a *route.API, inviteTimeout time.Duration) {
	u, err := url.Parse(a.URL)
	switch {
	case a.URL == "":
		l.Add(p+".url", nil, "is required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		l.Add(p+".url", a.URL, "must be an http:// or https:// URL with a host")
	}
	if t := a.Timeout; t != 0 && (t < 10*time.Millisecond || t > 10*time.Second || t >= inviteTimeout) {
		l.Add(p+".timeout", t, "must be 10ms..10s and under invite_timeout")
	}
	for i, m := range a.Methods {
		if m == "" || strings.ToUpper(m) != m || strings.ContainsAny(m, " \t:;") {
			l.Add(fmt.Sprintf("%s.methods[%d]", p, i), m, "must be a method name in capitals (INVITE, MESSAGE)")
		}
	}
	for i, f := range a.Failover {
		if _, err := route.ParseCodes([]string{f}); err != nil {
			l.Add(fmt.Sprintf("%s.failover[%d]", p, i), f, "%v", err)
		}
	}
	for i, h := range a.Headers {
		if h == "" || strings.ContainsAny(h, " \t:\r\n") {
			l.Add(fmt.Sprintf("%s.headers[%d]", p, i), h, "must be a header name")
		}
	}
}

// validateTrunks adds the problems of the trunks section: each trunk's
// own, and every DID that maps to no configured user.
func (c *Config) validateTrunks(l *field.List) {
	tlsOwner := map[string]string{} // lower-cased tls_names entry -> trunk
	for _, name := range slices.Sorted(maps.Keys(c.Trunks)) {
		t := c.Trunks[name]
		p := "trunks." + name
		if !route.ValidName(name) {
			l.Add(p, name, "trunk name must be letters, digits, '-', '_' or '.'")
		}
		l.Merge(p, t.Validate())
		for i, n := range t.TLSNames {
			if other, ok := tlsOwner[strings.ToLower(n)]; ok && other != name {
				l.Add(fmt.Sprintf("%s.tls_names[%d]", p, i), n, "also in trunks.%s.tls_names: a certificate must identify one trunk", other)
			}
			tlsOwner[strings.ToLower(n)] = name
		}
		for _, did := range slices.Sorted(maps.Keys(t.DIDs)) {
			if _, ok := c.Users[t.DIDs[did]]; !ok {
				l.Add(p+".dids."+did, t.DIDs[did], "no user named %q (users:)", t.DIDs[did])
			}
		}
	}
	if len(c.Trunks) > 0 {
		l.Merge("trunk_registration", c.TrunkRegistration.Validate())
	}
	for i, s := range c.TrunkDNS {
		if ap, err := netip.ParseAddrPort(s); err != nil || ap.Port() == 0 {
			l.Add(fmt.Sprintf("trunk_dns[%d]", i), s, "must be IP:port")
		}
	}
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// ApplyProcessTimers sets sipgo's process-wide transaction timers from c
// (after SetDefaults): how long completed transactions linger (Timers D
// and J), and how long INVITE transactions stay after a 2xx (Timers L and
// M: acceptedHold, accepted.go). Call it once, before any gateway is
// built, as cmd does.
func ApplyProcessTimers(c Config) {
	d := c.TransactionLinger
	if d <= 0 {
		return
	}
	sip.Timer_D, sip.Timer_J = d, d
	// After a 2xx, accepted.go keeps what the Accepted states are for;
	// the transactions stay only for the relays under way.
	sip.Timer_L, sip.Timer_M = min(d, acceptedHold), min(d, acceptedHold)
}
