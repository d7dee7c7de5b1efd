package test

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// edgeCaller is a plain SIP UDP client bound to a chosen loopback address
// (a second source beside a scanner or a flooder): it registers and places
// whole calls (INVITE with digest, ACK, BYE) through sipedge, returning
// errors instead of failing the test so it can be used from goroutines and
// measured.
type edgeCaller struct {
	conn   *net.UDPConn
	proxy  *net.UDPAddr
	local  *net.UDPAddr
	user   string
	pass   string
	domain string
}

func newEdgeCaller(localIP, proxy, user, pass string) (*edgeCaller, error) {
	raddr, err := net.ResolveUDPAddr("udp", proxy)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(localIP)})
	if err != nil {
		return nil, err
	}
	return &edgeCaller{conn: conn, proxy: raddr, local: conn.LocalAddr().(*net.UDPAddr), user: user, pass: pass, domain: "example.test"}, nil
}

func (c *edgeCaller) Close() { _ = c.conn.Close() }

// errNoAnswer is a request that got no final response in time.
var errNoAnswer = errors.New("no final response")

// send writes msg to sipedge and, unless cseq is 0, waits up to wait for
// the final response with that CSeq number and method, retransmitting
// like Timer A.
func (c *edgeCaller) send(msg string, cseq int, method string, wait time.Duration) (*sip.Response, error) {
	callID := ""
	if _, rest, ok := strings.Cut(msg, "\r\nCall-ID: "); ok {
		callID, _, _ = strings.Cut(rest, "\r\n")
	}
	deadline := time.Now().Add(wait)
	buf := make([]byte, 65535)
	retrans := 500 * time.Millisecond
	for time.Now().Before(deadline) {
		if _, err := c.conn.WriteToUDP([]byte(msg), c.proxy); err != nil {
			return nil, err
		}
		if cseq == 0 {
			return nil, nil
		}
		until := time.Now().Add(retrans)
		if until.After(deadline) {
			until = deadline
		}
		for {
			_ = c.conn.SetReadDeadline(until)
			n, _, err := c.conn.ReadFromUDP(buf)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				break
			}
			if err != nil {
				return nil, err
			}
			m, err := sip.ParseMessage(buf[:n])
			if err != nil {
				continue
			}
			res, ok := m.(*sip.Response)
			if !ok || res.StatusCode < 200 || res.CSeq() == nil || int(res.CSeq().SeqNo) != cseq || string(res.CSeq().MethodName) != method ||
				res.CallID() == nil || res.CallID().Value() != callID {
				continue
			}
			return res, nil
		}
		retrans = min(2*retrans, 4*time.Second)
	}
	return nil, fmt.Errorf("%s cseq %d: %w", method, cseq, errNoAnswer)
}

// request renders a request from c's user.
func (c *edgeCaller) request(method, ruri, to, callID, fromTag string, cseq int, extra []string, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, ruri)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\n", c.local, randHex(8))
	fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=%s\r\n", c.user, c.domain, fromTag)
	fmt.Fprintf(&b, "To: %s\r\n", to)
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d %s\r\n", callID, cseq, method)
	fmt.Fprintf(&b, "Contact: <sip:%s@%s>\r\nMax-Forwards: 70\r\nUser-Agent: edge-test-phone\r\n", c.user, c.local)
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	if body != "" {
		fmt.Fprintf(&b, "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	} else {
		b.WriteString("Content-Length: 0\r\n\r\n")
	}
	return b.String()
}

// Register registers c's user (challenge, then digest) and wants 200.
func (c *edgeCaller) Register() error {
	callID, tag := randHex(8), randHex(4)
	uri := "sip:" + c.domain
	to := fmt.Sprintf("<sip:%s@%s>", c.user, c.domain)
	res, err := c.send(c.request("REGISTER", uri, to, callID, tag, 1, []string{"Expires: 300"}, ""), 1, "REGISTER", 5*time.Second)
	if err != nil {
		return err
	}
	if res.StatusCode != 401 {
		return fmt.Errorf("REGISTER: %d, want 401", res.StatusCode)
	}
	cred, err := c.answer(res, "WWW-Authenticate", "REGISTER", uri)
	if err != nil {
		return err
	}
	res, err = c.send(c.request("REGISTER", uri, to, callID, tag, 2, []string{"Expires: 300", "Authorization: " + cred}, ""), 2, "REGISTER", 5*time.Second)
	if err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("REGISTER with credentials: %d %s", res.StatusCode, res.Reason)
	}
	return nil
}

// answer computes the digest answer to the challenge in res's header.
func (c *edgeCaller) answer(res *sip.Response, header, method, uri string) (string, error) {
	h := res.GetHeader(header)
	if h == nil {
		return "", fmt.Errorf("%d has no %s", res.StatusCode, header)
	}
	ch, err := digest.ParseChallenge(h.Value())
	if err != nil {
		return "", err
	}
	cred, err := digest.Digest(ch, digest.Options{Method: method, URI: uri, Username: c.user, Password: c.pass, Count: 1})
	if err != nil {
		return "", err
	}
	return cred.String(), nil
}

// Call places one call to number: INVITE, 407, INVITE with credentials,
// 200, ACK and BYE along the Record-Route set; it wants 200 to the BYE.
func (c *edgeCaller) Call(number string, wait time.Duration) error {
	callID, tag := randHex(8), randHex(4)
	ruri := fmt.Sprintf("sip:%s@%s", number, c.domain)
	to := "<" + ruri + ">"
	sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", c.local.IP, c.local.IP)
	invite := c.request("INVITE", ruri, to, callID, tag, 1, nil, sdp)
	res, err := c.send(invite, 1, "INVITE", wait)
	if err != nil {
		return err
	}
	if res.StatusCode != 407 {
		return fmt.Errorf("INVITE: %d %s, want 407", res.StatusCode, res.Reason)
	}
	// The ACK of a non-2xx final response has the INVITE's Via (branch)
	// and the response's To tag.
	_, via, _ := strings.Cut(invite, "\r\nVia: ")
	via, _, _ = strings.Cut(via, "\r\n")
	ack := c.request("ACK", ruri, res.To().Value(), callID, tag, 1, nil, "")
	ack = strings.Replace(ack, ack[strings.Index(ack, "Via: "):strings.Index(ack, ";rport\r\n")+len(";rport")], "Via: "+via, 1)
	if _, err := c.send(ack, 0, "ACK", wait); err != nil {
		return err
	}
	cred, err := c.answer(res, "Proxy-Authenticate", "INVITE", ruri)
	if err != nil {
		return err
	}
	res, err = c.send(c.request("INVITE", ruri, to, callID, tag, 2, []string{"Proxy-Authorization: " + cred}, sdp), 2, "INVITE", wait)
	if err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("INVITE with credentials: %d %s", res.StatusCode, res.Reason)
	}
	toHdr := res.To()
	contact := res.Contact()
	if toHdr == nil || contact == nil {
		return errors.New("200 without To or Contact")
	}
	var routes []string
	rrs := res.GetHeaders("Record-Route")
	for i := len(rrs) - 1; i >= 0; i-- {
		routes = append(routes, "Route: "+rrs[i].Value())
	}
	target := contact.Address.String()
	toVal := toHdr.Value()
	if _, err := c.send(c.request("ACK", target, toVal, callID, tag, 2, routes, ""), 0, "ACK", wait); err != nil {
		return err
	}
	res, err = c.send(c.request("BYE", target, toVal, callID, tag, 3, routes, ""), 3, "BYE", wait)
	if err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("BYE: %d %s", res.StatusCode, res.Reason)
	}
	return nil
}
