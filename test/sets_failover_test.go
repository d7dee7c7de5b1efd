package test

import (
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/loopback"
)

// setConfig is a proxy that trusts loopback and sends every call to the
// destination set "pbx" described by set.
func setConfig(set map[string]any) proxyConfig {
	c := callConfig()
	c.Extra = map[string]any{
		"sets":   map[string]any{"pbx": set},
		"routes": []map[string]any{{"to": []string{"set:pbx"}, "fr_timer": "1s"}},
	}
	return c
}

// TestSetFailoverAndProbes is the destination set of the issue: three
// SIPp members, one answering every INVITE with 503 (but OPTIONS with
// 200), one dead, one good, probed every 200ms. Probing marks the dead
// one down within its threshold, once; every call then fails over from
// the 503 member to the good one within its one INVITE and completes,
// never trying the dead one. When the dead one comes back, probing marks
// it up and it takes calls again.
func TestSetFailoverAndProbes(t *testing.T) {
	u503 := memberUAS(t, "uas503", "uas_503_options.xml", 0)
	good := memberUAS(t, "good", "uas_call_options.xml", 0)
	deadPort := loopback.FreePort(t)
	dead := sipURI(deadPort, "udp")
	gw := startSipedge(t, setConfig(map[string]any{
		"algorithm": "round-robin",
		"members":   []string{sipURI(u503.Port, "udp"), dead, sipURI(good.Port, "udp")},
		"probe":     map[string]any{"interval": "200ms", "down_after": 2, "up_after": 2},
	}))
	// Two failed probes: the first at start, the second 200ms later, each
	// given up after its 200ms timeout.
	took := gw.logWithin(t, 3*time.Second, "set member down", "member="+dead)
	if took > 1500*time.Millisecond {
		t.Errorf("dead member marked down after %v, want < 1.5s (2 probes of 200ms)", took)
	}
	const calls = 12
	start := time.Now()
	uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"),
		Service: "15551234", Calls: calls, Rate: 20, Timeout: 20 * time.Second})
	uac.expectAllSuccessful(t, calls)
	if el := time.Since(start); el > 4*time.Second {
		t.Errorf("%d calls took %v: the dead member was tried (fr_timer 1s), want < 4s", calls, el)
	}
	if n := gw.countLog("set member down", "member="+dead); n != 1 {
		t.Errorf("dead member: %d down lines, want 1 (logged once per change)", n)
	}

	// The dead member comes back.
	revived := memberUAS(t, "revived", "uas_call_options.xml", deadPort)
	gw.logWithin(t, 3*time.Second, "set member up", "member="+dead)
	uac2 := startSIPp(t, sippRun{Name: "uac2", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"),
		Service: "15551234", Calls: calls, Rate: 20, Timeout: 20 * time.Second})
	uac2.expectAllSuccessful(t, calls)

	n503, nGood, nRevived := u503.invites(t), good.invites(t), revived.invites(t)
	t.Logf("INVITEs: 503 member %d, good %d, revived %d", n503, nGood, nRevived)
	if n503 == 0 {
		t.Error("the 503 member (alive by probes) never got an INVITE")
	}
	if nRevived == 0 || nRevived > calls {
		t.Errorf("revived member got %d INVITEs after coming up, want 1..%d", nRevived, calls)
	}
	if nGood+nRevived != 2*calls {
		t.Errorf("good %d + revived %d INVITEs, want %d: every call completed on one of them", nGood, nRevived, 2*calls)
	}
}

// TestSetCallFailuresMarkDown has no probing: a dead member is found by
// real calls (fr_timer expiries) and skipped after down_after_calls.
func TestSetCallFailuresMarkDown(t *testing.T) {
	good := memberUAS(t, "good", "uas_call_options.xml", 0)
	dead := sipURI(loopback.FreePort(t), "udp")
	gw := startSipedge(t, setConfig(map[string]any{
		"algorithm": "priority", "down_after_calls": 1,
		"members": []string{dead, sipURI(good.Port, "udp")},
	}))
	const calls = 6
	start := time.Now()
	uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"),
		Service: "15551234", Calls: calls, Rate: 2, Limit: 1, Timeout: 20 * time.Second})
	uac.expectAllSuccessful(t, calls)
	el := time.Since(start)
	if n := good.invites(t); n != calls {
		t.Errorf("good member got %d INVITEs, want %d", n, calls)
	}
	if n := gw.countLog("set member down", "member="+dead); n != 1 {
		t.Errorf("%d down lines for the dead member, want 1", n)
	}
	// One call waits out fr_timer (1s); the rest go straight to good.
	if el > 6*time.Second {
		t.Errorf("%d calls took %v, want the dead member skipped after the first", calls, el)
	}
}
