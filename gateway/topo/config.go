package topo

import (
	"fmt"
	"slices"

	"github.com/sipedge/sipedge/internal/field"
)

// Transports are the listener transports that can face the outside.
var transports = []string{"udp", "tcp", "tls", "ws", "wss"}

// Config is the topology_hiding section.
type Config struct {
	// External lists the listener transports (udp, tcp, tls, ws, wss)
	// that face the outside. Messages sipedge sends or relays over them
	// show no inside address in Via, Record-Route or Contact (see
	// docs/topology-hiding.md). A transport, not one listen entry: sipedge
	// sends each transport from one socket, so a transport is either
	// outside or inside. Empty (default): nothing is hidden.
	External []string `yaml:"external"`
	// Secret keys the tokens that carry the hidden addresses (AES-256-GCM,
	// keyed by SHA-256 of it), at least 16 bytes. Give every node of a
	// cluster the same secret, and set one for in-dialog requests to keep
	// routing across a restart. Empty (default): a random key per start.
	// A reload may change it: tokens of the previous secret keep opening
	// (one secret back), so dialogs in progress keep routing.
	Secret string `yaml:"secret"`
}

// Enabled reports whether any transport is external.
func (c Config) Enabled() bool { return len(c.External) > 0 }

// IsExternal reports whether transport t (lower case) faces the outside.
func (c Config) IsExternal(t string) bool { return slices.Contains(c.External, t) }

// Validate reports every problem of the section.
func (c Config) Validate() error {
	var l field.List
	for i, t := range c.External {
		if !slices.Contains(transports, t) {
			l.Add(fmt.Sprintf("external[%d]", i), t, "must be one of udp, tcp, tls, ws, wss")
		}
	}
	if c.Secret != "" && len(c.Secret) < MinSecret {
		l.Add("secret", nil, "must be at least %d bytes (it is %d)", MinSecret, len(c.Secret))
	}
	return l.Err()
}
