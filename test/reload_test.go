package test

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReloadUnderLoad replaces sipedge's configuration twice while SIPp
// places calls at a steady rate: first with a file that adds a route
// (user ^7 to the destination set pbx), then with a broken one. No call
// may fail; the new route must work after the good reload and still
// after the broken one, whose every problem is logged with file, line
// and field.
func TestReloadUnderLoad(t *testing.T) {
	a := memberUAS(t, "a", "uas_call_options.xml", 0)
	b := memberUAS(t, "b", "uas_call_options.xml", 0)
	cfg := callConfig()
	cfg.Extra = map[string]any{"routes": []map[string]any{{"match": map[string]string{"user": "^1"}, "to": []string{sipURI(a.Port, "udp")}}}}
	gw := startSipedge(t, cfg)
	c := newUDPClient(t, gw.Addr(t, "udp"))
	if res := c.invite(t, "7000", "before-"+randHex(4)); res.StatusCode != 404 {
		t.Fatalf("user 7000 before the reload: %d, want 404 (no route)", res.StatusCode)
	}

	const calls = 150
	uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"),
		Service: "15551234", Calls: calls, Rate: 30, Timeout: 30 * time.Second})
	time.Sleep(1500 * time.Millisecond) // calls in progress when the rules change

	good := cfg
	good.Extra = map[string]any{
		"sets": map[string]any{"pbx": map[string]any{"algorithm": "round-robin", "members": []string{sipURI(b.Port, "udp")}}},
		"routes": []map[string]any{
			{"match": map[string]string{"user": "^1"}, "to": []string{sipURI(a.Port, "udp")}},
			{"match": map[string]string{"user": "^7"}, "to": []string{"set:pbx"}},
		},
	}
	rewrite(t, gw, good.yaml(t))
	gw.logWithin(t, 5*time.Second, "rules reloaded")
	// The new route works: full calls to user 7000 reach b.
	probe := startSIPp(t, sippRun{Name: "probe", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"), Service: "7000", Calls: 3})
	probe.expectAllSuccessful(t, 3)

	broken := good
	broken.Extra = map[string]any{
		"sets":   map[string]any{"pbx": map[string]any{"algorithm": "random", "members": []string{sipURI(b.Port, "udp")}}},
		"routes": []map[string]any{{"to": []string{"set:nope"}}},
	}
	rewrite(t, gw, broken.yaml(t))
	gw.logWithin(t, 5*time.Second, "config reload refused")
	for _, line := range strings.Split(gw.Log(), "\n") {
		if strings.Contains(line, "config reload refused") {
			for _, want := range []string{gw.Path + ":", "sets.pbx.algorithm (random)", `routes[0].to[0] (set:nope)`} {
				if !strings.Contains(line, want) {
					t.Errorf("refusal lacks %q:\n%s", want, line)
				}
			}
		}
	}
	uac.expectAllSuccessful(t, calls)
	// The good rules are still in effect: a full call to user 7000 reaches b.
	probe2 := startSIPp(t, sippRun{Name: "probe2", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"), Service: "7000", Calls: 3})
	probe2.expectAllSuccessful(t, 3)
	na, nb := a.invites(t), b.invites(t)
	t.Logf("INVITEs: a %d, b %d", na, nb)
	if na != calls {
		t.Errorf("a got %d INVITEs, want the %d load calls", na, calls)
	}
	if nb != 6 {
		t.Errorf("b got %d INVITEs, want the 6 calls to user 7000 after the reloads", nb)
	}
}

// rewrite replaces sipedge's configuration file and sends SIGHUP.
func rewrite(t *testing.T, gw *sipedgeProc, body []byte) {
	t.Helper()
	if err := os.WriteFile(gw.Path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := gw.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
}
