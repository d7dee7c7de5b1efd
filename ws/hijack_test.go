package ws

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// frame builds a server-side (unmasked) or client-side (masked) frame with
// an n-byte payload.
func frame(n int, masked bool) []byte {
	var h []byte
	switch {
	case n < 126:
		h = []byte{0x81, byte(n)}
	case n < 1<<16:
		h = []byte{0x81, 126, byte(n >> 8), byte(n)}
	default:
		h = []byte{0x81, 127, 0, 0, 0, 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
	if masked {
		h[1] |= 0x80
		h = append(h, 1, 2, 3, 4)
	}
	p := make([]byte, n)
	_, _ = rand.Read(p)
	return append(h, p...)
}

func TestFrameSize(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want int
		ok   bool
	}{
		{"empty", nil, 0, false},
		{"one byte", []byte{0x81}, 0, false},
		{"7-bit length", frame(5, false), 7, true},
		{"7-bit length, header only", frame(125, false)[:2], 127, true},
		{"16-bit length", frame(300, false), 304, true},
		{"16-bit length, short header", frame(300, false)[:3], 0, false},
		{"64-bit length", frame(70000, false), 70010, true},
		{"64-bit length, short header", frame(70000, false)[:9], 0, false},
		{"masked", frame(5, true), 11, true},
		{"close frame, no payload", []byte{0x88, 0}, 2, true},
		{"absurd 64-bit length is capped", []byte{0x82, 127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 10 + 1<<40, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := frameSize(tt.b)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("frameSize = %d, %v; want %d, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// recordingWriter records every Write it gets.
type recordingWriter struct {
	writes [][]byte
	err    error
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	w.writes = append(w.writes, bytes.Clone(p))
	return len(p), nil
}

// TestFrameGatherOneWritePerMessage feeds frames through the same small
// bufio.Writer coder/websocket gets, split at every possible point, and
// checks that the connection sees each message whole in one Write and that
// no buffer is held afterwards.
func TestFrameGatherOneWritePerMessage(t *testing.T) {
	s := &Server{}
	for _, size := range []int{0, 1, 14, 125, 126, 700, 5000, 70000} {
		msg := frame(size, false)
		splits := []int{0, 1, 2, 3, 9, 10, 11, len(msg) / 2, len(msg) - 1, len(msg)}
		for _, at := range splits {
			if at > len(msg) {
				continue
			}
			t.Run(fmt.Sprintf("size %d split %d", size, at), func(t *testing.T) {
				rw := &recordingWriter{}
				g := &frameGather{conn: rw, srv: s}
				bw := bufio.NewWriterSize(g, hijackWriteBuf)
				for _, part := range [][]byte{msg[:at], msg[at:]} {
					if _, err := bw.Write(part); err != nil {
						t.Fatal(err)
					}
				}
				if err := bw.Flush(); err != nil {
					t.Fatal(err)
				}
				if len(rw.writes) != 1 || !bytes.Equal(rw.writes[0], msg) {
					t.Fatalf("connection got %d writes, want the %d-byte frame in one", len(rw.writes), len(msg))
				}
				if g.buf != nil {
					t.Error("buffer still held after a complete frame")
				}
			})
		}
	}
}

// TestFrameGatherError returns the connection's write error to the caller
// and releases the buffer.
func TestFrameGatherError(t *testing.T) {
	rw := &recordingWriter{err: net.ErrClosed}
	g := &frameGather{conn: rw, srv: &Server{}}
	bw := bufio.NewWriterSize(g, hijackWriteBuf)
	_, _ = bw.Write(frame(300, false))
	if err := bw.Flush(); err == nil {
		t.Fatal("Flush succeeded on a closed connection")
	}
	if g.buf != nil {
		t.Error("buffer still held after a failed write")
	}
}

// TestMessageSizesOverFlow sends requests of several sizes (around the
// small read buffer and net/http's former 4 KiB) over WS and WSS and checks
// that each arrives intact and its answer comes back.
func TestMessageSizesOverFlow(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", secure), func(t *testing.T) {
			ts := startServer(t, Config{}, secure)
			c := ts.dial(t)
			defer c.CloseNow()
			for i, pad := range []int{0, 200, 300, 4000, 9000, 40000} {
				req := sample(t, "jssip-register.sip")
				req = withBranch(req, "z9hG4bK5584185", fmt.Sprintf("z9hG4bKsize%d", i))
				req = bytes.Replace(req, []byte("\r\n\r\n"), []byte("\r\nX-Pad: "+strings.Repeat("a", pad)+"\r\n\r\n"), 1)
				send(t, c, req)
				res := recvResponse(t, c)
				if res.StatusCode != 200 {
					t.Fatalf("pad %d: %d", pad, res.StatusCode)
				}
				got := ts.h.requests()
				if h := got[len(got)-1].GetHeader("X-Pad"); h == nil || len(h.Value()) != pad {
					t.Fatalf("pad %d: request arrived without its X-Pad header intact", pad)
				}
			}
		})
	}
}

// TestFrameRightAfterUpgrade sends a SIP message in the same TCP write as
// the upgrade request: the bytes net/http has already buffered must reach
// the flow (the small-buffer swap keeps net/http's reader then).
func TestFrameRightAfterUpgrade(t *testing.T) {
	ts := startServer(t, Config{}, false)
	addr := strings.TrimPrefix(ts.http.URL, "http://")
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	msg := withBranch(sample(t, "jssip-register.sip"), "z9hG4bK5584185", "z9hG4bKpipelined")
	// A masked client text frame, mask 0 so the payload reads as is.
	f := []byte{0x81, 0x80 | 126, byte(len(msg) >> 8), byte(len(msg)), 0, 0, 0, 0}
	f = append(f, msg...)
	up := fmt.Sprintf("GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n\r\n", addr)
	if _, err := c.Write(append([]byte(up), f...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %d", res.StatusCode)
	}
	// The answer is one unmasked text frame.
	hdr := make([]byte, 2)
	if _, err := br.Read(hdr[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := br.Read(hdr[1:]); err != nil {
		t.Fatal(err)
	}
	n := int(hdr[1] & 0x7f)
	if n == 126 {
		var ext [2]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			t.Fatal(err)
		}
		n = int(ext[0])<<8 | int(ext[1])
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(br, payload); err != nil {
		t.Fatal(err)
	}
	m, err := sip.ParseMessage(payload)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := m.(*sip.Response); !ok || r.StatusCode != 200 {
		t.Fatalf("answer to the pipelined REGISTER: %v", m)
	}
}

// FuzzFrameGather writes arbitrary bytes, split at an arbitrary point,
// through frameGather: it must never panic, and whatever reaches the
// connection is a prefix of the input made of whole frames.
func FuzzFrameGather(f *testing.F) {
	f.Add(frame(5, false), 1)
	f.Add(frame(300, false), 3)
	f.Add(append(frame(70000, false)[:12], 0x88, 0), 7)
	f.Add([]byte{0x82, 127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 2)
	f.Fuzz(func(t *testing.T, b []byte, at int) {
		if at < 0 || at > len(b) {
			at = len(b) / 2
		}
		rw := &recordingWriter{}
		g := &frameGather{conn: rw, srv: &Server{}}
		_, _ = g.Write(b[:at])
		_, _ = g.Write(b[at:])
		var out []byte
		for _, w := range rw.writes {
			out = append(out, w...)
		}
		if !bytes.HasPrefix(b, out) {
			t.Fatalf("connection got bytes that are not a prefix of the input")
		}
		for rest := out; len(rest) > 0; {
			n, ok := frameSize(rest)
			if !ok || n > len(rest) {
				t.Fatalf("connection got a partial frame")
			}
			rest = rest[n:]
		}
	})
}
