package config

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"time"

	"github.com/sipedge/sipedge/internal/field"
)

// Validate reports every problem in c at once (errors.Join of *field.Error).
// Call SetDefaults first.
func (c *Config) Validate() error {
	var l field.List
	sip := 0
	needTLS := false
	for i, s := range c.Listen {
		ln, err := ParseListen(s)
		if err != nil {
			l.Add(fmt.Sprintf("listen[%d]", i), s, "%v", err)
			continue
		}
		if ln.Scheme != "stun" {
			sip++
		}
		if ln.Scheme == "tls" || ln.Scheme == "wss" {
			needTLS = true
		}
		if host, _, _ := net.SplitHostPort(ln.Addr); c.Gateway.Advertise == "" {
			if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
				l.Add(fmt.Sprintf("listen[%d]", i), s, "a wildcard address needs advertise (the address peers reach us at)")
			}
		}
	}
	if sip == 0 {
		l.Add("listen", nil, "at least one SIP listener (udp://, tcp://, tls://, ws:// or wss://) is required")
	}
	l.Merge("", c.Gateway.Validate())
	if needTLS && !c.TLS.Enabled() {
		l.Add("tls", nil, "tls.cert and tls.key (or tls.certificates) are required for tls:// and wss:// listeners")
	}
	l.Merge("tls", c.TLS.Validate())
	c.validateTrunkCertificates(&l, needTLS)
	l.Merge("rtpengine", c.RTPEngine.Validate())
	l.Merge("ws", c.WS.Validate())
	l.Merge("tcp", c.TCP.Validate())
	l.Merge("nat", c.NAT.Validate())
	l.Merge("ban", c.Ban.Validate())
	l.Merge("admin", c.Admin.Validate())
	l.Merge("cluster", c.Cluster.Validate())
	l.Merge("hep", c.HEP.Validate())
	l.Merge("cdr", c.CDR.Validate())
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		l.Add("log.level", c.Log.Level, "must be debug, info, warn or error")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		l.Add("log.format", c.Log.Format, "must be text or json")
	}
	if d := c.Shutdown.Drain; d < 0 || d > time.Hour {
		l.Add("shutdown.drain", d, "must be 0s..1h")
	}
	if c.Runtime.MemoryLimitMB < 0 {
		l.Add("runtime.memory_limit_mb", c.Runtime.MemoryLimitMB, "must be >= 0 (0 = no limit)")
	}
	switch gc := c.Runtime.GCPercent; {
	case gc < -1:
		l.Add("runtime.gc_percent", gc, "must be -1 (off), 0 (default) or a positive percentage")
	case gc == -1 && c.Runtime.MemoryLimitMB <= 0:
		l.Add("runtime.gc_percent", gc, "-1 turns collection off: it needs runtime.memory_limit_mb")
	}
	return l.Err()
}

// validateTrunkCertificates checks what trunks' tls_names need beyond the
// trunk section: a tls:// or wss:// listener (tls) that asks clients for a
// certificate (tls.client_auth).
func (c *Config) validateTrunkCertificates(l *field.List, tls bool) {
	for _, name := range slices.Sorted(maps.Keys(c.Gateway.Trunks)) {
		if len(c.Gateway.Trunks[name].TLSNames) == 0 {
			continue
		}
		p := "trunks." + name + ".tls_names"
		if c.TLS.ClientAuth != "request" && c.TLS.ClientAuth != "require" {
			l.Add(p, nil, `needs tls.client_auth "request" or "require" (no client certificate is asked for)`)
		}
		if !tls {
			l.Add(p, nil, "needs a tls:// or wss:// listener")
		}
	}
}
