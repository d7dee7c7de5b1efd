package route

import (
	"fmt"
	"regexp"
	"time"
)

// Rule is one entry of the `routes` list, tried in order; the first whose
// match fits the Request-URI is used.
type Rule struct {
	// Match selects requests; an empty match takes every request.
	Match Match `yaml:"match"`
	// To lists targets: next hops (sip:host[:port][;transport=udp|tcp|tls]),
	// trunk:NAME or set:NAME, tried in order while the answer is 408 or 5xx
	// or a hop is unreachable.
	To []string `yaml:"to"`
	// FRTimer is the branch timer of this route's targets: a branch with
	// no response at all (not even 100 Trying) after it is given up as 408
	// and the next target is tried. 0 (default) uses the top-level
	// fr_timer.
	FRTimer time.Duration `yaml:"fr_timer"`
}

// Match holds regular expressions (Go RE2 syntax, unanchored: use ^...$)
// applied to the Request-URI.
type Match struct {
	// User matches the Request-URI's user part.
	User string `yaml:"user"`
	// Domain matches the Request-URI's host.
	Domain string `yaml:"domain"`
}

// Table is a compiled, immutable list of rules; share it freely.
type Table struct {
	rules []compiled
}

type compiled struct {
	user, domain *regexp.Regexp
	targets      []Target
}

// NewTable compiles rules. Rules are validated by the gateway's config
// first; an error here names the rule and the field.
func NewTable(rules []Rule) (*Table, error) {
	t := &Table{rules: make([]compiled, 0, len(rules))}
	for i, r := range rules {
		var c compiled
		var err error
		if r.Match.User != "" {
			if c.user, err = regexp.Compile(r.Match.User); err != nil {
				return nil, fmt.Errorf("routes[%d].match.user: %w", i, err)
			}
		}
		if r.Match.Domain != "" {
			if c.domain, err = regexp.Compile(r.Match.Domain); err != nil {
				return nil, fmt.Errorf("routes[%d].match.domain: %w", i, err)
			}
		}
		for j, to := range r.To {
			tg, err := ParseTarget(to)
			if err != nil {
				return nil, fmt.Errorf("routes[%d].to[%d]: %w", i, j, err)
			}
			tg.FRTimer = r.FRTimer
			c.targets = append(c.targets, tg)
		}
		t.rules = append(t.rules, c)
	}
	return t, nil
}

// Lookup returns the target groups of the first rule that matches user
// and host (one group per target: serial failover), and false when no
// rule matches.
func (t *Table) Lookup(user, host string) ([]Group, bool) {
	for _, r := range t.rules {
		if r.user != nil && !r.user.MatchString(user) {
			continue
		}
		if r.domain != nil && !r.domain.MatchString(host) {
			continue
		}
		groups := make([]Group, 0, len(r.targets))
		for _, tg := range r.targets {
			groups = append(groups, Group{tg})
		}
		return groups, true
	}
	return nil, false
}
