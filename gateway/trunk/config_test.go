package trunk

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{URIs: []string{"sip:203.0.113.10:5060", "sips:sip.carrier.example"}, Username: "acct", Password: "pw", Register: true}
	tests := []struct {
		name string
		edit func(*Config)
		want []string // "" = valid
	}{
		{"valid", func(*Config) {}, nil},
		{"no uris", func(c *Config) { c.URIs = nil }, []string{"uris: at least one provider URI is required"}},
		{"bad uri", func(c *Config) { c.URIs = []string{"http://x", "trunk:other"} }, []string{
			`uris[0] (http://x): scheme "http" not supported`,
			"uris[1] (trunk:other): route: bad target: a trunk URI must be a sip: or sips: URI",
		}},
		{"missing password", func(c *Config) { c.Password = "" }, []string{`password: required: username "acct" is set`}},
		{"register without account", func(c *Config) { c.Username, c.Password = "", "" }, []string{"username: required: register is true"}},
		{"expires", func(c *Config) { c.Expires = 10 }, []string{"expires (10): must be 30..86400"}},
		{"max_calls", func(c *Config) { c.MaxCalls = -1 }, []string{"max_calls (-1): must be >= 0"}},
		{"did", func(c *Config) { c.DIDs = map[string]string{"a b": "alice"} }, []string{"dids.a b (a b): a DID must be a SIP user"}},
		{"tls_names", func(c *Config) {
			c.TLSNames = []string{"carrier.example", "*.carrier.example", "sip:carrier.example", "spiffe://carrier/edge"}
		}, nil},
		{"bad tls_names", func(c *Config) { c.TLSNames = []string{"", "a..b", "*.*.x", "bad name", ":nohost"} }, []string{
			"tls_names[0]: must be a DNS name", "tls_names[1] (a..b)", "tls_names[2] (*.*.x)", "tls_names[3] (bad name)", "tls_names[4] (:nohost)",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			c.SetDefaults()
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in %v", w, err)
				}
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{Username: "acct"}
	c.SetDefaults()
	if c.Expires != 3600 || c.AuthUsername != "acct" {
		t.Errorf("defaults: expires %d auth_username %q", c.Expires, c.AuthUsername)
	}
	var r RegistrationConfig
	r.SetDefaults()
	if err := r.Validate(); err != nil {
		t.Fatalf("default registration policy invalid: %v", err)
	}
	if r.Rate != 20 || r.StartDelay != 10*time.Second || r.RetryMin != 30*time.Second || r.RetryMax != 10*time.Minute || r.ForbiddenRetry != time.Hour || r.RefreshPercent != 80 {
		t.Errorf("registration defaults: %+v", r)
	}
	r.RetryMax = time.Second
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "retry_max (1s): must be >= retry_min (30s)") {
		t.Errorf("Validate() = %v", err)
	}
}

func TestMatchTLSName(t *testing.T) {
	for _, tt := range []struct {
		pattern, san string
		want         bool
	}{
		{"carrier.example", "carrier.example", true},
		{"carrier.example", "CARRIER.example.", true},
		{"carrier.example", "other.example", false},
		{"carrier.example", "edge.carrier.example", false},
		{"*.carrier.example", "edge.carrier.example", true},
		{"*.carrier.example", "carrier.example", false},
		{"*.carrier.example", "a.b.carrier.example", false},
		{"sip:carrier.example", "SIP:carrier.example", true},
		{"sip:carrier.example", "carrier.example", false},
		{"carrier.example", "sip:carrier.example", false},
		{"*.example", "sip:carrier.example", false},
	} {
		if got := MatchTLSName(tt.pattern, tt.san); got != tt.want {
			t.Errorf("MatchTLSName(%q, %q) = %v, want %v", tt.pattern, tt.san, got, tt.want)
		}
	}
}
