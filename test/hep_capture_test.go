package test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// hepPacket is a HEPv3 packet as the test's own decoder reads it, field
// by field against the format (sipcapture HEP3).
type hepPacket struct {
	Family, Proto, ProtoType byte
	Src, Dst                 netip.AddrPort
	Time                     time.Time
	CaptureID                uint32
	AuthKey, Correlation     string
	Payload                  string
}

func decodeHEP(b []byte) (hepPacket, error) {
	var p hepPacket
	if len(b) < 6 || string(b[:4]) != "HEP3" || int(binary.BigEndian.Uint16(b[4:])) != len(b) {
		return p, fmt.Errorf("not a whole HEP3 packet (%d bytes)", len(b))
	}
	var src, dst netip.Addr
	var sport, dport uint16
	var sec, usec uint32
	for rest := b[6:]; len(rest) > 0; {
		if len(rest) < 6 {
			return p, fmt.Errorf("truncated chunk")
		}
		typ, n := binary.BigEndian.Uint16(rest[2:]), int(binary.BigEndian.Uint16(rest[4:]))
		if binary.BigEndian.Uint16(rest) != 0 || n < 6 || n > len(rest) {
			return p, fmt.Errorf("bad chunk %#x", typ)
		}
		v := rest[6:n]
		rest = rest[n:]
		switch typ {
		case 1:
			p.Family = v[0]
		case 2:
			p.Proto = v[0]
		case 3, 5:
			src, _ = netip.AddrFromSlice(v)
		case 4, 6:
			dst, _ = netip.AddrFromSlice(v)
		case 7:
			sport = binary.BigEndian.Uint16(v)
		case 8:
			dport = binary.BigEndian.Uint16(v)
		case 9:
			sec = binary.BigEndian.Uint32(v)
		case 10:
			usec = binary.BigEndian.Uint32(v)
		case 11:
			p.ProtoType = v[0]
		case 12:
			p.CaptureID = binary.BigEndian.Uint32(v)
		case 14:
			p.AuthKey = string(v)
		case 15:
			p.Payload = string(v)
		case 17:
			p.Correlation = string(v)
		}
	}
	p.Src, p.Dst = netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport)
	p.Time = time.Unix(int64(sec), int64(usec)*1000)
	return p, nil
}

// hepCollector receives HEP packets over UDP or TCP.
type hepCollector struct {
	Addr string
	mu   sync.Mutex
	pkts []hepPacket
	errs []error
	wg   sync.WaitGroup
}

func startHEPCollector(t *testing.T, transport string) *hepCollector {
	t.Helper()
	c := &hepCollector{}
	add := func(b []byte) {
		p, err := decodeHEP(b)
		c.mu.Lock()
		defer c.mu.Unlock()
		if err != nil {
			c.errs = append(c.errs, err)
			return
		}
		c.pkts = append(c.pkts, p)
	}
	switch transport {
	case "udp":
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c.Addr = pc.LocalAddr().String()
		c.wg.Add(1)
		go func() { // owner: c; stopped by closing pc in Cleanup
			defer c.wg.Done()
			buf := make([]byte, 65536)
			for {
				n, _, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				add(bytes.Clone(buf[:n]))
			}
		}()
		t.Cleanup(func() { _ = pc.Close(); c.wg.Wait() })
	case "tcp":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c.Addr = ln.Addr().String()
		var conns sync.Map
		c.wg.Add(1)
		go func() { // owner: c; stopped by closing ln and the conns in Cleanup
			defer c.wg.Done()
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				conns.Store(conn, true)
				c.wg.Add(1)
				go func() {
					defer c.wg.Done()
					r := bufio.NewReader(conn)
					for {
						head := make([]byte, 6)
						if _, err := io.ReadFull(r, head); err != nil {
							return
						}
						body := make([]byte, int(binary.BigEndian.Uint16(head[4:]))-6)
						if _, err := io.ReadFull(r, body); err != nil {
							return
						}
						add(append(head, body...))
					}
				}()
			}
		}()
		t.Cleanup(func() {
			_ = ln.Close()
			conns.Range(func(k, _ any) bool { _ = k.(net.Conn).Close(); return true })
			c.wg.Wait()
		})
	}
	return c
}

// packets returns what arrived with correlation id id.
func (c *hepCollector) packets(id string) []hepPacket {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []hepPacket
	for _, p := range c.pkts {
		if p.Correlation == id {
			out = append(out, p)
		}
	}
	return out
}

// firstLine is a SIP message's start line.
func firstLine(msg string) string {
	l, _, _ := strings.Cut(msg, "\r\n")
	return l
}

// TestHEPCapture: a collector written here receives every message of a
// browser (WSS) call to a phone (UDP), in order, with the right
// addresses, ports, timestamps, capture id, auth key and Call-ID.
func TestHEPCapture(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			ctx := withTimeout(t, 60*time.Second)
			col := startHEPCollector(t, transport)
			m := startMediaGW(t, mgwOptions{HEP: map[string]any{"address": col.Addr, "transport": transport, "capture_id": 4242, "auth_key": "hep-key"}})
			b := m.newBrowser(ctx, t, browserOptions{})
			before := time.Now()
			call, echo := m.browserCallsEcho(ctx, t, b)
			if err := call.Bye(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := echo.WaitEnded(ctx); err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			wss, udp := netip.MustParseAddrPort(m.gw.Addr(t, "wss")), netip.MustParseAddrPort(m.gwUDP)
			phone := netip.MustParseAddrPort(m.echo.Addr())
			// Direction, leg and start line of every message of the call:
			// the browser's INVITE challenged (407, ACK), sent again with
			// credentials, 100 from us, INVITE to the phone, its 180 and
			// 200 relayed, the ACK, then the BYE and its 200. Each leg's
			// messages come in this order; a relayed message comes after
			// the one it relays (cause, an index in want; -1: none). The
			// two legs interleave as the goroutines ran.
			type hop struct{ from, to, line string }
			const B, G, GU, P = "browser", "gw-wss", "gw-udp", "phone"
			invite, inDialog := "INVITE sip:600@example.test SIP/2.0", " sip:echo@"+m.echo.Addr()+" SIP/2.0"
			type step struct {
				hop
				cause int
			}
			want := []step{
				{hop{B, G, invite}, -1},
				{hop{G, B, "SIP/2.0 407 Proxy Authentication Required"}, 0},
				{hop{B, G, "ACK sip:600@example.test SIP/2.0"}, 1},
				{hop{B, G, invite}, 2},
				{hop{G, B, "SIP/2.0 100 Trying"}, 3},
				{hop{GU, P, invite}, 3},
				{hop{P, GU, "SIP/2.0 180 Ringing"}, 5},
				{hop{G, B, "SIP/2.0 180 Ringing"}, 6},
				{hop{P, GU, "SIP/2.0 200 OK"}, 5},
				{hop{G, B, "SIP/2.0 200 OK"}, 8},
				{hop{B, G, "ACK" + inDialog}, 9},
				{hop{GU, P, "ACK" + inDialog}, 10},
				{hop{B, G, "BYE" + inDialog}, 10},
				{hop{GU, P, "BYE" + inDialog}, 12},
				{hop{P, GU, "SIP/2.0 200 OK"}, 13},
				{hop{G, B, "SIP/2.0 200 OK"}, 14},
			}
			if !slices.Contains(call.Provisional, 180) {
				// The 180 and the 200 left the phone together and the
				// proxy relayed only the 200: the capture must show
				// what happened.
				want = slices.Delete(want, 7, 8)
				for i := range want {
					if want[i].cause > 7 {
						want[i].cause--
					}
				}
			}
			var got []hop
			deadline := time.Now().Add(3 * time.Second)
			var pkts []hepPacket
			for {
				pkts = col.packets(call.CallID)
				if len(pkts) > 0 && strings.HasPrefix(pkts[len(pkts)-1].Payload, "SIP/2.0 200") &&
					strings.Contains(pkts[len(pkts)-1].Payload, " BYE\r\n") || time.Now().After(deadline) {
					break
				}
				pause(20 * time.Millisecond)
			}
			name := func(a netip.AddrPort) string {
				switch a {
				case wss:
					return G
				case udp:
					return GU
				case phone:
					return P
				}
				if a.Addr() == wss.Addr() {
					return B // the browser's ephemeral port
				}
				return a.String()
			}
			for _, p := range pkts {
				got = append(got, hop{name(p.Src), name(p.Dst), firstLine(p.Payload)})
				if p.CaptureID != 4242 || p.AuthKey != "hep-key" || p.ProtoType != 1 || p.Family != 2 {
					t.Errorf("packet %q: capture id %d, auth key %q, type %d, family %d", firstLine(p.Payload), p.CaptureID, p.AuthKey, p.ProtoType, p.Family)
				}
				wantProto := byte(6)
				if name(p.Src) == P || name(p.Dst) == P {
					wantProto = 17
				}
				if p.Proto != wantProto {
					t.Errorf("packet %q: IP proto %d, want %d", firstLine(p.Payload), p.Proto, wantProto)
				}
				if p.Time.Before(before.Add(-time.Second)) || p.Time.After(after) {
					t.Errorf("packet %q: time %v outside the call [%v, %v]", firstLine(p.Payload), p.Time, before, after)
				}
			}
			for i := 1; i < len(pkts); i++ {
				if pkts[i].Time.Before(pkts[i-1].Time) {
					t.Errorf("packet %d (%q) earlier than the one before", i, firstLine(pkts[i].Payload))
				}
			}
			// Match each leg's messages in order; then check the causes.
			leg := func(h hop) string {
				if h.from == B || h.to == B {
					return B
				}
				return P
			}
			pos := make([]int, len(want))
			ok := len(got) == len(want)
			next := map[string]int{} // next got index to look at, per leg
			for i := range want {
				if !ok {
					break
				}
				l := leg(want[i].hop)
				j := next[l]
				for j < len(got) && leg(got[j]) != l {
					j++
				}
				if j == len(got) || got[j] != want[i].hop {
					ok = false
					break
				}
				pos[i], next[l] = j, j+1
			}
			for i := range want {
				if ok && want[i].cause >= 0 && pos[i] < pos[want[i].cause] {
					ok = false
				}
			}
			if !ok {
				var b strings.Builder
				for i, h := range got {
					fmt.Fprintf(&b, "%2d %-8s -> %-8s %s\n", i, h.from, h.to, h.line)
				}
				t.Errorf("captured %d messages of call %s:\n%swant %d, each leg in order, relays after their cause: %v", len(got), call.CallID, b.String(), len(want), want)
			}
			// The payload is the message as on the wire: the browser's
			// INVITE with its SDP offer, whole.
			if len(pkts) > 3 && (!strings.Contains(pkts[3].Payload, "Proxy-Authorization:") || !strings.Contains(pkts[3].Payload, "a=fingerprint:")) {
				t.Errorf("captured INVITE with credentials lacks its headers or SDP:\n%s", pkts[3].Payload)
			}
		})
	}
}
