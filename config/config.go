// Package config is sipedge's configuration file format and nothing else:
// strict YAML decoding (unknown keys are errors), documented defaults, and a
// Validate step that reports every problem at once, each naming the file, the
// line and the field. Leaf packages own their Config types; this package
// composes them. Only cmd imports it.
package config

import (
	"github.com/sipedge/sipedge/gateway"
	"github.com/sipedge/sipedge/gateway/admin"
	"github.com/sipedge/sipedge/gateway/ban"
	"github.com/sipedge/sipedge/gateway/cdr"
	"github.com/sipedge/sipedge/gateway/cluster"
	"github.com/sipedge/sipedge/gateway/hep"
	"github.com/sipedge/sipedge/internal/listen"
	"github.com/sipedge/sipedge/nat"
	"github.com/sipedge/sipedge/rtpengine"
	edgetls "github.com/sipedge/sipedge/tls"
	"github.com/sipedge/sipedge/ws"
)

// Config is the whole configuration file.
type Config struct {
	// Listen lists the sockets to open, as URLs:
	//   udp://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT   SIP listeners
	//   ws://HOST:PORT/PATH, wss://HOST:PORT/PATH           SIP over WebSocket
	//       (RFC 7118) at PATH; the same HTTP(S) server serves the
	//       softphone at /. wss needs tls.cert and tls.key.
	//   stun://HOST:PORT                                   STUN binding responder
	// Required: at least one SIP listener. Port 0 picks a free port.
	Listen []string `yaml:"listen"`

	// The proxy core's keys (domains, users, trusted, routes, advertise,
	// registrar, auth, invite_timeout, max_forwards) sit at the top level.
	Gateway gateway.Config `yaml:",inline"`

	// TLS is the certificate for tls:// (and later wss://) listeners.
	TLS edgetls.Config `yaml:"tls"`

	// RTPEngine lists the media relays (see docs/configuration.md).
	RTPEngine rtpengine.Config `yaml:"rtpengine"`

	// WS tunes the WebSocket listeners: allowed origins and hosts, message
	// and connection limits, keepalive pings and idle timeout.
	WS ws.Config `yaml:"ws"`

	// TCP limits the tcp:// and tls:// SIP listeners: connection caps,
	// deadlines for a started message and for an idle connection, message
	// size.
	TCP listen.Config `yaml:"tcp"`

	// NAT sets the keepalives sent to UDP clients registered from behind NAT.
	NAT nat.Config `yaml:"nat"`

	// Ban bans sources that flood (request rate), guess passwords (failed
	// authentications) or scan (known scanner User-Agents): their packets
	// are dropped unanswered and their connections closed at accept. On by
	// default.
	Ban ban.Config `yaml:"ban"`

	// Log sets the log output.
	Log Log `yaml:"log"`

	// Runtime sets how much memory the Go runtime may hold (the analogue of
	// Kamailio's -m/-M).
	Runtime Runtime `yaml:"runtime"`

	// Admin is the operator HTTP endpoint: Prometheus /metrics, the JSON
	// API that "sipedge ctl" speaks, Go runtime profiles under
	// /debug/pprof/. Off unless admin.listen is set.
	Admin admin.Config `yaml:"admin"`

	// Cluster shares registrations between several sipedge nodes on
	// Redis. Off (one node, in-memory store) unless cluster.redis is set.
	Cluster cluster.Config `yaml:"cluster"`

	// HEP sends a copy of every SIP message (UDP and WebSocket, decoded)
	// to a HEPv3 collector (Homer). Off unless hep.address is set.
	HEP hep.Config `yaml:"hep"`

	// CDR adds outputs for the call records (always logged): a JSON Lines
	// file, a webhook.
	CDR cdr.Config `yaml:"cdr"`
}

// Runtime tunes the Go garbage collector. The defaults leave Go's own
// pacing: the heap may grow to twice the live data between collections, so
// the resident size (RSS) is about twice what the connections and calls
// really hold. A memory limit makes the collector work harder instead as
// the process approaches it.
type Runtime struct {
	// MemoryLimitMB is a soft limit, in MiB, on all memory the Go runtime
	// holds (heap, stacks, runtime metadata). Near it the collector runs
	// more often and returns freed memory to the OS; it is not a hard cap
	// (live data beyond it is kept, the collector then spends up to half
	// the CPU). Set it to the memory you give sipedge, minus headroom.
	// 0 (default) = none, or the GOMEMLIMIT environment variable if set.
	MemoryLimitMB int64 `yaml:"memory_limit_mb"`
	// GCPercent is the heap growth, in percent of the live heap, that
	// triggers a collection. Lower saves memory and costs CPU. -1 turns
	// collection off until MemoryLimitMB is reached (needs a limit).
	// 0 (default) = Go's default 100, or the GOGC environment variable.
	GCPercent int `yaml:"gc_percent"`
}

// Log configures log/slog output on standard error.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is text or json. Default text.
	Format string `yaml:"format"`
}

// SetDefaults fills every zero field with its documented default.
func (c *Config) SetDefaults() {
	c.Gateway.SetDefaults()
	c.RTPEngine.SetDefaults()
	c.WS.SetDefaults()
	c.TCP.SetDefaults()
	c.NAT.SetDefaults()
	c.TLS.SetDefaults()
	c.Ban.SetDefaults()
	c.Admin.SetDefaults()
	c.Cluster.SetDefaults()
	c.HEP.SetDefaults()
	c.CDR.SetDefaults()
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
}
