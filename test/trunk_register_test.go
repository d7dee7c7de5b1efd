package test

import (
	"encoding/json"
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

// TestTrunkAdminList: GET /api/v1/trunks shows a trunk registered with a
// SIPp provider (state, hop, expiry).
func TestTrunkAdminList(t *testing.T) {
	prov := startSIPp(t, sippRun{Name: "provider", Scenario: "uas_register_once.xml"})
	gw := startSipedge(t, proxyConfig{
		Admin: map[string]any{"listen": "127.0.0.1:0", "token": adminToken},
		Extra: map[string]any{
			"trunks": map[string]any{"carrier": map[string]any{
				"uris": []string{sipURI(prov.Port, "udp")}, "username": "acct", "password": "pw", "register": true,
			}},
			"trunk_registration": map[string]any{"start_delay": "-1s"},
		},
	})
	prov.expectAllSuccessful(t, 1)
	addr := adminAddr(t, gw)
	var list []struct {
		Name, State, Hop string
		Expires          *time.Time
	}
	for i := 0; ; i++ {
		code, body := adminDo(t, "GET", addr, adminToken, "/api/v1/trunks")
		if code != 200 {
			t.Fatalf("GET /api/v1/trunks: %d %s", code, body)
		}
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		if len(list) == 1 && list[0].State == "registered" {
			break
		}
		if i == 50 {
			t.Fatalf("not registered after 5s: %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if list[0].Name != "carrier" || list[0].Hop != "udp:127.0.0.1:"+itoa(prov.Port) || list[0].Expires == nil || time.Until(*list[0].Expires) < 50*time.Minute {
		t.Errorf("trunk %+v, want carrier registered on the provider for about an hour", list[0])
	}
}
