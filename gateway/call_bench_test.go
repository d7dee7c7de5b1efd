package gateway

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipedge/sipedge/gateway/route"
)

// The call-path benchmarks drive a gateway on loopback UDP with raw peers
// that build and read SIP with byte operations only (no sipgo parser), so
// that what -benchmem and -cpuprofile see is mostly the gateway's own cost:
//
//	go test -run '^$' -bench 'ProxyCall|ActiveDialogs' -benchmem ./gateway/
//
// A call is the bench scenario of test/bench/run.sh: INVITE (with SDP),
// 100, 180, 200 (with SDP, Record-Route echoed), ACK and BYE along the
// Route set, 200.

// benchUAS answers every INVITE with 100/180/200 and every BYE with 200,
// echoing Via, Record-Route, From, To, Call-ID and CSeq, until closed.
type benchUAS struct {
	conn *net.UDPConn
	done chan struct{}
}

func newBenchUAS(b testing.TB) *benchUAS {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	_ = c.SetReadBuffer(4 << 20)
	u := &benchUAS{conn: c, done: make(chan struct{})}
	go u.serve()
	b.Cleanup(func() {
		_ = c.Close()
		<-u.done
	})
	return u
}

func (u *benchUAS) addr() string { return u.conn.LocalAddr().String() }

// header returns the value of the first header line named name ("Via: ")
// in msg.
func header(msg []byte, name string) []byte {
	i := bytes.Index(msg, []byte("\r\n"+name))
	if i < 0 {
		return nil
	}
	v := msg[i+2+len(name):]
	if j := bytes.Index(v, []byte("\r\n")); j >= 0 {
		v = v[:j]
	}
	return v
}

// lines appends every header line of msg that starts with name.
func lines(out, msg []byte, name string) []byte {
	for {
		i := bytes.Index(msg, []byte("\r\n"+name))
		if i < 0 {
			return out
		}
		l := msg[i+2:]
		j := bytes.Index(l, []byte("\r\n"))
		if j < 0 {
			return out
		}
		out = append(out, l[:j+2]...)
		msg = l[j:]
	}
}

const benchSDP = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

func (u *benchUAS) serve() {
	defer close(u.done)
	buf := make([]byte, 65535)
	var out []byte
	contact := "Contact: <sip:uas@" + u.addr() + ">\r\n"
	for {
		n, from, err := u.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		m := buf[:n]
		respond := func(code string, withRR, tag bool, body string) {
			out = append(out[:0], "SIP/2.0 "...)
			out = append(out, code...)
			out = append(out, "\r\n"...)
			out = lines(out, m, "Via: ")
			if withRR {
				out = lines(out, m, "Record-Route: ")
			}
			out = lines(out, m, "From: ")
			out = append(out, "To: "...)
			out = append(out, header(m, "To: ")...)
			if tag {
				out = append(out, ";tag=uas"...)
			}
			out = append(out, "\r\n"...)
			out = lines(out, m, "Call-ID: ")
			out = lines(out, m, "CSeq: ")
			out = append(out, contact...)
			if body != "" {
				out = append(out, "Content-Type: application/sdp\r\n"...)
			}
			out = append(out, "Content-Length: "...)
			out = strconv.AppendInt(out, int64(len(body)), 10)
			out = append(out, "\r\n\r\n"...)
			out = append(out, body...)
			_, _ = u.conn.WriteToUDP(out, from)
		}
		switch {
		case bytes.HasPrefix(m, []byte("INVITE ")):
			respond("100 Trying", false, false, "")
			respond("180 Ringing", true, true, "")
			respond("200 OK", true, true, benchSDP)
		case bytes.HasPrefix(m, []byte("BYE ")):
			respond("200 OK", false, false, "")
		}
	}
}

// benchUAC places calls through the gateway from its own socket.
type benchUAC struct {
	conn   *net.UDPConn
	gw     *net.UDPAddr
	buf    []byte
	out    []byte
	route  []byte
	ruri   []byte
	prefix string
	n      int
}

func newBenchUAC(b testing.TB, gw string, id int) *benchUAC {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	ga, err := net.ResolveUDPAddr("udp", gw)
	if err != nil {
		b.Fatal(err)
	}
	return &benchUAC{conn: c, gw: ga, buf: make([]byte, 65535), prefix: fmt.Sprintf("bench-%d-%d-", id, time.Now().UnixNano())}
}

// request writes one request of the current call (u.n) into u.out.
func (u *benchUAC) request(method, ruri string, cseq int, branch string, toTag bool, body string) []byte {
	src := u.conn.LocalAddr().String()
	o := append(u.out[:0], method...)
	o = append(o, ' ')
	o = append(o, ruri...)
	o = append(o, " SIP/2.0\r\nVia: SIP/2.0/UDP "...)
	o = append(o, src...)
	o = append(o, ";branch=z9hG4bK-"...)
	o = append(o, u.prefix...)
	o = strconv.AppendInt(o, int64(u.n), 10)
	o = append(o, branch...)
	o = append(o, ";rport\r\n"...)
	if method != "INVITE" {
		o = append(o, "Route: "...)
		o = append(o, u.route...)
		o = append(o, "\r\n"...)
	}
	o = append(o, "From: sipp <sip:sipp@"...)
	o = append(o, src...)
	o = append(o, ">;tag=c"...)
	o = strconv.AppendInt(o, int64(u.n), 10)
	o = append(o, "\r\nTo: <sip:15551234@127.0.0.1>"...)
	if toTag {
		o = append(o, ";tag=uas"...)
	}
	o = append(o, "\r\nCall-ID: "...)
	o = append(o, u.prefix...)
	o = strconv.AppendInt(o, int64(u.n), 10)
	o = append(o, "\r\nCSeq: "...)
	o = strconv.AppendInt(o, int64(cseq), 10)
	o = append(o, ' ')
	o = append(o, method...)
	o = append(o, "\r\nContact: <sip:sipp@"...)
	o = append(o, src...)
	o = append(o, ";transport=UDP>\r\nMax-Forwards: 70\r\n"...)
	if body != "" {
		o = append(o, "Content-Type: application/sdp\r\n"...)
	}
	o = append(o, "Content-Length: "...)
	o = strconv.AppendInt(o, int64(len(body)), 10)
	o = append(o, "\r\n\r\n"...)
	o = append(o, body...)
	u.out = o
	return o
}

func (u *benchUAC) send(b []byte) error {
	_, err := u.conn.WriteToUDP(b, u.gw)
	return err
}

// await reads until a response with status code (and CSeq method) arrives.
func (u *benchUAC) await(code, method string) ([]byte, error) {
	_ = u.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		n, _, err := u.conn.ReadFromUDP(u.buf)
		if err != nil {
			return nil, fmt.Errorf("waiting for %s to %s: %w", code, method, err)
		}
		m := u.buf[:n]
		if bytes.HasPrefix(m, []byte("SIP/2.0 "+code)) && bytes.HasSuffix(header(m, "CSeq: "), []byte(method)) {
			return m, nil
		}
	}
}

// call runs one whole call.
func (u *benchUAC) call() error {
	u.n++
	if err := u.send(u.request("INVITE", "sip:15551234@127.0.0.1", 1, "-1", false, benchSDP)); err != nil {
		return err
	}
	ok, err := u.await("200", "INVITE")
	if err != nil {
		return err
	}
	u.route = append(u.route[:0], header(ok, "Record-Route: ")...)
	c := header(ok, "Contact: ")
	u.ruri = append(u.ruri[:0], bytes.Trim(c, "<>")...)
	if err := u.send(u.request("ACK", string(u.ruri), 1, "-2", true, "")); err != nil {
		return err
	}
	if err := u.send(u.request("BYE", string(u.ruri), 2, "-3", true, "")); err != nil {
		return err
	}
	_, err = u.await("200", "BYE")
	return err
}

// benchGW runs a gateway as test/bench/run.sh configures sipedge: trusted
// loopback, one route to the UAS, log level warn (to a discarding writer).
func benchGW(b *testing.B, uas string) *testGW {
	cfg := baseConfig()
	cfg.Trusted = []string{"127.0.0.1/32"}
	cfg.Routes = []route.Rule{{To: []string{"sip:" + uas}}}
	return startGWWith(b, cfg, Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))})
}

// BenchmarkProxyCall: one call at a time through the gateway.
func BenchmarkProxyCall(b *testing.B) {
	uas := newBenchUAS(b)
	gw := benchGW(b, uas.addr())
	uac := newBenchUAC(b, gw.addr["udp"], 0)
	if err := uac.call(); err != nil { // warm up
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := uac.call(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProxyCallParallel: 16 callers place calls concurrently (the
// gateway's throughput rather than one call's latency).
func BenchmarkProxyCallParallel(b *testing.B) {
	uas := newBenchUAS(b)
	gw := benchGW(b, uas.addr())
	var id atomic.Int32
	var mu sync.Mutex
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		uac := newBenchUAC(b, gw.addr["udp"], int(id.Add(1)))
		mu.Unlock()
		for pb.Next() {
			if err := uac.call(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkActiveDialogs holds N confirmed calls (INVITE/200/ACK, no BYE)
// and reports the gateway's heap growth per call, measured after a GC
// once sipgo's INVITE transactions have ended (acceptedHold after the 2xx)
// and while their stand-ins (accepted.go) are kept, for 32 s; a call the
// gateway does not track (plain UDP, no media anchoring, no WebSocket leg)
// costs nothing after that. SIPEDGE_BENCH_DIALOGS sets N
// (default 2000).
func BenchmarkActiveDialogs(b *testing.B) {
	n := 2000
	if s := getenvInt("SIPEDGE_BENCH_DIALOGS"); s > 0 {
		n = s
	}
	uas := newBenchUAS(b)
	gw := benchGW(b, uas.addr())
	for range b.N {
		uac := newBenchUAC(b, gw.addr["udp"], 0)
		before := heapAfterGC()
		for range n {
			uac.n++
			if err := uac.send(uac.request("INVITE", "sip:15551234@127.0.0.1", 1, "-1", false, benchSDP)); err != nil {
				b.Fatal(err)
			}
			ok, err := uac.await("200", "INVITE")
			if err != nil {
				b.Fatal(err)
			}
			uac.route = append(uac.route[:0], header(ok, "Record-Route: ")...)
			uac.ruri = append(uac.ruri[:0], bytes.Trim(header(ok, "Contact: "), "<>")...)
			if err := uac.send(uac.request("ACK", string(uac.ruri), 1, "-2", true, "")); err != nil {
				b.Fatal(err)
			}
		}
		// The last ACKs, and sipgo's INVITE transactions ending (acceptedHold
		// after the 2xx, accepted.go): what stays is the relayed 2xx and the
		// INVITE's key, kept as bytes for retransmissions.
		time.Sleep(acceptedHold + 200*time.Millisecond)
		after := heapAfterGC()
		b.ReportMetric(float64(int64(after)-int64(before))/float64(n), "heapB/dialog")
	}
}

func getenvInt(name string) int {
	n, _ := strconv.Atoi(os.Getenv(name))
	return n
}

func heapAfterGC() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
