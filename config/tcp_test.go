package config

import (
	"strings"
	"testing"
	"time"
)

// TestTCPSection checks the tcp section's defaults and that each bad value
// is reported with its line and field.
func TestTCPSection(t *testing.T) {
	base := "listen: [tcp://127.0.0.1:0]\ndomains: [example.test]\n"
	c, err := Parse("ok.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if c.TCP.MaxConns != 10000 || c.TCP.MaxConnsPerIP != 100 || c.TCP.MessageTimeout != 10*time.Second ||
		c.TCP.IdleTimeout != 10*time.Minute || c.TCP.WriteTimeout != 10*time.Second || c.TCP.MaxMessageSize != 65535 {
		t.Fatalf("tcp defaults: %+v", c.TCP)
	}
	bad := base + `tcp:
  max_connections: 10
  max_connections_per_ip: 20
  message_timeout: -1s
  idle_timeout: -5s
  write_timeout: -1s
  max_message_size: 100
`
	_, err = Parse("bad.yaml", []byte(bad))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"bad.yaml:5: tcp.max_connections_per_ip (20): must be <= max_connections (10)",
		"bad.yaml:6: tcp.message_timeout (-1s): must be > 0",
		"bad.yaml:7: tcp.idle_timeout (-5s): must be > 0",
		"bad.yaml:8: tcp.write_timeout (-1s): must be > 0",
		"bad.yaml:9: tcp.max_message_size (100): must be 1024..65535 bytes",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if _, err := Parse("typo.yaml", []byte(base+"tcp: {idle_timout: 1m}\n")); err == nil || !strings.Contains(err.Error(), "idle_timout") {
		t.Errorf("unknown key in tcp not reported: %v", err)
	}
}
