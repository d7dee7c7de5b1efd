package nat

import (
	"testing"
	"time"

	"github.com/sipedge/sipedge/internal/field"
)

func TestConfig(t *testing.T) {
	var c Config
	c.SetDefaults()
	if err := c.Validate(); err != nil || c.Keepalive.Method != MethodOptions || c.Keepalive.Interval != 20*time.Second {
		t.Fatalf("defaults %+v: %v", c, err)
	}
	bad := Config{Keepalive: KeepaliveConfig{Method: "udp", Interval: time.Second}}
	if errs := field.Unjoin(bad.Validate()); len(errs) != 2 {
		t.Fatalf("want 2 problems, got %v", errs)
	}
}
