package cluster

import (
	"net/url"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"

	"github.com/sipedge/sipedge/internal/field"
)

// Config is the `cluster` section of the configuration file. Without
// `redis` the node runs alone with its in-memory store (the default).
type Config struct {
	// Node names this node in the cluster: letters, digits, '-', '_' and
	// '.'; unique per node. Required with redis.
	Node string `yaml:"node"`

	// Redis is the address of the shared Redis server:
	// redis://[:PASSWORD@]HOST:PORT[/DB] (rediss:// for TLS). Empty
	// (default): no cluster.
	Redis string `yaml:"redis"`

	// Address is the SIP URI other nodes send requests to when they reach
	// a user whose connection this node holds (an internal address, e.g.
	// sip:10.0.0.11:5060). Required with redis.
	Address string `yaml:"address"`

	// Timeout bounds every Redis command; a slower Redis is treated as
	// down for that request and the node answers from what it holds.
	// Default 200ms.
	Timeout time.Duration `yaml:"timeout"`

	// CacheTTL is how long a binding read from Redis is used without
	// reading it again. Default 2s.
	CacheTTL time.Duration `yaml:"cache_ttl"`

	// Heartbeat is how often the node refreshes its liveness key and
	// re-publishes what could not be written while Redis was down. A node
	// not heard of for 3 heartbeats is dead: its users' connections are
	// gone with it. Default 2s.
	Heartbeat time.Duration `yaml:"heartbeat"`
}

// Enabled reports whether the node is part of a cluster.
func (c *Config) Enabled() bool { return c.Redis != "" }

// SetDefaults fills zero fields with their documented defaults.
func (c *Config) SetDefaults() {
	if c.Timeout == 0 {
		c.Timeout = 200 * time.Millisecond
	}
	if c.CacheTTL == 0 {
		c.CacheTTL = 2 * time.Second
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = 2 * time.Second
	}
}

// Validate reports every problem in c at once, as *field.Error values
// joined with errors.Join. Call SetDefaults first.
func (c *Config) Validate() error {
	var l field.List
	if !c.Enabled() {
		if c.Node != "" || c.Address != "" {
			l.Add("redis", nil, "is required when node or address is set")
		}
		return l.Err()
	}
	if u, err := url.Parse(c.Redis); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		l.Add("redis", c.Redis, "must be redis://HOST:PORT[/DB] or rediss://...")
	}
	if !validNode(c.Node) {
		l.Add("node", c.Node, "required: letters, digits, '-', '_' or '.'")
	}
	var u sip.Uri
	if c.Address == "" {
		l.Add("address", nil, "required: the SIP URI other nodes reach this one at")
	} else if err := sip.ParseUri(c.Address, &u); err != nil || u.Host == "" || (u.Scheme != "sip" && u.Scheme != "sips") {
		l.Add("address", c.Address, "must be a sip: URI with a host")
	}
	if c.Timeout < 10*time.Millisecond || c.Timeout > 5*time.Second {
		l.Add("timeout", c.Timeout, "must be 10ms..5s")
	}
	if c.CacheTTL < 0 || c.CacheTTL > time.Minute {
		l.Add("cache_ttl", c.CacheTTL, "must be 0s..1m")
	}
	if c.Heartbeat < 100*time.Millisecond || c.Heartbeat > time.Minute {
		l.Add("heartbeat", c.Heartbeat, "must be 100ms..1m")
	}
	return l.Err()
}

// validNode reports whether s can name a node (as a trunk or a set is
// named, at most 64 characters).
func validNode(s string) bool { return len(s) <= 64 && route.ValidName(s) }
