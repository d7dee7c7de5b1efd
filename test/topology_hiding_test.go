package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTopologyHiding: a SIPp caller outside (UDP on 127.0.0.1, the
// external transport) calls a SIPp UAS inside (TCP on 127.0.0.3, sipedge's
// inside listener on 127.0.0.2) through real rtpengine; the caller's BYE
// (and the callee's) routes through the sealed Contact and Record-Route. No byte the
// caller receives (SIPp's -trace_msg log) names an inside address.
func TestTopologyHiding(t *testing.T) {
	requireSIPp(t)
	rtpe := startRTPEngine(t)
	for _, tt := range []struct{ name, uac, uas string }{
		{"BYE from outside", "uac_call.xml", "uas_call.xml"},
		{"BYE from inside", "uac_call_aor_bye_in.xml", "uas_call_bye.xml"},
	} {
		t.Run(tt.name, func(t *testing.T) { topologyHidingCall(t, rtpe, tt.uac, tt.uas) })
	}
}

func topologyHidingCall(t *testing.T, rtpe *rtpengineProc, uacScenario, uasScenario string) {
	uas := startSIPp(t, sippRun{Name: "inside", Scenario: uasScenario, Transport: "tcp", IP: "127.0.0.3", Timeout: 20 * time.Second})
	gw := startSipedge(t, proxyConfig{
		Listen:    []string{"udp://127.0.0.1:0", "tcp://127.0.0.2:0"},
		Routes:    []proxyRoute{{User: "^inside$", To: []string{"sip:127.0.0.3:" + itoa(uas.Port) + ";transport=tcp"}}},
		Trusted:   []string{"127.0.0.1/32"},
		RTPEngine: map[string]any{"nodes": []string{rtpe.NG}, "timeout": "1s"},
		Media:     map[string]any{"classic_to_classic": "anchor"},
		Extra:     map[string]any{"topology_hiding": map[string]any{"external": []string{"udp"}}},
	})
	uac := startSIPp(t, sippRun{Name: "outside", Scenario: uacScenario, Remote: gw.Addr(t, "udp"), Service: "inside",
		Timeout: 20 * time.Second, Args: []string{"-trace_msg", "-message_file", "messages.log"}})
	uac.expectAllSuccessful(t, 1)
	uas.expectAllSuccessful(t, 1)
	raw, err := os.ReadFile(filepath.Join(uac.Dir, "messages.log"))
	if err != nil {
		t.Fatal(err)
	}
	received := 0
	for _, part := range strings.Split(string(raw), "message received")[1:] {
		msg, _, _ := strings.Cut(part, "----------------------------------------------- ")
		received++
		for _, inside := range []string{"127.0.0.2", "127.0.0.3"} {
			if strings.Contains(msg, inside) {
				t.Errorf("the caller outside received %s:\n%s", inside, msg)
			}
		}
	}
	if received < 3 { // 100, 180, 200 at least, then the BYE's 200
		t.Fatalf("caller received %d messages:\n%s", received, raw)
	}
	t.Logf("caller received %d messages, none with an inside address", received)
}
