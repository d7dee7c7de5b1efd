package test

import (
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/loopback"
)

// TestSetFRTimerDeadHop routes calls to [dead UDP hop, live UAS]: the
// dead hop never answers, so without a branch timer each call waits for
// Timer B (32s). With fr_timer 1s on the route every call must fail over
// and complete within a few seconds.
func TestSetFRTimerDeadHop(t *testing.T) {
	const calls = 5
	uas := startSIPp(t, sippRun{Name: "uas", Scenario: "uas_call.xml", Calls: calls})
	dead := sipURI(loopback.FreePort(t), "udp")
	cfg := callConfig()
	cfg.Extra = map[string]any{"routes": []map[string]any{
		{"to": []string{dead, sipURI(uas.Port, "udp")}, "fr_timer": "1s"},
	}}
	gw := startSipedge(t, cfg)
	start := time.Now()
	uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"),
		Service: "15551234", Calls: calls, Rate: 10, Timeout: 20 * time.Second})
	uac.expectAllSuccessful(t, calls)
	uas.expectAllSuccessful(t, calls)
	if el := time.Since(start); el > 6*time.Second {
		t.Errorf("%d calls through [dead, good] took %v, want < 6s (fr_timer 1s)", calls, el)
	}
}

// TestSetFRTimerDefault checks the default fr_timer (4s) alone, with no
// per-route value: one call through [dead, good] completes in under 8s.
func TestSetFRTimerDefault(t *testing.T) {
	uas := startSIPp(t, sippRun{Name: "uas", Scenario: "uas_call.xml"})
	gw := startSipedge(t, callConfig(sipURI(loopback.FreePort(t), "udp"), sipURI(uas.Port, "udp")))
	start := time.Now()
	uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"),
		Service: "15551234", Timeout: 20 * time.Second})
	uac.expectAllSuccessful(t, 1)
	uas.expectAllSuccessful(t, 1)
	if el := time.Since(start); el < 3*time.Second || el > 8*time.Second {
		t.Errorf("call through [dead, good] took %v, want about 4s (default fr_timer)", el)
	}
}
