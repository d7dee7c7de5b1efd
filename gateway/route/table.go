package route

import (
	"fmt"
	"time"
)

// Rule is one entry of the `routes` list, tried in order; the first whose
// match fits the Request-URI is used.
type Rule struct {
	// Match selects requests; an empty match takes every request.
	Match Match `yaml:"match"`
	// Actions change the request before it is forwarded (or the routing
	// API is asked).
	Actions Actions `yaml:"actions"`
	// To lists targets: next hops (sip:host[:port][;transport=udp|tcp|tls]),
	// trunk:NAME or set:NAME, tried in order while the answer is 408 or 5xx
	// or a hop is unreachable.
	To []string `yaml:"to"`
	// FRTimer is the branch timer of this route's targets: a branch with
	// no response at all (not even 100 Trying) after it is given up as 408
	// and the next target is tried. 0 (default) uses the top-level
	// fr_timer.
	FRTimer time.Duration `yaml:"fr_timer"`
	// API, if set, asks a routing service (rtjson) where the request
	// goes; To is then the fallback when the service is slow, down or
	// answers nonsense (none: 503).
	API *API `yaml:"api"`
}

// API is a route's HTTP routing service (rtjson).
type API struct {
	// URL receives a POST with the JSON description of the request
	// (http or https).
	URL string `yaml:"url"`
	// Timeout is how long the call waits for the answer before the
	// fallback (To) is used. Default 800ms; 10ms..10s.
	Timeout time.Duration `yaml:"timeout"`
	// Methods are the request methods asked about; others take To at
	// once. Default [INVITE].
	Methods []string `yaml:"methods"`
	// Headers names request headers sent along (headers in the query).
	Headers []string `yaml:"headers"`
	// Failover lists the answers on which the next route of a serial
	// answer is tried: codes (486) or classes (5xx). Default [408, 5xx].
	Failover []string `yaml:"failover"`
	// failover is Failover parsed (NewTable).
	failover *Codes
}

// Failed reports whether serial failover moves on after code.
func (a *API) Failed(code int) bool {
	if a.failover == nil {
		return Retryable(code)
	}
	return a.failover.Has(code)
}

// Table is a compiled, immutable list of rules; share it freely.
type Table struct {
	rules []compiled
}

type compiled struct {
	match   matcher
	actions *Actions
	targets []Target
	api     *API
}

// Decision is what the first matching rule says.
type Decision struct {
	// Groups are the rule's targets, one group each (serial failover):
	// the fallback when API is set.
	Groups []Group
	// API, if set, is asked first.
	API *API
	// Actions, if set, change the request first (Actions.Apply).
	Actions *Actions
	// Rule is the index of the rule in the routes list.
	Rule int
}

// NewTable compiles rules. Rules are validated by the gateway's config
// first; an error here names the rule and the field.
func NewTable(rules []Rule) (*Table, error) {
	t := &Table{rules: make([]compiled, 0, len(rules))}
	for i, r := range rules {
		var c compiled
		var err error
		if c.match, err = r.Match.compile(); err != nil {
			return nil, fmt.Errorf("routes[%d].match.%w", i, err)
		}
		if !r.Actions.empty() {
			a := r.Actions
			c.actions = &a
		}
		for j, to := range r.To {
			tg, err := ParseTarget(to)
			if err != nil {
				return nil, fmt.Errorf("routes[%d].to[%d]: %w", i, j, err)
			}
			tg.FRTimer = r.FRTimer
			c.targets = append(c.targets, tg)
		}
		if r.API != nil {
			a := *r.API
			if a.Timeout == 0 {
				a.Timeout = 800 * time.Millisecond
			}
			if len(a.Methods) == 0 {
				a.Methods = []string{"INVITE"}
			}
			if len(a.Failover) > 0 {
				if a.failover, err = ParseCodes(a.Failover); err != nil {
					return nil, fmt.Errorf("routes[%d].api.failover: %w", i, err)
				}
			}
			c.api = &a
		}
		t.rules = append(t.rules, c)
	}
	return t, nil
}

// Lookup returns the target groups of the first rule that matches user
// and host (one group per target: serial failover), and false when no
// rule matches.
func (t *Table) Lookup(user, host string) ([]Group, bool) {
	d, ok := t.Route(Request{User: user, Host: host})
	return d.Groups, ok
}

// Route returns the decision of the first rule that matches r, and false
// when none does.
func (t *Table) Route(r Request) (Decision, bool) {
	for i, c := range t.rules {
		if !c.match.fits(r) {
			continue
		}
		groups := make([]Group, 0, len(c.targets))
		for _, tg := range c.targets {
			groups = append(groups, Group{tg})
		}
		d := Decision{Groups: groups, Rule: i, Actions: c.actions}
		if c.api != nil && c.api.asks(r.Method) {
			d.API = c.api
		}
		return d, true
	}
	return Decision{}, false
}

// asks reports whether the API is asked about method.
func (a *API) asks(method string) bool {
	for _, m := range a.Methods {
		if m == method {
			return true
		}
	}
	return false
}
