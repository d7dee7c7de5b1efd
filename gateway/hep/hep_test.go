package hep

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/sipedge/sipedge/gateway/wire"
)

// decoded is a HEPv3 packet read field by field against the format
// (sipcapture HEP3: "HEP3", u16 total length, then vendor u16, type u16,
// length u16 including the 6-byte header, value), independent of Append.
type decoded struct {
	family, proto, protoType byte
	src, dst                 netip.Addr
	srcPort, dstPort         uint16
	sec, usec, captureID     uint32
	authKey, correlation     string
	payload                  []byte
	types                    []uint16 // chunk types in order
}

func decode(b []byte) (decoded, error) {
	var d decoded
	if len(b) < 6 || string(b[:4]) != "HEP3" {
		return d, fmt.Errorf("no HEP3 magic")
	}
	if total := int(b[4])<<8 | int(b[5]); total != len(b) {
		return d, fmt.Errorf("total length %d, packet %d", total, len(b))
	}
	rest := b[6:]
	for len(rest) > 0 {
		if len(rest) < 6 {
			return d, fmt.Errorf("truncated chunk header")
		}
		vendor := uint16(rest[0])<<8 | uint16(rest[1])
		typ := uint16(rest[2])<<8 | uint16(rest[3])
		n := int(rest[4])<<8 | int(rest[5])
		if vendor != 0 || n < 6 || n > len(rest) {
			return d, fmt.Errorf("chunk %#x: vendor %#x length %d of %d", typ, vendor, n, len(rest))
		}
		v := rest[6:n]
		rest = rest[n:]
		d.types = append(d.types, typ)
		u32 := func() uint32 {
			if len(v) != 4 {
				return 0xdeadbeef
			}
			return uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
		}
		switch typ {
		case 0x0001:
			d.family = v[0]
		case 0x0002:
			d.proto = v[0]
		case 0x0003:
			d.src, _ = netip.AddrFromSlice(v)
		case 0x0004:
			d.dst, _ = netip.AddrFromSlice(v)
		case 0x0005:
			d.src, _ = netip.AddrFromSlice(v)
		case 0x0006:
			d.dst, _ = netip.AddrFromSlice(v)
		case 0x0007:
			d.srcPort = uint16(v[0])<<8 | uint16(v[1])
		case 0x0008:
			d.dstPort = uint16(v[0])<<8 | uint16(v[1])
		case 0x0009:
			d.sec = u32()
		case 0x000a:
			d.usec = u32()
		case 0x000b:
			d.protoType = v[0]
		case 0x000c:
			d.captureID = u32()
		case 0x000e:
			d.authKey = string(v)
		case 0x000f:
			d.payload = v
		case 0x0011:
			d.correlation = string(v)
		default:
			return d, fmt.Errorf("unexpected chunk type %#x", typ)
		}
	}
	return d, nil
}

func TestAppend(t *testing.T) {
	at := time.Date(2026, 12, 3, 12, 0, 0, 123456789, time.UTC)
	msg := []byte("INVITE sip:a@b SIP/2.0\r\nCall-ID: abc@h\r\n\r\n")
	tests := []struct {
		name               string
		p                  Packet
		family, proto      byte
		withAuth, withCorr bool
	}{
		{"ipv4 udp", Packet{Src: netip.MustParseAddrPort("10.0.0.1:5060"), Dst: netip.MustParseAddrPort("192.0.2.7:5080"),
			Time: at, CaptureID: 2001, Correlation: []byte("abc@h"), Payload: msg}, 0x02, 0x11, false, true},
		{"ipv6 tcp auth", Packet{Src: netip.MustParseAddrPort("[2001:db8::1]:443"), Dst: netip.MustParseAddrPort("[::1]:40000"),
			TCP: true, Time: at, CaptureID: 7, AuthKey: "s3cret", Correlation: []byte("abc@h"), Payload: msg}, 0x0a, 0x06, true, true},
		{"mapped v4, no correlation", Packet{Src: netip.MustParseAddrPort("[::ffff:127.0.0.1]:1"), Dst: netip.MustParseAddrPort("127.0.0.2:2"),
			Time: at, CaptureID: 1, Payload: msg}, 0x02, 0x11, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Append([]byte("keep"), tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if string(b[:4]) != "keep" {
				t.Fatalf("prefix overwritten")
			}
			d, err := decode(b[4:])
			if err != nil {
				t.Fatal(err)
			}
			if d.family != tc.family || d.proto != tc.proto || d.protoType != 1 {
				t.Errorf("family %#x proto %#x type %d", d.family, d.proto, d.protoType)
			}
			if d.src != tc.p.Src.Addr().Unmap() || d.dst != tc.p.Dst.Addr().Unmap() || d.srcPort != tc.p.Src.Port() || d.dstPort != tc.p.Dst.Port() {
				t.Errorf("addresses %v:%d -> %v:%d", d.src, d.srcPort, d.dst, d.dstPort)
			}
			if d.sec != uint32(at.Unix()) || d.usec != 123456 {
				t.Errorf("time %d.%06d", d.sec, d.usec)
			}
			if d.captureID != tc.p.CaptureID || d.authKey != tc.p.AuthKey || d.correlation != string(tc.p.Correlation) || !bytes.Equal(d.payload, msg) {
				t.Errorf("capture id %d, auth %q, correlation %q, payload %q", d.captureID, d.authKey, d.correlation, d.payload)
			}
			has := func(typ uint16) bool {
				for _, x := range d.types {
					if x == typ {
						return true
					}
				}
				return false
			}
			if has(0x000e) != tc.withAuth || has(0x0011) != tc.withCorr {
				t.Errorf("chunks %#x", d.types)
			}
		})
	}
}

func TestAppendErrors(t *testing.T) {
	v4, v6 := netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("[2001:db8::1]:2")
	if _, err := Append(nil, Packet{Src: v4, Dst: v6}); err != ErrFamily {
		t.Errorf("mixed families: %v", err)
	}
	if _, err := Append(nil, Packet{Src: v4}); err != ErrFamily {
		t.Errorf("no destination: %v", err)
	}
	if b, err := Append([]byte("x"), Packet{Src: v4, Dst: v4, Payload: make([]byte, 70000)}); err != ErrTooLarge || string(b) != "x" {
		t.Errorf("too large: %v, %d bytes", err, len(b))
	}
}

func TestCallID(t *testing.T) {
	tests := []struct{ msg, want string }{
		{"INVITE sip:a@b SIP/2.0\r\nVia: x\r\nCall-ID: abc@host\r\n\r\nbody Call-ID: no", "abc@host"},
		{"SIP/2.0 200 OK\r\ni:  compact \r\n\r\n", "compact"},
		{"BYE sip:a SIP/2.0\r\ncall-id:lower\r\n", "lower"},
		{"BYE sip:a SIP/2.0\nCall-ID : lf-only\n\n", "lf-only"},
		{"OPTIONS sip:a SIP/2.0\r\nTo: x\r\n\r\nCall-ID: in-body", ""},
		{"OPTIONS sip:a SIP/2.0\nTo: x\n\nCall-ID: in-body-lf", ""},
		{"INFO sip:a SIP/2.0\r\nContact: <sip:c>\r\nI : upper\r\n\r\n", "upper"},
		{"INVITE sip:a SIP/2.0\r\nCall-Info: <x>\r\nCall-ID:last", "last"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := string(CallID([]byte(tc.msg))); got != tc.want {
			t.Errorf("CallID(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
}

// TestSender sends tapped messages over UDP and TCP to collectors here
// and decodes what they receive.
func TestSender(t *testing.T) {
	msg := []byte("MESSAGE sip:a@b SIP/2.0\r\nCall-ID: c1\r\n\r\n")
	tap := wire.Tapped{Time: time.Now(), Transport: "wss", Src: netip.MustParseAddrPort("127.0.0.1:1000"),
		Dst: netip.MustParseAddrPort("127.0.0.1:2000"), Data: msg}
	check := func(t *testing.T, b []byte) {
		d, err := decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if d.correlation != "c1" || d.captureID != 99 || d.authKey != "k" || d.proto != 0x06 || !bytes.Equal(d.payload, msg) {
			t.Errorf("got %+v", d)
		}
	}
	t.Run("udp", func(t *testing.T) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		s, err := New(Config{Address: pc.LocalAddr().String(), Transport: "udp", CaptureID: 99, AuthKey: "k", QueueSize: 8}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		s.Tap(tap)
		s.Tap(wire.Tapped{Data: []byte("\r\n\r\n")}) // keepalive: not sent
		buf := make([]byte, 65536)
		_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		check(t, buf[:n])
	})
	t.Run("tcp", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		s, err := New(Config{Address: ln.Addr().String(), Transport: "tcp", CaptureID: 99, AuthKey: "k", QueueSize: 8}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		s.Tap(tap)
		s.Tap(tap)
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for range 2 {
			head := make([]byte, 6)
			if _, err := io.ReadFull(c, head); err != nil {
				t.Fatal(err)
			}
			rest := make([]byte, int(binary.BigEndian.Uint16(head[4:]))-6)
			if _, err := io.ReadFull(c, rest); err != nil {
				t.Fatal(err)
			}
			check(t, append(head, rest...))
		}
		_ = s.Close() // the writer counts after its write returns
		if sent, dropped := s.Stats(); sent != 2 || dropped != 0 {
			t.Errorf("stats: sent %d dropped %d", sent, dropped)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"off", Config{}, ""},
		{"udp", Config{Address: "127.0.0.1:9060"}, ""},
		{"tcp", Config{Address: "homer:9061", Transport: "tcp", AuthKey: "x"}, ""},
		{"bad transport", Config{Address: "h:9060", Transport: "tls"}, "transport (tls): must be udp or tcp"},
		{"no port", Config{Address: "h"}, "address (h): want HOST:PORT"},
		{"zero port", Config{Address: "h:0"}, `port "0" must be 1-65535`},
		{"key without address", Config{AuthKey: "k"}, "address: is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.SetDefaults()
			err := tc.cfg.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !bytes.Contains([]byte(err.Error()), []byte(tc.want))) {
				t.Fatalf("Validate: %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzAppend(f *testing.F) {
	f.Add([]byte("INVITE sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n"), []byte{127, 0, 0, 1}, uint16(5060), "key", true)
	f.Add([]byte{}, []byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, uint16(0), "", false)
	f.Fuzz(func(t *testing.T, payload, ip []byte, port uint16, key string, tcp bool) {
		a, ok := netip.AddrFromSlice(ip)
		if !ok {
			return
		}
		p := Packet{Src: netip.AddrPortFrom(a, port), Dst: netip.AddrPortFrom(a, ^port), TCP: tcp, Time: time.Unix(int64(port)*1000, 0),
			CaptureID: uint32(port), AuthKey: key, Correlation: CallID(payload), Payload: payload}
		b, err := Append(nil, p)
		if err != nil {
			return
		}
		d, err := decode(b)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !bytes.Equal(d.payload, payload) || d.srcPort != port || d.dstPort != ^port || d.src != a.Unmap() {
			t.Fatalf("round trip: %+v", d)
		}
		if len(key) <= 0xff00 && d.authKey != key {
			t.Fatalf("auth key %q, want %q", d.authKey, key)
		}
	})
}

// BenchmarkCallID: a typical INVITE with an SDP body, the Call-ID ninth
// of its headers.
func BenchmarkCallID(b *testing.B) {
	msg := []byte("INVITE sip:15551234@127.0.0.1:5060 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-1-0\r\n" +
		"From: sipp <sip:sipp@127.0.0.1:5080>;tag=1\r\n" +
		"To: <sip:15551234@127.0.0.1:5060>\r\n" +
		"Record-Route: <sip:127.0.0.1:5060;lr>\r\n" +
		"Contact: sip:sipp@127.0.0.1:5080\r\n" +
		"Max-Forwards: 70\r\n" +
		"Subject: Performance Test\r\n" +
		"Call-ID: 1-12345@127.0.0.1\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"Content-Type: application/sdp\r\n" +
		"Content-Length: 129\r\n\r\n" +
		"v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
	b.ReportAllocs()
	for b.Loop() {
		if CallID(msg) == nil {
			b.Fatal("no Call-ID")
		}
	}
}

func FuzzCallID(f *testing.F) {
	f.Add([]byte("INVITE sip:a@b SIP/2.0\r\nCall-ID: abc\r\n\r\n"))
	f.Add([]byte("i:x\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		id := CallID(msg)
		if id != nil && !bytes.Contains(msg, id) {
			t.Fatalf("CallID %q is not in the message", id)
		}
	})
}

// TestSenderQueueFull: with the collector down, Tap never blocks: what
// does not fit in the queue is dropped and counted.
func TestSenderQueueFull(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens: every dial fails
	s, err := New(Config{Address: addr, Transport: "tcp", CaptureID: 1, QueueSize: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := wire.Tapped{Time: time.Now(), Transport: "udp", Src: netip.MustParseAddrPort("127.0.0.1:1"),
		Dst: netip.MustParseAddrPort("127.0.0.1:2"), Data: []byte("OPTIONS sip:a SIP/2.0\r\nCall-ID: q\r\n\r\n")}
	start := time.Now()
	for range 10 {
		s.Tap(m)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("10 taps took %v", d)
	}
	if sent, dropped := s.Stats(); sent != 0 || dropped != 6 {
		t.Errorf("stats: sent %d dropped %d, want 0 and 6", sent, dropped)
	}
}
