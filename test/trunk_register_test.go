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

// TestTrunkCallSIPp calls a number routed to a trunk whose SIPp provider
// demands digest on INVITE: sipedge answers the 407 with the trunk's
// credentials and the next CSeq, rewrites the caller-ID, and shifts the
// caller's ACK and BYE so the provider's CSeqs stay in order (its
// scenario checks each); the SIPp caller sees an ordinary call.
func TestTrunkCallSIPp(t *testing.T) {
	const calls = 5
	prov := startSIPp(t, sippRun{Name: "provider", Scenario: "uas_call_auth.xml", Calls: calls})
	cfg := callConfig("trunk:carrier")
	cfg.Routes = []proxyRoute{{User: `^\+?[0-9]+$`, To: []string{"trunk:carrier"}}}
	cfg.Extra = map[string]any{"trunks": map[string]any{"carrier": map[string]any{
		"uris": []string{sipURI(prov.Port, "udp")}, "username": "acct", "password": "pw", "from_user": "+15550100",
	}}}
	gw := startSipedge(t, cfg)
	uac := startSIPp(t, sippRun{Name: "caller", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"), Service: "+15550199", Calls: calls, Rate: 10})
	uac.expectAllSuccessful(t, calls)
	prov.expectAllSuccessful(t, calls)
}
