package rtpecho_test

import (
	"context"
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/rtpecho"
)

// rfc4733 builds an RTP packet of payload type pt carrying one RFC 4733
// event (code, end bit) at timestamp ts.
func rfc4733(pt uint8, seq uint16, ts uint32, code byte, end bool) []byte {
	pkt := make([]byte, 16)
	pkt[0], pkt[1] = 0x80, pt
	binary.BigEndian.PutUint16(pkt[2:], seq)
	binary.BigEndian.PutUint32(pkt[4:], ts)
	binary.BigEndian.PutUint32(pkt[8:], 0x1234)
	pkt[12] = code
	pkt[13] = 10 // volume
	if end {
		pkt[13] |= 0x80
	}
	binary.BigEndian.PutUint16(pkt[14:], 800)
	return pkt
}

// TestMediaTelephoneEvent negotiates telephone-event, then sends RFC 4733
// events as a relay does (several packets per event, the end packet three
// times): each event is decoded once, and events are not echoed.
func TestMediaTelephoneEvent(t *testing.T) {
	m := newMedia(t, rtpecho.MediaConfig{TelephoneEvent: true})
	offer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 96\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\n"
	answer, err := m.Answer(offer)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"RTP/AVP 0 96\r\n", "a=rtpmap:96 telephone-event/8000\r\n", "a=fmtp:96 0-16\r\n"} {
		if !strings.Contains(answer, want) {
			t.Errorf("answer lacks %q:\n%s", want, answer)
		}
	}
	if o := m.Offer(""); !strings.Contains(o, "RTP/AVP 0 8 101\r\n") || !strings.Contains(o, "a=rtpmap:101 telephone-event/8000\r\n") {
		t.Errorf("offer lacks telephone-event 101:\n%s", o)
	}
	if _, err := m.Answer(offer); err != nil { // back to 96 negotiated
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(m.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seq := uint16(0)
	send := func(p []byte) {
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
		seq++
	}
	for i, code := range []byte{5, 11, 0, 15} {
		ts := uint32(1000 * (i + 1))
		send(rfc4733(96, seq, ts, code, false))
		send(rfc4733(96, seq, ts, code, false))
		for range 3 {
			send(rfc4733(96, seq, ts, code, true))
		}
	}
	send(rfc4733(0, seq, 9000, 7, true)) // PCMU, not an event
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := m.WaitIn(ctx, 21); err != nil {
		t.Fatal(err)
	}
	// The echo of the PCMU packet is counted just after it is counted in.
	s := m.Stats()
	for end := time.Now().Add(time.Second); s.Echoed == 0 && time.Now().Before(end); s = m.Stats() {
		time.Sleep(5 * time.Millisecond)
	}
	if s.DTMF != "5#0D" || s.ByPayloadType[96] != 20 || s.ByPayloadType[0] != 1 || s.Echoed != 1 {
		t.Errorf("DTMF %q, per payload type %v, echoed %d; want \"5#0D\", 20 of 96 and 1 of 0, 1 echoed", s.DTMF, s.ByPayloadType, s.Echoed)
	}
}
