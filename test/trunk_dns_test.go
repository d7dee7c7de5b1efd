package test

import (
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/gateway/resolve/resolvetest"
	"github.com/sipedge/sipedge/test/loopback"
)

// srvZone serves _sip._tcp.carrier.test with two records: priority 10 on
// a TCP port where nothing listens (connection refused), priority 20 on
// live.
func srvZone(t *testing.T, dead, live int) *resolvetest.Zone {
	return resolvetest.NewZone(t,
		"_sip._tcp.carrier.test. 60 IN SRV 10 0 "+itoa(dead)+" dead.carrier.test.",
		"_sip._tcp.carrier.test. 60 IN SRV 20 0 "+itoa(live)+" live.carrier.test.",
		"dead.carrier.test. 60 IN A 127.0.0.1",
		"live.carrier.test. 60 IN A 127.0.0.1",
	)
}

// TestTrunkSRVFailover: a trunk named by its domain resolves through SRV;
// the first record is dead (TCP connection refused), so the registration
// (and its refresh) and the calls go to the second, a SIPp provider over
// TCP demanding digest.
func TestTrunkSRVFailover(t *testing.T) {
	trunkCfg := func(zone *resolvetest.Zone, register bool) map[string]any {
		return map[string]any{
			"trunks": map[string]any{"carrier": map[string]any{
				"uris": []string{"sip:carrier.test;transport=tcp"}, "username": "acct", "password": "pw",
				"register": register, "expires": 60, "from_user": "+15550100",
			}},
			"trunk_registration": map[string]any{"start_delay": "-1s"},
			"trunk_dns":          []string{zone.Addr},
		}
	}
	t.Run("register", func(t *testing.T) {
		prov := startSIPp(t, sippRun{Name: "provider", Scenario: "uas_register_auth.xml", Transport: "tcp", Timeout: 20 * time.Second})
		dead := loopback.FreePort(t)
		zone := srvZone(t, dead, prov.Port)
		gw := startSipedge(t, proxyConfig{Extra: trunkCfg(zone, true)})
		prov.expectAllSuccessful(t, 1)
		log := gw.Log()
		if !strings.Contains(log, "trunk registration hop failed: trying the next\" component=trunk trunk=carrier hop=127.0.0.1:"+itoa(dead)) {
			t.Errorf("the dead SRV record was not tried first:\n%s", tail(log, 3000))
		}
		if n := strings.Count(log, "msg=\"trunk registered\" component=trunk trunk=carrier hop=127.0.0.1:"+itoa(prov.Port)); n < 2 {
			t.Errorf("%d registrations on the live record, want 2 (first and refresh)", n)
		}
	})
	t.Run("calls", func(t *testing.T) {
		const calls = 3
		prov := startSIPp(t, sippRun{Name: "provider", Scenario: "uas_call_auth.xml", Transport: "tcp", Calls: calls})
		dead := loopback.FreePort(t)
		zone := srvZone(t, dead, prov.Port)
		cfg := callConfig()
		cfg.Routes = []proxyRoute{{User: `^\+?[0-9]+$`, To: []string{"trunk:carrier"}}}
		cfg.Extra = trunkCfg(zone, false)
		gw := startSipedge(t, cfg)
		uac := startSIPp(t, sippRun{Name: "caller", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"), Service: "+15550199", Calls: calls, Rate: 10})
		uac.expectAllSuccessful(t, calls)
		prov.expectAllSuccessful(t, calls)
		if n := strings.Count(gw.Log(), "dst=127.0.0.1:"+itoa(dead)); n < calls {
			t.Errorf("the dead SRV record was tried %d times, want once per call", n)
		}
	})
}
