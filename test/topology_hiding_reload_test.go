package test

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestTopologyHidingReload changes topology_hiding on SIGHUP with calls in
// progress: a TCP caller outside (127.0.0.1, the external transport) calls
// a Go UAS inside (UDP on 127.0.0.3, sipedge's inside listener 127.0.0.2)
// through real rtpengine. Call 1 is set up under secret A; a reload to
// secret B; call 2; a reload that turns external off (secret C); call 3.
// Calls 1 and 2 reach the caller hidden, call 3 shows the inside (new
// dialogs take the new settings). Then the BYEs: call 2's, sealed with the
// secret before the one in effect, still routes in; call 1's, two secrets
// back, does not (404); call 3's routes as a plain call.
func TestTopologyHidingReload(t *testing.T) {
	rtpe := startRTPEngine(t)
	uas := startGoUAS(t, "127.0.0.3", "udp", nil)
	cfg := func(external []string, secret string) proxyConfig {
		return proxyConfig{
			Listen:    []string{"tcp://127.0.0.1:0", "udp://127.0.0.2:0"},
			Routes:    []proxyRoute{{User: "^inside$", To: []string{"sip:" + uas.Addr}}},
			Trusted:   []string{"127.0.0.1/32"},
			RTPEngine: map[string]any{"nodes": []string{rtpe.NG}, "timeout": "1s"},
			Media:     map[string]any{"classic_to_classic": "anchor"},
			Extra:     map[string]any{"topology_hiding": map[string]any{"external": external, "secret": secret}},
		}
	}
	gw := startSipedge(t, cfg([]string{"tcp"}, "secret A of enough bytes"))
	type call struct {
		uac *streamUAC
		ok  *sip.Response
	}
	place := func(name string, hidden bool) call {
		t.Helper()
		c := dialTCPUAC(t, "127.0.0.1", gw.Addr(t, "tcp"))
		c.invite("inside")
		res := c.final(t, 5*time.Second)
		if res.StatusCode != 200 {
			t.Fatalf("%s: INVITE: %d %s, want 200", name, res.StatusCode, res.Reason)
		}
		c.inDialog(t, res, "ACK", 1)
		shows := strings.Contains(res.String(), "127.0.0.3") || strings.Contains(res.String(), "127.0.0.2")
		switch {
		case hidden && shows:
			t.Errorf("%s: the 200 shows the inside:\n%s", name, res)
		case !hidden && !shows:
			t.Errorf("%s: the 200 hides the inside after topology hiding was turned off:\n%s", name, res)
		}
		return call{c, res}
	}
	reloads := 0
	reload := func(c proxyConfig, secretChanged bool) {
		t.Helper()
		rewrite(t, gw, c.yaml(t))
		reloads++
		waitLog(t, gw, 5*time.Second, reloads, `msg="rules reloaded"`)
		if secretChanged {
			waitLog(t, gw, time.Second, reloads, `msg="rules reloaded"`, "topology_secret_changed=true")
		}
	}
	c1 := place("call 1 (secret A)", true)
	reload(cfg([]string{"tcp"}, "secret B of enough bytes"), true)
	c2 := place("call 2 (secret B)", true)
	reload(cfg(nil, "secret C of enough bytes"), true)
	c3 := place("call 3 (hiding off)", false)

	for _, tt := range []struct {
		name string
		c    call
		want int
	}{
		{"call 2, the secret before", c2, 200},
		{"call 1, two secrets back", c1, 404},
		{"call 3, not hidden", c3, 200},
	} {
		tt.c.uac.inDialog(t, tt.c.ok, "BYE", 2)
		if res := tt.c.uac.final(t, 5*time.Second); res.StatusCode != tt.want {
			t.Errorf("%s: BYE: %d %s, want %d", tt.name, res.StatusCode, res.Reason, tt.want)
		}
	}
	if n := uas.byes.Load(); n != 2 {
		t.Errorf("the UAS inside got %d BYEs, want 2 (calls 2 and 3)", n)
	}
}
