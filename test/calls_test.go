package test

import (
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/loopback"
)

// callConfig is a proxy that trusts loopback and sends every call to hops.
func callConfig(hops ...string) proxyConfig {
	return proxyConfig{
		Trusted: []string{"127.0.0.1/32"},
		Users:   map[string]string{"alice": "alice-secret", "bob": "bob-secret"},
		Routes:  []proxyRoute{{To: hops}},
	}
}

// TestSIPpDirect checks the scenarios and the harness without a proxy:
// SIPp UAC straight to SIPp UAS.
func TestSIPpDirect(t *testing.T) {
	const calls = 5
	uas := startSIPp(t, sippRun{Name: "uas", Scenario: "uas_call.xml", Calls: calls})
	uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call.xml", Remote: "127.0.0.1:" + itoa(uas.Port), Service: "15551234", Calls: calls, Rate: 20})
	uac.expectAllSuccessful(t, calls)
	uas.expectAllSuccessful(t, calls)
}

// TestCall places calls INVITE/100/180/200/ACK/BYE/200 through sipedge
// over UDP and over TCP (both legs) and wants every one to succeed.
func TestCall(t *testing.T) {
	const calls = 20
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			uas := startSIPp(t, sippRun{Name: "uas", Scenario: "uas_call.xml", Transport: transport, Calls: calls})
			gw := startSipedge(t, callConfig(sipURI(uas.Port, transport)))
			uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call.xml", Transport: transport,
				Remote: gw.Addr(t, transport), Service: "15551234", Calls: calls, Rate: 10})
			uac.expectAllSuccessful(t, calls)
			uas.expectAllSuccessful(t, calls)
		})
	}
}

// TestCancel has the caller CANCEL a ringing call: 200 for the CANCEL and
// 487 for the INVITE must come back end to end, and the callee must see
// the CANCEL.
func TestCancel(t *testing.T) {
	const calls = 3
	uas := startSIPp(t, sippRun{Name: "uas", Scenario: "uas_ring_cancel.xml", Calls: calls})
	gw := startSipedge(t, callConfig(sipURI(uas.Port, "udp")))
	uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_cancel.xml", Remote: gw.Addr(t, "udp"), Service: "15551234", Calls: calls})
	uac.expectAllSuccessful(t, calls)
	uas.expectAllSuccessful(t, calls)
}

// TestNoAnswer calls a UAS that rings forever: after invite_timeout sipedge
// must CANCEL downstream (the UAS expects it) and answer 408 upstream.
func TestNoAnswer(t *testing.T) {
	const timeout = 2 * time.Second
	uas := startSIPp(t, sippRun{Name: "uas", Scenario: "uas_ring_cancel.xml"})
	cfg := callConfig(sipURI(uas.Port, "udp"))
	cfg.InviteTimeout = timeout
	gw := startSipedge(t, cfg)
	uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_noanswer.xml", Remote: gw.Addr(t, "udp"), Service: "15551234"})
	res := uac.expectAllSuccessful(t, 1)
	uas.expectAllSuccessful(t, 1)
	// Elapsed is measured from Wait, so it is a lower bound of the call's
	// length only approximately; the upper bound catches a missing timer.
	if res.Elapsed > timeout+3*time.Second {
		t.Errorf("408 came after %v, want about %v", res.Elapsed, timeout)
	}
}

// TestFailover routes to a dead first hop and a live second one: the call
// must reach the second (serial failover on transport error and on 503).
func TestFailover(t *testing.T) {
	tests := []struct {
		name string
		dead func(t *testing.T) (hop string, check func())
	}{
		{"refused tcp", func(t *testing.T) (string, func()) {
			// Nothing listens there: the TCP connect fails at once.
			return sipURI(loopback.FreePort(t), "tcp"), func() {}
		}},
		{"503", func(t *testing.T) (string, func()) {
			bad := startSIPp(t, sippRun{Name: "uas503", Scenario: "uas_503.xml"})
			return sipURI(bad.Port, "udp"), func() { bad.expectAllSuccessful(t, 1) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dead, check := tt.dead(t)
			uas := startSIPp(t, sippRun{Name: "uas", Scenario: "uas_call.xml"})
			gw := startSipedge(t, callConfig(dead, sipURI(uas.Port, "udp")))
			uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"), Service: "15551234"})
			uac.expectAllSuccessful(t, 1)
			uas.expectAllSuccessful(t, 1)
			check()
		})
	}
}
