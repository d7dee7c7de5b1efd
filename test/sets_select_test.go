package test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestSetHashKeepsCallID sends INVITEs for 20 Call-IDs, three times each
// (new transactions, same Call-ID, 300ms apart), to a hash-callid set of two SIPp
// members that answer 503 (failover off for 503, so the answer comes
// back): the To tag names the SIPp process that answered, and every
// Call-ID must stay on one member while both members get Call-IDs.
func TestSetHashKeepsCallID(t *testing.T) {
	m1 := memberUAS(t, "m1", "uas_503_options.xml", 0)
	m2 := memberUAS(t, "m2", "uas_503_options.xml", 0)
	gw := startSipedge(t, setConfig(map[string]any{
		"algorithm": "hash-callid", "failover": []string{"6xx"},
		"members": []string{sipURI(m1.Port, "udp"), sipURI(m2.Port, "udp")},
	}))
	c := newUDPClient(t, gw.Addr(t, "udp"))
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = fmt.Sprintf("hash-%d-%s@test", i, randHex(4))
	}
	member := map[string]string{} // Call-ID -> SIPp pid
	chosen := map[string]int{}
	for round := range 3 {
		if round > 0 {
			// SIPp keeps a finished call 200ms (timewait) and ignores a
			// new INVITE with its Call-ID meanwhile.
			time.Sleep(300 * time.Millisecond)
		}
		for _, id := range ids {
			res := c.invite(t, "15551234", id)
			if res.StatusCode != 500 {
				t.Fatalf("%s round %d: %d, want 500 (the member's 503)", id, round, res.StatusCode)
			}
			tag, _ := res.To().Params.Get("tag")
			pid, _, _ := strings.Cut(tag, "SIPpTag")
			if round == 0 {
				member[id] = pid
				chosen[pid]++
			} else if pid != member[id] {
				t.Fatalf("Call-ID %s: member %s, then %s in round %d", id, member[id], pid, round)
			}
		}
	}
	if len(chosen) != 2 {
		t.Fatalf("20 Call-IDs all hashed to %v, want both members used", chosen)
	}
	t.Logf("Call-IDs per member (SIPp pid): %v", chosen)
	if n := m1.invites(t) + m2.invites(t); n != 60 {
		t.Fatalf("members got %d INVITEs, want 60 (no failover on 503 here)", n)
	}
}

// invite sends one INVITE to user@example.test with callID (a new
// transaction), returns its final response and ACKs it.
func (c *udpClient) invite(t *testing.T, user, callID string) *sip.Response {
	t.Helper()
	c.cseq++
	branch := "z9hG4bK" + randHex(8)
	head := func(method string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%s sip:%s@example.test SIP/2.0\r\n", method, user)
		fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=%s;rport\r\n", c.local, branch)
		fmt.Fprintf(&b, "From: <sip:alice@example.test>;tag=%s\r\n", c.tag)
		return b.String()
	}
	var b strings.Builder
	b.WriteString(head("INVITE"))
	fmt.Fprintf(&b, "To: <sip:%s@example.test>\r\nCall-ID: %s\r\nCSeq: %d INVITE\r\n", user, callID, c.cseq)
	fmt.Fprintf(&b, "Contact: <sip:alice@%s>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", c.local)
	res := c.roundTrip(t, b.String(), c.cseq)
	var ack strings.Builder
	ack.WriteString(head("ACK"))
	fmt.Fprintf(&ack, "To: %s\r\nCall-ID: %s\r\nCSeq: %d ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", res.To().Value(), callID, c.cseq)
	if _, err := c.conn.WriteToUDP([]byte(ack.String()), c.remote); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestSetLeastCallsSpread holds 100 concurrent calls (3s each) through a
// least-calls set of two SIPp members: each must get 50 ±10%.
func TestSetLeastCallsSpread(t *testing.T) {
	m1 := memberUAS(t, "m1", "uas_call_options.xml", 0)
	m2 := memberUAS(t, "m2", "uas_call_options.xml", 0)
	gw := startSipedge(t, setConfig(map[string]any{
		"algorithm": "least-calls",
		"members":   []string{sipURI(m1.Port, "udp"), sipURI(m2.Port, "udp")},
	}))
	const calls = 100
	uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"),
		Service: "15551234", Calls: calls, Rate: 100, Limit: calls, Timeout: 30 * time.Second,
		Args: []string{"-d", "3000"}})
	uac.expectAllSuccessful(t, calls)
	n1, n2 := m1.invites(t), m2.invites(t)
	t.Logf("least-calls: %d and %d of %d concurrent calls", n1, n2, calls)
	if n1+n2 != calls || n1 < 45 || n1 > 55 {
		t.Fatalf("least-calls spread %d / %d, want 50 ±5 each of %d", n1, n2, calls)
	}
}
