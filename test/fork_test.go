package test

import (
	"fmt"
	"testing"

	"github.com/sipedge/sipedge/test/loopback"
)

// TestForkTwoContacts registers two SIPp UAS contacts for bob and calls
// bob: both must ring; the first 200 wins and the other branch must be
// CANCELled (its scenario expects CANCEL, answers 487 and takes the ACK).
func TestForkTwoContacts(t *testing.T) {
	gw := startSipedge(t, proxyConfig{
		Trusted:    []string{"127.0.0.1/32"},
		Users:      map[string]string{"bob": "bob-secret"},
		Algorithms: []string{"MD5"},
		Routes:     []proxyRoute{{To: []string{"sip:127.0.0.1:9"}}},
	})
	// Each contact registers itself: SIPp REGISTERs (MD5) from the port the
	// UAS then listens on, so source address and Contact agree.
	var ports [2]int
	for i := range ports {
		ports[i] = loopback.FreePort(t)
		reg := startSIPp(t, sippRun{Name: fmt.Sprintf("register%d", i), Scenario: "uac_register.xml", Port: ports[i],
			Remote: gw.Addr(t, "udp"), Service: "bob", Args: []string{"-au", "bob", "-ap", "bob-secret"}})
		reg.expectAllSuccessful(t, 1)
	}
	winner := startSIPp(t, sippRun{Name: "winner", Scenario: "uas_call.xml", Port: ports[0]})
	loser := startSIPp(t, sippRun{Name: "loser", Scenario: "uas_ring_cancel.xml", Port: ports[1]})
	// The Request-URI is sip:bob@example.test, the address of record.
	uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call_aor.xml", Remote: gw.Addr(t, "udp"), Service: "bob"})
	uac.expectAllSuccessful(t, 1)
	winner.expectAllSuccessful(t, 1)
	loser.expectAllSuccessful(t, 1)
}
