package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTopologyHiding: SIPp parties outside (UDP on 127.0.0.1, the
// external transport) and inside (TCP on 127.0.0.3; sipedge's inside
// listener on 127.0.0.2) call each other through real rtpengine, in both
// directions: a plain call with the BYE from either side, and calls where
// each side sends a re-INVITE, then either hangs up. The outside party's
// in-dialog requests route through the sealed Contact and Record-Route
// (the scenarios complete); no byte it receives (SIPp's -trace_msg log)
// names an inside address or the inside transport.
func TestTopologyHiding(t *testing.T) {
	requireSIPp(t)
	rtpe := startRTPEngine(t)
	for _, tt := range []topoCall{
		{name: "BYE from outside", uac: "uac_call.xml", uas: "uas_call.xml", inward: true, min: 3},
		{name: "BYE from inside", uac: "uac_call_aor_bye_in.xml", uas: "uas_call_bye.xml", inward: true, min: 3},
		// The caller re-INVITEs, then the callee; then one hangs up.
		{name: "outside calls, re-INVITEs, BYE from outside", uac: "uac_th_bye_out.xml", uas: "uas_th.xml", inward: true, min: 6},
		{name: "outside calls, re-INVITEs, BYE from inside", uac: "uac_th_bye_in.xml", uas: "uas_th_bye.xml", inward: true, min: 6},
		{name: "inside calls, re-INVITEs, BYE from outside", uac: "uac_th_bye_in.xml", uas: "uas_th_bye.xml", min: 6},
		{name: "inside calls, re-INVITEs, BYE from inside", uac: "uac_th_bye_out.xml", uas: "uas_th.xml", min: 6},
	} {
		t.Run(tt.name, func(t *testing.T) { topologyHidingCall(t, rtpe, tt) })
	}
}

// topoCall is one call of TestTopologyHiding: the caller's and callee's
// SIPp scenarios, whether the caller is the outside party (inward), and
// the fewest messages the outside party must receive.
type topoCall struct {
	name, uac, uas string
	inward         bool
	min            int
}

func topologyHidingCall(t *testing.T, rtpe *rtpengineProc, tc topoCall) {
	trace := []string{"-trace_msg", "-message_file", "messages.log"}
	cid := []string{"-cid_str", "%u-%p@caller.invalid"} // no address of the caller's in the Call-ID
	var uasRun sippRun
	if tc.inward {
		uasRun = sippRun{Name: "inside", Scenario: tc.uas, Transport: "tcp", IP: "127.0.0.3", Timeout: 20 * time.Second}
	} else {
		uasRun = sippRun{Name: "outside", Scenario: tc.uas, IP: "127.0.0.1", Timeout: 20 * time.Second, Args: trace}
	}
	uas := startSIPp(t, uasRun)
	to := "sip:127.0.0.3:" + itoa(uas.Port) + ";transport=tcp"
	if !tc.inward {
		to = "sip:127.0.0.1:" + itoa(uas.Port)
	}
	gw := startSipedge(t, proxyConfig{
		Listen:    []string{"udp://127.0.0.1:0", "tcp://127.0.0.2:0"},
		Routes:    []proxyRoute{{User: "^(inside|outside)$", To: []string{to}}},
		Trusted:   []string{"127.0.0.1/32", "127.0.0.3/32"},
		RTPEngine: map[string]any{"nodes": []string{rtpe.NG}, "timeout": "1s"},
		Media:     map[string]any{"classic_to_classic": "anchor"},
		Extra:     map[string]any{"topology_hiding": map[string]any{"external": []string{"udp"}}},
	})
	var uacRun sippRun
	if tc.inward {
		uacRun = sippRun{Name: "outside", Scenario: tc.uac, Remote: gw.Addr(t, "udp"), Service: "inside",
			Timeout: 20 * time.Second, Args: append(trace, cid...)}
	} else {
		uacRun = sippRun{Name: "inside", Scenario: tc.uac, Transport: "tcp", IP: "127.0.0.3", Remote: gw.Addr(t, "tcp"),
			Service: "outside", Timeout: 20 * time.Second, Args: cid}
	}
	uac := startSIPp(t, uacRun)
	uac.expectAllSuccessful(t, 1)
	uas.expectAllSuccessful(t, 1)
	outside := uac
	if !tc.inward {
		outside = uas
	}
	raw, err := os.ReadFile(filepath.Join(outside.Dir, "messages.log"))
	if err != nil {
		t.Fatal(err)
	}
	received := 0
	for _, part := range strings.Split(string(raw), "message received")[1:] {
		msg, _, _ := strings.Cut(part, "----------------------------------------------- ")
		received++
		for _, inside := range []string{"127.0.0.2", "127.0.0.3", "SIP/2.0/TCP", "transport=tcp"} {
			if strings.Contains(strings.ToLower(msg), strings.ToLower(inside)) {
				t.Errorf("the %s party outside received %s:\n%s", map[bool]string{true: "calling", false: "called"}[tc.inward], inside, msg)
			}
		}
	}
	if received < tc.min {
		t.Fatalf("the outside party received %d messages, want %d at least:\n%s", received, tc.min, raw)
	}
	if !t.Failed() {
		t.Logf("the outside party received %d messages, none with an inside address", received)
	}
}
