package nat

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/pion/stun/v2"
)

// startSTUN runs a responder on a loopback UDP socket until the test ends.
func startSTUN(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewSTUNServer(nil).Serve(ctx, pc) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		pc.Close()
	})
	return pc.LocalAddr().String()
}

func TestSTUNBinding(t *testing.T) {
	addr := startSTUN(t)
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	// Garbage first: the responder must ignore it and stay up.
	for _, junk := range [][]byte{nil, {0}, []byte("\r\n\r\n"), make([]byte, 20), []byte("OPTIONS sip:x SIP/2.0\r\n\r\n")} {
		if _, err := conn.Write(junk); err != nil {
			t.Fatal(err)
		}
	}
	c, err := stun.NewClient(conn, stun.WithRTO(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, withFP := range []bool{false, true} {
		setters := []stun.Setter{stun.TransactionID, stun.BindingRequest}
		if withFP {
			setters = append(setters, stun.Fingerprint)
		}
		type result struct {
			addr stun.XORMappedAddress
			sw   string
			err  error
		}
		results := make(chan result, 1)
		err = c.Start(stun.MustBuild(setters...), func(e stun.Event) {
			var r result
			switch {
			case e.Error != nil:
				r.err = e.Error
			case e.Message.Type != stun.BindingSuccess:
				r.err = errors.New("not a binding success: " + e.Message.Type.String())
			default:
				var sw stun.Software
				r.err = errors.Join(r.addr.GetFrom(e.Message), sw.GetFrom(e.Message), stun.Fingerprint.Check(e.Message))
				// Attributes alias the client's read buffer: copy them.
				r.addr.IP = append(net.IP(nil), r.addr.IP...)
				r.sw = sw.String()
			}
			results <- r
		})
		if err != nil {
			t.Fatal(err)
		}
		var r result
		select {
		case r = <-results:
		case <-time.After(5 * time.Second):
			t.Fatal("no STUN answer")
		}
		if r.err != nil {
			t.Fatalf("binding: %v", r.err)
		}
		got, sw := r.addr, r.sw
		local := conn.LocalAddr().(*net.UDPAddr)
		if !got.IP.Equal(local.IP) || got.Port != local.Port {
			t.Fatalf("XOR-MAPPED-ADDRESS %s, want %s", got, local)
		}
		if sw != Software {
			t.Fatalf("SOFTWARE %q", sw)
		}
	}
}

func TestSTUNAnswerIgnores(t *testing.T) {
	s := NewSTUNServer(nil)
	from := &net.UDPAddr{IP: net.IPv4(203, 0, 113, 5), Port: 40000}
	badFP := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	badFP.Raw[len(badFP.Raw)-1] ^= 0xff
	for _, tc := range []struct {
		name string
		pkt  []byte
	}{
		{"empty", nil},
		{"crlf", []byte("\r\n\r\n")},
		{"truncated", stun.MustBuild(stun.TransactionID, stun.BindingRequest).Raw[:10]},
		{"indication", stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodBinding, stun.ClassIndication)).Raw},
		{"success response", stun.MustBuild(stun.TransactionID, stun.BindingSuccess).Raw},
		{"allocate request", stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest)).Raw},
		{"bad fingerprint", badFP.Raw},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if res, ok := s.Answer(tc.pkt, from); ok || res != nil {
				t.Fatalf("answered %x", res)
			}
		})
	}
	// IPv6 source.
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest)
	res, ok := s.Answer(req.Raw, &net.UDPAddr{IP: net.ParseIP("2001:db8::1"), Port: 3478})
	if !ok {
		t.Fatal("IPv6 request not answered")
	}
	m := &stun.Message{Raw: res}
	var xa stun.XORMappedAddress
	if err := m.Decode(); err != nil || xa.GetFrom(m) != nil || xa.String() != "[2001:db8::1]:3478" || m.TransactionID != req.TransactionID {
		t.Fatalf("IPv6 answer %s", xa)
	}
}

func FuzzSTUNAnswer(f *testing.F) {
	f.Add(stun.MustBuild(stun.TransactionID, stun.BindingRequest).Raw)
	f.Add(stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.NewUsername("a:b"), stun.Fingerprint).Raw)
	f.Add([]byte("\r\n\r\n"))
	s := NewSTUNServer(nil)
	from := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		res, ok := s.Answer(pkt, from)
		if ok {
			m := &stun.Message{Raw: res}
			if err := m.Decode(); err != nil || m.Type != stun.BindingSuccess {
				t.Fatalf("answer does not decode: %v", err)
			}
		}
	})
}

func BenchmarkSTUNAnswer(b *testing.B) {
	s := NewSTUNServer(nil)
	from := &net.UDPAddr{IP: net.IPv4(203, 0, 113, 5), Port: 40000}
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint).Raw
	b.ReportAllocs()
	for b.Loop() {
		s.Answer(req, from)
	}
}
