package rtpengine

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sipedge/sipedge/internal/field"
)

// DefaultSet is the set name of a node that names none.
const DefaultSet = "default"

// Config lists the rtpengine nodes sipedge controls and how it talks to them.
// The zero value of every field means "use the documented default" (see
// SetDefaults). The full reference is in docs/configuration.md.
type Config struct {
	// Nodes are the rtpengine ng control listeners. Each is written either
	// as a string "udp:127.0.0.1:22222" / "tcp:127.0.0.1:22223" (udp when
	// the scheme is left out) or as a map {address: ..., weight: N, set: NAME}.
	// Empty: no media anchoring.
	Nodes []Node `yaml:"nodes"`

	// Timeout bounds one ng command, including resends and (for offers)
	// failover to other nodes, when the caller's context has no earlier
	// deadline. Default 1s.
	Timeout time.Duration `yaml:"timeout"`

	// NodeTimeout is how long an offer waits for one node (with resends)
	// before trying the next node of the set. Answers, deletes and the other
	// commands of a known call stay on their node for the whole Timeout.
	// Default: Timeout/2.
	NodeTimeout time.Duration `yaml:"node_timeout"`

	// ResendInterval is the wait before the first resend of an unanswered
	// command (the same bytes, the same cookie); each further wait doubles,
	// up to 4x this value. Default 100ms.
	ResendInterval time.Duration `yaml:"resend_interval"`

	// PingInterval is how often every node is pinged to check its health
	// and to bring failed nodes back. Default 5s.
	PingInterval time.Duration `yaml:"ping_interval"`

	// DisableDuration is how long a node that timed out or reported
	// overload ("load limit", "Ran out of ports", "Parallel session limit
	// reached") is kept out of the choice for new calls; after it, the next
	// successful ping brings it back. Default 10s.
	DisableDuration time.Duration `yaml:"disable_duration"`

	// DefaultSet is the node set used when a call names none. Default: the
	// set of the first node.
	DefaultSet string `yaml:"default_set"`

	// MaxReplySize is the largest reply accepted, in bytes; a bigger reply is
	// an error. Over UDP a reply can never exceed 65507 bytes. Default 262144.
	MaxReplySize int `yaml:"max_reply_size"`

	// AffinityTTL is how long a call stays pinned to its node after its last
	// command when no delete arrives (lost BYE). Default 12h.
	AffinityTTL time.Duration `yaml:"affinity_ttl"`
}

// Node is one rtpengine ng control listener.
type Node struct {
	// Address is "udp:host:port" or "tcp:host:port" (udp when the scheme is
	// left out). Required.
	Address string `yaml:"address"`
	// Weight is the node's share of new calls relative to the other nodes of
	// its set. Default 1.
	Weight int `yaml:"weight"`
	// Set names the group of nodes a call may use. Default "default".
	Set string `yaml:"set"`
}

// UnmarshalYAML accepts a node written as a plain string or as a map. An
// unknown key or a value of the wrong type is a *yaml.TypeError, so the
// decoder goes on and reports the file's other problems too.
func (n *Node) UnmarshalYAML(v *yaml.Node) error {
	return field.Shorthand(v, "a node", "rtpengine.Node", &n.Address,
		field.Key{Name: "address", Into: &n.Address},
		field.Key{Name: "weight", Into: &n.Weight},
		field.Key{Name: "set", Into: &n.Set})
}

// SetDefaults fills zero fields with their documented defaults.
func (c *Config) SetDefaults() {
	if c.Timeout == 0 {
		c.Timeout = time.Second
	}
	if c.NodeTimeout == 0 {
		c.NodeTimeout = c.Timeout / 2
	}
	if c.ResendInterval == 0 {
		c.ResendInterval = 100 * time.Millisecond
	}
	if c.PingInterval == 0 {
		c.PingInterval = 5 * time.Second
	}
	if c.DisableDuration == 0 {
		c.DisableDuration = 10 * time.Second
	}
	if c.MaxReplySize == 0 {
		c.MaxReplySize = 256 << 10
	}
	if c.AffinityTTL == 0 {
		c.AffinityTTL = 12 * time.Hour
	}
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if n.Weight == 0 {
			n.Weight = 1
		}
		if n.Set == "" {
			n.Set = DefaultSet
		}
	}
	if c.DefaultSet == "" {
		c.DefaultSet = DefaultSet
		if len(c.Nodes) > 0 {
			c.DefaultSet = c.Nodes[0].Set
		}
	}
}

// Validate reports every problem in c at once, as *field.Error values joined
// with errors.Join. Call SetDefaults first.
func (c *Config) Validate() error {
	var l field.List
	seen := map[string]int{}
	sets := map[string]bool{}
	for i, n := range c.Nodes {
		p := fmt.Sprintf("nodes[%d]", i)
		network, addr, err := ParseAddress(n.Address)
		if err != nil {
			l.Add(p+".address", n.Address, "%v", err)
		} else {
			key := network + ":" + addr
			if j, dup := seen[key]; dup {
				l.Add(p+".address", n.Address, "same node as nodes[%d]", j)
			}
			seen[key] = i
		}
		if n.Weight < 1 || n.Weight > 1000 {
			l.Add(p+".weight", n.Weight, "must be between 1 and 1000")
		}
		if strings.TrimSpace(n.Set) == "" {
			l.Add(p+".set", n.Set, "must not be blank")
		}
		sets[n.Set] = true
	}
	if len(c.Nodes) > 0 && !sets[c.DefaultSet] {
		l.Add("default_set", c.DefaultSet, "no node belongs to this set")
	}
	if c.Timeout <= 0 {
		l.Add("timeout", c.Timeout, "must be > 0")
	}
	if c.NodeTimeout <= 0 || c.NodeTimeout > c.Timeout {
		l.Add("node_timeout", c.NodeTimeout, "must be > 0 and <= timeout (%s)", c.Timeout)
	}
	if c.ResendInterval < time.Millisecond || c.ResendInterval > c.Timeout {
		l.Add("resend_interval", c.ResendInterval, "must be >= 1ms and <= timeout (%s)", c.Timeout)
	}
	if c.PingInterval < 100*time.Millisecond {
		l.Add("ping_interval", c.PingInterval, "must be >= 100ms")
	}
	if c.DisableDuration < 0 {
		l.Add("disable_duration", c.DisableDuration, "must be >= 0")
	}
	if c.MaxReplySize < 1024 {
		l.Add("max_reply_size", c.MaxReplySize, "must be >= 1024")
	}
	if c.AffinityTTL < time.Minute {
		l.Add("affinity_ttl", c.AffinityTTL, "must be >= 1m")
	}
	return l.Err()
}

// ParseAddress splits a node address "udp:host:port" or "tcp:host:port"
// (udp when the scheme is left out) into a Go network name and host:port.
func ParseAddress(s string) (network, addr string, err error) {
	network, addr = "udp", s
	if scheme, rest, ok := strings.Cut(s, ":"); ok && (scheme == "udp" || scheme == "tcp" || scheme == "udp6" || scheme == "tcp6" || scheme == "udp4" || scheme == "tcp4") {
		network, addr = scheme, rest
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("want udp:host:port or tcp:host:port: %w", err)
	}
	if host == "" {
		return "", "", fmt.Errorf("want udp:host:port or tcp:host:port: no host")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "", "", fmt.Errorf("port %q must be 1-65535", port)
	}
	return network, addr, nil
}
