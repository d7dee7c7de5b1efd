package test

import (
	"fmt"
	"testing"
)

// TestForkTwoContacts registers two SIPp UAS contacts for bob and calls
// bob: both must ring; the first 200 wins and the other branch must be
// CANCELled (its scenario expects CANCEL, answers 487 and takes the ACK).
func TestForkTwoContacts(t *testing.T) {
	winner := startSIPp(t, sippRun{Name: "winner", Scenario: "uas_call.xml"})
	loser := startSIPp(t, sippRun{Name: "loser", Scenario: "uas_ring_cancel.xml"})
	gw := startSipedge(t, proxyConfig{
		Trusted: []string{"127.0.0.1/32"},
		Users:   map[string]string{"bob": "bob-secret"},
		Routes:  []proxyRoute{{To: []string{"sip:127.0.0.1:9"}}},
	})
	c := newUDPClient(t, gw.Addr(t, "udp"))
	for _, p := range []*sippProc{winner, loser} {
		registerDigest(t, c, "bob", "bob-secret", "MD5", fmt.Sprintf("sip:bob@127.0.0.1:%d", p.Port))
	}
	// The Request-URI is bob@example.test (-s bob with a fixed domain key).
	uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call_aor.xml", Remote: gw.Addr(t, "udp"), Service: "bob"})
	uac.expectAllSuccessful(t, 1)
	winner.expectAllSuccessful(t, 1)
	loser.expectAllSuccessful(t, 1)
}
