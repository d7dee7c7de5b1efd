package test

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/rtpengine"
)

// TestForkTwoOK calls bob, who has two registered contacts that both
// answer 200 (RFC 3261 §16.7 step 5: every 2xx goes to the caller). The
// caller gets two 200s with different To tags; sipedge keeps two dialogs,
// each anchored in the real rtpengine. The caller's BYE ends the first,
// the second callee's BYE ends the second: rtpengine keeps the call while
// one dialog lives, and forgets it when both are gone.
func TestForkTwoOK(t *testing.T) {
	rtpe := startRTPEngine(t)
	ng := newNGClient(t, rtpe)
	gw := startSipedge(t, proxyConfig{
		Trusted:    []string{"127.0.0.1/32"},
		Users:      map[string]string{"bob": "bob-secret"},
		Algorithms: []string{"MD5"},
		Routes:     []proxyRoute{{To: []string{"sip:127.0.0.1:9"}}},
		RTPEngine:  map[string]any{"nodes": []string{rtpe.NG}, "timeout": "1s"},
		Media:      map[string]any{"classic_to_classic": "anchor"},
	})
	udp := gw.Addr(t, "udp")
	callees := [2]*udpClient{newUDPClient(t, udp), newUDPClient(t, udp)}
	for _, c := range callees {
		registerDigest(t, c, "bob", "bob-secret", "MD5", "")
	}
	offer := readSDP(t, "plain-offer.sdp")
	answer := readSDP(t, "plain-answer.sdp")
	caller := newUDPClient(t, udp)
	const callID = "fork2ok@test"
	caller.send(t, strings.Join([]string{
		"INVITE sip:bob@example.test SIP/2.0",
		"Via: SIP/2.0/UDP " + caller.local.String() + ";branch=z9hG4bK-f2-inv;rport",
		"Max-Forwards: 70",
		"From: <sip:alice@example.test>;tag=caller",
		"To: <sip:bob@example.test>",
		"Call-ID: " + callID,
		"CSeq: 1 INVITE",
		"Contact: <sip:alice@" + caller.local.String() + ">",
		"Content-Type: application/sdp",
		fmt.Sprintf("Content-Length: %d", len(offer)),
		"", offer}, "\r\n"))
	// Both contacts ring at once; each answers 200 with its own tag.
	var invs [2]*sip.Request
	for i, c := range callees {
		invs[i] = c.recvRequest(t, sip.INVITE, 5*time.Second)
	}
	for i, c := range callees {
		c.send(t, sipResponse(invs[i], 200, "OK", fmt.Sprintf("callee%d", i), "sip:bob@"+c.local.String(), answer))
	}
	oks := map[string]*sip.Response{}
	deadline := time.Now().Add(5 * time.Second)
	for len(oks) < 2 && time.Now().Before(deadline) {
		res := caller.recvResponse(t, time.Until(deadline))
		if res == nil {
			break
		}
		if res.StatusCode == 200 && res.CSeq().MethodName == sip.INVITE {
			tag, _ := res.To().Params.Get("tag")
			oks[tag] = res
		}
	}
	if len(oks) != 2 || oks["callee0"] == nil || oks["callee1"] == nil {
		t.Fatalf("caller got 200s with tags %v, want callee0 and callee1", slices.Collect(mapKeys(oks)))
	}
	// The caller confirms both dialogs.
	for i, tag := range []string{"callee0", "callee1"} {
		caller.send(t, inDialog(caller, oks[tag], "ACK", 1, fmt.Sprintf("z9hG4bK-f2-ack%d", i)))
		callees[i].recvRequest(t, sip.ACK, 5*time.Second)
	}
	if !listed(t, ng, callID) {
		t.Fatal("rtpengine does not hold the call after both 200s")
	}
	// Dialog 1 ends with the caller's BYE.
	caller.send(t, inDialog(caller, oks["callee0"], "BYE", 2, "z9hG4bK-f2-bye0"))
	bye := callees[0].recvRequest(t, sip.BYE, 5*time.Second)
	callees[0].send(t, sipResponse(bye, 200, "OK", "", "", ""))
	if res := caller.recvResponse(t, 5*time.Second); res == nil || res.StatusCode != 200 || res.CSeq().MethodName != sip.BYE {
		t.Fatalf("BYE of dialog 1 answered %v", res)
	}
	time.Sleep(200 * time.Millisecond) // let a wrong delete reach rtpengine, if one were sent
	if !listed(t, ng, callID) {
		t.Fatal("ending dialog 1 removed the media of dialog 2 from rtpengine")
	}
	// Dialog 2 ends with the callee's BYE toward the caller.
	ok1 := oks["callee1"]
	var routes []string
	for _, h := range invs[1].GetHeaders("Record-Route") {
		routes = append(routes, "Route: "+h.Value())
	}
	callees[1].send(t, strings.Join(append(append([]string{
		"BYE sip:alice@" + caller.local.String() + " SIP/2.0",
		"Via: SIP/2.0/UDP " + callees[1].local.String() + ";branch=z9hG4bK-f2-bye1;rport",
		"Max-Forwards: 70"}, routes...),
		"From: "+ok1.To().Value(),
		"To: "+ok1.From().Value(),
		"Call-ID: "+callID,
		"CSeq: 1 BYE",
		"Content-Length: 0", "", ""), "\r\n"))
	bye = caller.recvRequest(t, sip.BYE, 5*time.Second)
	caller.send(t, sipResponse(bye, 200, "OK", "", "", ""))
	if res := callees[1].recvResponse(t, 5*time.Second); res == nil || res.StatusCode != 200 {
		t.Fatalf("BYE of dialog 2 answered %v", res)
	}
	gone := time.Now().Add(3 * time.Second)
	for listed(t, ng, callID) {
		if time.Now().After(gone) {
			t.Fatal("rtpengine still holds the call after both dialogs ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// inDialog is a request from the caller in the dialog that ok confirmed:
// to its Contact, along the reversed Record-Route.
func inDialog(c *udpClient, ok *sip.Response, method string, cseq int, branch string) string {
	rr := ok.GetHeaders("Record-Route")
	lines := []string{
		method + " " + strings.Trim(ok.Contact().Address.String(), "<>") + " SIP/2.0",
		"Via: SIP/2.0/UDP " + c.local.String() + ";branch=" + branch + ";rport",
		"Max-Forwards: 70",
	}
	for i := len(rr) - 1; i >= 0; i-- {
		lines = append(lines, "Route: "+rr[i].Value())
	}
	return strings.Join(append(lines,
		"From: "+ok.From().Value(),
		"To: "+ok.To().Value(),
		"Call-ID: "+ok.CallID().Value(),
		fmt.Sprintf("CSeq: %d %s", cseq, method),
		"Content-Length: 0", "", ""), "\r\n")
}

// listed reports whether rtpengine holds callID.
func listed(t *testing.T, ng *rtpengine.Client, callID string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ids, err := ng.List(ctx, ng.Nodes()[0], 1000)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Contains(ids, callID)
}

func readSDP(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../rtpengine/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n", "\r\n")
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// next reads the next SIP message within wait (nil on timeout).
func (c *udpClient) next(t *testing.T, wait time.Duration) sip.Message {
	t.Helper()
	buf := make([]byte, 65535)
	_ = c.conn.SetReadDeadline(time.Now().Add(wait))
	n, _, err := c.conn.ReadFromUDP(buf)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	m, err := sip.ParseMessage(buf[:n])
	if err != nil {
		return nil
	}
	return m
}

// recvResponse waits for a response other than 100 (nil on timeout).
func (c *udpClient) recvResponse(t *testing.T, wait time.Duration) *sip.Response {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		m := c.next(t, time.Until(deadline))
		if m == nil {
			return nil
		}
		if r, ok := m.(*sip.Response); ok && r.StatusCode != 100 {
			return r
		}
	}
	return nil
}
