package listen

import (
	"strings"
	"testing"
	"time"
)

func TestConfigDefaultsValid(t *testing.T) {
	var c Config
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	want := Config{MaxConns: 10000, MaxConnsPerIP: 100, MessageTimeout: 10 * time.Second,
		IdleTimeout: 10 * time.Minute, WriteTimeout: 10 * time.Second, MaxMessageSize: 65535}
	if c != want {
		t.Fatalf("defaults = %+v, want %+v", c, want)
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		want []string
	}{
		{"negative caps", func(c *Config) { c.MaxConns, c.MaxConnsPerIP = -1, -2 },
			[]string{"max_connections (-1): must be > 0", "max_connections_per_ip (-2): must be > 0"}},
		{"per ip above total", func(c *Config) { c.MaxConns, c.MaxConnsPerIP = 10, 11 },
			[]string{"max_connections_per_ip (11): must be <= max_connections (10)"}},
		{"timeouts", func(c *Config) { c.MessageTimeout, c.IdleTimeout, c.WriteTimeout = -time.Second, -time.Second, -1 },
			[]string{"message_timeout (-1s): must be > 0", "idle_timeout (-1s): must be > 0", "write_timeout (-1ns): must be > 0"}},
		{"idle below message", func(c *Config) { c.MessageTimeout, c.IdleTimeout = time.Minute, time.Second },
			[]string{"idle_timeout (1s): must be >= message_timeout (1m0s)"}},
		{"size", func(c *Config) { c.MaxMessageSize = 70000 },
			[]string{"max_message_size (70000): must be 1024..65535 bytes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			c.SetDefaults()
			tc.edit(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			got := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("error %q lacks %q", got, w)
				}
			}
			if n := strings.Count(got, "\n") + 1; n != len(tc.want) {
				t.Errorf("%d problems reported, want %d: %q", n, len(tc.want), got)
			}
		})
	}
}
