package test

import (
	"strings"
	"testing"
	"time"
)

// TestTrunkRegisterSIPp registers sipedge with a SIPp provider demanding
// digest and granting 10s: the provider sees the first registration and
// its refresh (5s later, before expiry), each answering a fresh nonce.
func TestTrunkRegisterSIPp(t *testing.T) {
	prov := startSIPp(t, sippRun{Name: "provider", Scenario: "uas_register_auth.xml", Timeout: 20 * time.Second})
	cfg := proxyConfig{Extra: map[string]any{
		"trunks": map[string]any{"carrier": map[string]any{
			"uris": []string{sipURI(prov.Port, "udp")}, "username": "acct", "password": "pw",
			"register": true, "expires": 60,
		}},
		"trunk_registration": map[string]any{"start_delay": "-1s"},
	}}
	start := time.Now()
	gw := startSipedge(t, cfg)
	prov.expectAllSuccessful(t, 1)
	if d := time.Since(start); d < 4*time.Second || d > 12*time.Second {
		t.Errorf("refresh seen after %v, want about 5s (10s granted, refreshed 5s before the end)", d)
	}
	if n := strings.Count(gw.Log(), `msg="trunk registered"`); n < 2 {
		t.Errorf("sipedge logged %d registrations, want the first and the refresh:\n%s", n, tail(gw.Log(), 3000))
	}
}
