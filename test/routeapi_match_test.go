package test

import (
	"testing"

	"github.com/sipedge/sipedge/test/loopback"
)

// TestRouteMatchActions routes on transport, user and source: a call over
// TCP to 0044... takes the first route, whose actions strip 4 digits,
// prefix +44, add X-Added and remove Subject (the UAS checks all four);
// the same number over UDP skips it, a route for another source network
// never fits loopback, and the last route takes the call.
func TestRouteMatchActions(t *testing.T) {
	intl := startSIPp(t, sippRun{Name: "intl", Scenario: "uas_call_actions.xml"})
	plain := startSIPp(t, sippRun{Name: "plain", Scenario: "uas_call.xml"})
	cfg := callConfig()
	cfg.Extra = map[string]any{"routes": []map[string]any{
		{"match": map[string]any{"transports": []string{"tcp"}, "user": "^0044", "methods": []string{"INVITE"}, "absent": []string{"X-Skip"}},
			"actions": map[string]any{"strip": 4, "prefix": "+44", "add_headers": []string{"X-Added: yes"}, "remove_headers": []string{"Subject"}},
			"to":      []string{sipURI(intl.Port, "udp")}},
		{"match": map[string]any{"source": []string{"192.0.2.0/24"}}, "to": []string{sipURI(loopback.FreePort(t), "udp")}},
		{"match": map[string]any{"headers": map[string]string{"Subject": "^call$"}, "from_user": "^sipp$"}, "to": []string{sipURI(plain.Port, "udp")}},
	}}
	gw := startSipedge(t, cfg)
	tcp := startSIPp(t, sippRun{Name: "uac-tcp", Scenario: "uac_call.xml", Transport: "tcp", Remote: gw.Addr(t, "tcp"), Service: "00441555123"})
	tcp.expectAllSuccessful(t, 1)
	intl.expectAllSuccessful(t, 1)
	udp := startSIPp(t, sippRun{Name: "uac-udp", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"), Service: "00441555123"})
	udp.expectAllSuccessful(t, 1)
	plain.expectAllSuccessful(t, 1)
}
