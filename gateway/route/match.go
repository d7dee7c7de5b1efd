package route

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/sipedge/sipedge/gateway/wire"
	"github.com/sipedge/sipedge/internal/field"
)

// Match selects the requests a rule takes; every field set must fit (an
// empty Match takes every request). Regular expressions are Go RE2
// (linear time), unanchored: use ^...$.
type Match struct {
	// User matches the Request-URI's user part.
	User string `yaml:"user"`
	// Domain matches the Request-URI's host.
	Domain string `yaml:"domain"`
	// Methods lists request methods (INVITE, MESSAGE); empty: any.
	Methods []string `yaml:"methods"`
	// FromUser matches the From URI's user part.
	FromUser string `yaml:"from_user"`
	// FromDomain matches the From URI's host.
	FromDomain string `yaml:"from_domain"`
	// Source lists networks (CIDR or address) the request must come from.
	Source []string `yaml:"source"`
	// Transports lists the transports it must arrive over: udp, tcp, tls,
	// ws, wss.
	Transports []string `yaml:"transports"`
	// Headers maps a header name to a regular expression one of its
	// values must match ("" or ".*": the header must be present).
	Headers map[string]string `yaml:"headers"`
	// Absent lists headers the request must not carry.
	Absent []string `yaml:"absent"`
}

// Request is what rules match on.
type Request struct {
	Method             string // as received
	User, Host         string // of the Request-URI
	FromUser, FromHost string
	Source             netip.Addr // zero: unknown (a source match fails)
	Transport          string     // lower case: udp, tcp, tls, ws, wss
	// Header returns the values of a header (nil: every header absent).
	Header func(name string) []string
}

// matcher is a compiled Match.
type matcher struct {
	user, domain, fromUser, fromDomain *regexp.Regexp
	methods, transports                []string
	source                             []netip.Prefix
	headers                            []headerMatch
	absent                             []string
}

type headerMatch struct {
	name string
	re   *regexp.Regexp
}

// compile builds the matcher; an error names the field after "match.".
func (m Match) compile() (matcher, error) {
	var c matcher
	for _, f := range []struct {
		name string
		src  string
		dst  **regexp.Regexp
	}{{"user", m.User, &c.user}, {"domain", m.Domain, &c.domain}, {"from_user", m.FromUser, &c.fromUser}, {"from_domain", m.FromDomain, &c.fromDomain}} {
		if f.src == "" {
			continue
		}
		re, err := regexp.Compile(f.src)
		if err != nil {
			return c, fmt.Errorf("%s: %w", f.name, err)
		}
		*f.dst = re
	}
	c.methods = m.Methods
	for _, t := range m.Transports {
		c.transports = append(c.transports, strings.ToLower(t))
	}
	for i, s := range m.Source {
		p, err := ParsePrefix(s)
		if err != nil {
			return c, fmt.Errorf("source[%d]: %w", i, err)
		}
		c.source = append(c.source, p)
	}
	for _, name := range slices.Sorted(maps.Keys(m.Headers)) {
		hm := headerMatch{name: name}
		if v := m.Headers[name]; v != "" {
			re, err := regexp.Compile(v)
			if err != nil {
				return c, fmt.Errorf("headers.%s: %w", name, err)
			}
			hm.re = re
		}
		c.headers = append(c.headers, hm)
	}
	c.absent = m.Absent
	return c, nil
}

// fits reports whether r meets every condition.
func (c *matcher) fits(r Request) bool {
	switch {
	case c.user != nil && !c.user.MatchString(r.User),
		c.domain != nil && !c.domain.MatchString(r.Host),
		c.fromUser != nil && !c.fromUser.MatchString(r.FromUser),
		c.fromDomain != nil && !c.fromDomain.MatchString(r.FromHost),
		len(c.methods) > 0 && r.Method != "" && !slices.Contains(c.methods, r.Method),
		len(c.transports) > 0 && !slices.Contains(c.transports, r.Transport):
		return false
	}
	if len(c.source) > 0 {
		ok := false
		for _, p := range c.source {
			ok = ok || (r.Source.IsValid() && p.Contains(r.Source.Unmap()))
		}
		if !ok {
			return false
		}
	}
	header := r.Header
	if header == nil {
		header = func(string) []string { return nil }
	}
	for _, h := range c.headers {
		vals := header(h.name)
		ok := len(vals) > 0 && h.re == nil
		for _, v := range vals {
			ok = ok || (h.re != nil && h.re.MatchString(v))
		}
		if !ok {
			return false
		}
	}
	for _, name := range c.absent {
		if len(header(name)) > 0 {
			return false
		}
	}
	return true
}

// Validate reports every problem of a match, with field paths relative
// to it (user, source[1]).
func (m Match) Validate() error {
	var l field.List
	for _, f := range [][2]string{{"user", m.User}, {"domain", m.Domain}, {"from_user", m.FromUser}, {"from_domain", m.FromDomain}} {
		name, v := f[0], f[1]
		if v == "" {
			continue
		}
		if _, err := regexp.Compile(v); err != nil {
			l.Add(name, v, "bad regular expression: %v", err)
		}
	}
	for i, meth := range m.Methods {
		if !isMethod(meth) {
			l.Add(fmt.Sprintf("methods[%d]", i), meth, "must be a method name in capitals (INVITE, MESSAGE)")
		}
	}
	for i, s := range m.Source {
		if _, err := ParsePrefix(s); err != nil {
			l.Add(fmt.Sprintf("source[%d]", i), s, "must be a CIDR prefix or an address")
		}
	}
	for i, t := range m.Transports {
		switch strings.ToLower(t) {
		case "udp", "tcp", "tls", "ws", "wss":
		default:
			l.Add(fmt.Sprintf("transports[%d]", i), t, "must be udp, tcp, tls, ws or wss")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m.Headers)) {
		if !isHeaderName(name) {
			l.Add("headers."+name, name, "must be a header name")
		} else if _, err := regexp.Compile(m.Headers[name]); err != nil {
			l.Add("headers."+name, m.Headers[name], "bad regular expression: %v", err)
		}
	}
	for i, name := range m.Absent {
		if !isHeaderName(name) {
			l.Add(fmt.Sprintf("absent[%d]", i), name, "must be a header name")
		}
	}
	return l.Err()
}

// ParsePrefix parses a CIDR prefix or a bare address (a /32 or /128), as
// the configuration writes networks (route sources, trusted networks).
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func isMethod(s string) bool { return s != "" && wire.IsToken(s) && strings.ToUpper(s) == s }

func isHeaderName(s string) bool { return wire.IsToken(s) }
