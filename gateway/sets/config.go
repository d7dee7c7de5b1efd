package sets

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/internal/field"
)

// Algorithms are the selection algorithms a set may name.
const (
	HashCallID = "hash-callid" // hash of the Call-ID (Kamailio alg 0)
	HashFrom   = "hash-from"   // hash of the From URI's user (alg 1)
	HashTo     = "hash-to"     // hash of the To URI's user (alg 2)
	HashRURI   = "hash-ruri"   // hash of the Request-URI's user (alg 3)
	RoundRobin = "round-robin" // next member for each call (alg 4)
	Weighted   = "weighted"    // smooth weighted round-robin over weight (alg 9)
	Priority   = "priority"    // members in priority order, serial (alg 8)
	LeastCalls = "least-calls" // fewest active calls first, max_calls caps (alg 10)
	Latency    = "latency"     // lowest moving average of probe round trips (alg 13)
	Parallel   = "parallel"    // fork to every member at once (alg 12)
)

func algorithms() []string {
	return []string{HashCallID, HashFrom, HashTo, HashRURI, RoundRobin, Weighted, Priority, LeastCalls, Latency, Parallel}
}

// Config is one destination set (sets.NAME).
type Config struct {
	// Algorithm orders the members for each call: hash-callid, hash-from,
	// hash-to, hash-ruri (the first member chosen by the hash, the others
	// after it in list order), round-robin, weighted (smooth weighted
	// round-robin by weight), priority (members by priority, then list
	// order), least-calls (fewest calls in progress first; a member at
	// max_calls is skipped), latency (lowest moving average of probe round
	// trips first; needs probe.interval), parallel (one fork to every
	// member). Default priority.
	Algorithm string `yaml:"algorithm"`
	// Members are the destinations: a SIP URI (sip:10.0.0.5:5060), a
	// trunk (trunk:NAME), or a map {uri, weight, priority, max_calls}.
	// Required: at least one.
	Members []Member `yaml:"members"`
	// Probe sends OPTIONS to every SIP member to learn whether it is up.
	// Off unless probe.interval is set.
	Probe Probe `yaml:"probe"`
	// Failover lists the answers on which the next member is tried within
	// the caller's one INVITE: codes (503) or classes (5xx). A transport
	// error or a branch timeout always fails over. Default [408, 5xx].
	Failover []string `yaml:"failover"`
	// DownAfterCalls marks a member down after this many consecutive
	// transport failures or fr_timer expiries on real calls (without
	// probing it comes back after probe.interval or 30s). Default 2.
	DownAfterCalls int `yaml:"down_after_calls"`
}

// Member is one destination of a set.
type Member struct {
	// URI is a SIP URI (sip:host[:port][;transport=...]) or trunk:NAME.
	URI string `yaml:"uri"`
	// Weight is the member's share for the weighted algorithm (1..100).
	// Default 1.
	Weight int `yaml:"weight"`
	// Priority orders members for priority (lower first; equal ones in
	// list order). Default 0.
	Priority int `yaml:"priority"`
	// MaxCalls caps the calls in progress sent to this member (least-calls
	// skips a member at its cap). 0 (default): no cap.
	MaxCalls int `yaml:"max_calls"`
}

// Probe is the health probing of a set's members.
type Probe struct {
	// Interval between two OPTIONS to each member. 0 (default): no
	// probing; members are up unless real calls fail. At least 100ms.
	Interval time.Duration `yaml:"interval"`
	// DownAfter is the consecutive failed probes (no answer in timeout,
	// an unreachable member, an answer not in alive) that mark a member
	// down. Default 2.
	DownAfter int `yaml:"down_after"`
	// UpAfter is the consecutive successful probes that bring a member
	// that is down back up. Default 2.
	UpAfter int `yaml:"up_after"`
	// Timeout is how long a probe waits for an answer. A probe that gets
	// none fails: a 408 we would make up ourselves never counts as alive.
	// Default: interval, at most 5s.
	Timeout time.Duration `yaml:"timeout"`
	// Alive lists the answers that count as alive: codes or classes.
	// Default [2xx, 403, 404, 405, 501] (a member that refuses OPTIONS
	// is still answering).
	Alive []string `yaml:"alive"`
	// From is the From URI of probes. Default sip:sipedge@<our address>.
	From string `yaml:"from"`
}

// UnmarshalYAML accepts a member written as a plain string or as a map.
// An unknown key or a value of the wrong type is a *yaml.TypeError, so
// the decoder goes on and reports the file's other problems too.
func (m *Member) UnmarshalYAML(v *yaml.Node) error {
	return field.Shorthand(v, "a member", "sets.Member", &m.URI,
		field.Key{Name: "uri", Into: &m.URI},
		field.Key{Name: "weight", Into: &m.Weight},
		field.Key{Name: "priority", Into: &m.Priority},
		field.Key{Name: "max_calls", Into: &m.MaxCalls})
}

// SetDefaults fills zero fields with their documented defaults.
func (c *Config) SetDefaults() {
	if c.Algorithm == "" {
		c.Algorithm = Priority
	}
	for i := range c.Members {
		if c.Members[i].Weight == 0 {
			c.Members[i].Weight = 1
		}
	}
	if len(c.Failover) == 0 {
		c.Failover = []string{"408", "5xx"}
	}
	if c.DownAfterCalls == 0 {
		c.DownAfterCalls = 2
	}
	p := &c.Probe
	if p.DownAfter == 0 {
		p.DownAfter = 2
	}
	if p.UpAfter == 0 {
		p.UpAfter = 2
	}
	if p.Timeout == 0 {
		p.Timeout = min(p.Interval, 5*time.Second)
	}
	if len(p.Alive) == 0 {
		p.Alive = []string{"2xx", "403", "404", "405", "501"}
	}
}

// SetDefaultsAll applies SetDefaults to every set of a `sets` section.
func SetDefaultsAll(all map[string]Config) {
	for name, c := range all {
		c.SetDefaults()
		all[name] = c
	}
}

// Validate reports every problem of a `sets` section at once, with field
// paths relative to it (pbx.members[1]). trunk says whether a trunk name
// is configured (nil: every name is refused). Call SetDefaultsAll first.
func Validate(all map[string]Config, trunk func(name string) bool) error {
	var l field.List
	for _, name := range slices.Sorted(maps.Keys(all)) {
		c := all[name]
		if !route.ValidName(name) {
			l.Add(name, name, "set name must be letters, digits, '-', '_' or '.'")
		}
		if !slices.Contains(algorithms(), c.Algorithm) {
			l.Add(name+".algorithm", c.Algorithm, "must be one of %s", strings.Join(algorithms(), ", "))
		}
		if len(c.Members) == 0 {
			l.Add(name+".members", nil, "at least one member is required")
		}
		seen := map[string]int{}
		for i, m := range c.Members {
			p := fmt.Sprintf("%s.members[%d]", name, i)
			t, err := route.ParseTarget(m.URI)
			switch {
			case err != nil:
				l.Add(p, m.URI, "%v", err)
			case t.Kind == route.KindSet:
				l.Add(p, m.URI, "a member is a SIP URI or trunk:NAME, not another set")
			case t.Kind == route.KindTrunk && (trunk == nil || !trunk(t.Name)):
				l.Add(p, m.URI, "no trunk named %q (trunks:)", t.Name)
			}
			if j, dup := seen[m.URI]; dup {
				l.Add(p, m.URI, "same member as members[%d]", j)
			}
			seen[m.URI] = i
			if m.Weight < 1 || m.Weight > 100 {
				l.Add(p+".weight", m.Weight, "must be 1..100")
			}
			if m.MaxCalls < 0 {
				l.Add(p+".max_calls", m.MaxCalls, "must be >= 0")
			}
		}
		for i, f := range c.Failover {
			if _, err := route.ParseCodes([]string{f}); err != nil {
				l.Add(fmt.Sprintf("%s.failover[%d]", name, i), f, "%v", err)
			}
		}
		if c.DownAfterCalls < 1 {
			l.Add(name+".down_after_calls", c.DownAfterCalls, "must be >= 1")
		}
		p := c.Probe
		if p.Interval != 0 && p.Interval < 100*time.Millisecond {
			l.Add(name+".probe.interval", p.Interval, "must be 0 (off) or >= 100ms")
		}
		if p.DownAfter < 1 {
			l.Add(name+".probe.down_after", p.DownAfter, "must be >= 1")
		}
		if p.UpAfter < 1 {
			l.Add(name+".probe.up_after", p.UpAfter, "must be >= 1")
		}
		if p.Interval != 0 && (p.Timeout < 10*time.Millisecond || p.Timeout > p.Interval) {
			l.Add(name+".probe.timeout", p.Timeout, "must be 10ms..probe.interval")
		}
		for i, a := range p.Alive {
			if _, err := route.ParseCodes([]string{a}); err != nil {
				l.Add(fmt.Sprintf("%s.probe.alive[%d]", name, i), a, "%v", err)
			}
		}
		if p.From != "" {
			if _, err := route.ParseTarget(p.From); err != nil {
				l.Add(name+".probe.from", p.From, "%v", err)
			}
		}
		if c.Algorithm == Latency && p.Interval == 0 {
			l.Add(name+".probe.interval", nil, "the latency algorithm needs probing (probe.interval)")
		}
	}
	return l.Err()
}
