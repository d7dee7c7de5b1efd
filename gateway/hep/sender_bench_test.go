package hep

import (
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/sipedge/sipedge/gateway/wire"
)

// benchInvite is a typical INVITE with an SDP offer (about 900 bytes).
var benchInvite = []byte("INVITE sip:bob@127.0.0.1:5070 SIP/2.0\r\n" + //nolint:gochecknoglobals // test data
	"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK.8a1b2c3d4e5f;rport\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:5080;received=127.0.0.1;rport=5080;branch=z9hG4bK-1234-1-0\r\n" +
	"Record-Route: <sip:127.0.0.1:5060;lr>\r\n" +
	"Max-Forwards: 69\r\nFrom: <sip:alice@example.test>;tag=1234SIPpTag001\r\nTo: <sip:bob@example.test>\r\n" +
	"Call-ID: 1-1234@127.0.0.1\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@127.0.0.1:5080>\r\n" +
	"Content-Type: application/sdp\r\nContent-Length: 137\r\n\r\n" +
	"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n")

// BenchmarkSenderTap: the cost of capture on the I/O path (Tap) and in
// the writer, to a UDP and a TCP sink in this process.
func BenchmarkSenderTap(b *testing.B) {
	for _, transport := range []string{"udp", "tcp"} {
		b.Run(transport, func(b *testing.B) {
			var addr string
			done := make(chan struct{})
			switch transport {
			case "udp":
				pc, err := net.ListenPacket("udp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				addr = pc.LocalAddr().String()
				go func() { // owner: this benchmark; ends when pc closes
					defer close(done)
					buf := make([]byte, 65536)
					for {
						if _, _, err := pc.ReadFrom(buf); err != nil {
							return
						}
					}
				}()
				defer func() { _ = pc.Close(); <-done }()
			case "tcp":
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				addr = ln.Addr().String()
				go func() { // owner: this benchmark; ends when the sender's connection closes
					defer close(done)
					c, err := ln.Accept()
					if err != nil {
						return
					}
					defer c.Close()
					buf := make([]byte, 65536)
					for {
						if _, err := c.Read(buf); err != nil {
							return
						}
					}
				}()
				defer func() { _ = ln.Close(); <-done }()
			}
			s, err := New(Config{Address: addr, Transport: transport, CaptureID: 1, QueueSize: 4096}, nil)
			if err != nil {
				b.Fatal(err)
			}
			m := wire.Tapped{Transport: "udp", Src: netip.MustParseAddrPort("127.0.0.1:5080"),
				Dst: netip.MustParseAddrPort("127.0.0.1:5060"), Data: benchInvite}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			for i := range b.N {
				m.Time = time.Now()
				s.Tap(m)
				if i%512 == 511 {
					time.Sleep(3 * flushDelay) // a steady load, not one burst the queue cannot hold
				}
			}
			b.StopTimer()
			_ = s.Close()
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			sent, dropped := s.Stats()
			b.ReportMetric(float64(sent)/float64(b.N), "sent/op")
			b.ReportMetric(float64(dropped)/float64(b.N), "dropped/op")
		})
	}
}

// processCPU is the process's user+system CPU time so far (the sink's
// reads included).
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
