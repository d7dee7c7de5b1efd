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

// TestTrunkProviderRestart registers over TCP with a SIPp provider that
// then exits (its connection closes) and comes back on the same port: the
// lost connection makes sipedge register again at once, refused until the
// provider is back, then within one backoff step (retry_min 1s) of it;
// the hour granted first would otherwise hold the next REGISTER back.
func TestTrunkProviderRestart(t *testing.T) {
	first := startSIPp(t, sippRun{Name: "provider1", Scenario: "uas_register_once.xml", Transport: "tcp"})
	cfg := proxyConfig{Extra: map[string]any{
		"trunks": map[string]any{"carrier": map[string]any{
			"uris": []string{sipURI(first.Port, "tcp")}, "username": "acct", "password": "pw", "register": true,
		}},
		"trunk_registration": map[string]any{"start_delay": "-1s", "retry_min": "1s", "retry_max": "2s"},
	}}
	gw := startSipedge(t, cfg)
	first.expectAllSuccessful(t, 1) // registered; SIPp exits and closes the connection
	restarted := time.Now()
	second := startSIPp(t, sippRun{Name: "provider2", Scenario: "uas_register_once.xml", Transport: "tcp", Port: first.Port, Timeout: 10 * time.Second})
	second.expectAllSuccessful(t, 1)
	if d := time.Since(restarted); d > 5*time.Second {
		t.Errorf("registered again %v after the provider came back, want within the 1-2s backoff", d)
	}
	if log := gw.Log(); !strings.Contains(log, "trunk connection lost: registering again") {
		t.Errorf("no lost connection noticed:\n%s", tail(log, 3000))
	}
}
