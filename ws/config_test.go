package ws

import (
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/internal/field"
)

func TestConfigDefaultsValidate(t *testing.T) {
	var c Config
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if c.ReadLimit != 65536 || c.MaxConns != 10000 || c.MaxConnsPerIP != 100 || c.PingInterval != 30*time.Second || c.MaxMessageRate != 200 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestConfigValidateListsAll(t *testing.T) {
	c := Config{
		Origins:        []string{"[bad", "*"},
		Hosts:          []string{"a b"},
		ReadLimit:      10,
		MaxConns:       5,
		MaxConnsPerIP:  6,
		PingInterval:   -time.Second,
		PongTimeout:    10 * time.Second,
		IdleTimeout:    time.Millisecond,
		WriteTimeout:   time.Second,
		MaxMessageRate: -1,
	}
	err := c.Validate()
	want := []string{"origins[0]", "origins[1]", "hosts[0]", "read_limit", "max_connections_per_ip", "ping_interval", "idle_timeout", "max_message_rate"}
	errs := field.Unjoin(err)
	if len(errs) != len(want) {
		t.Fatalf("got %d problems, want %d: %v", len(errs), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("problem %d = %q, want %s", i, errs[i], w)
		}
	}
}
