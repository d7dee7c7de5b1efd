package rtpengine_test

import (
	"bytes"
	"context"
	"fmt"
	"github.com/sipedge/sipedge/rtpengine/rtpenginetest"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zeebo/bencode"

	"github.com/sipedge/sipedge/rtpengine"
)

// BenchmarkCycle measures offer/answer/delete cycles against the real
// rtpengine: through the Client with many concurrent callers, and with a
// raw pipelined sender on one UDP socket (no Client: the daemon's own
// limit) at the same number of calls in flight. "serial" runs one call at a
// time to show the latency the Client adds. Metrics: cycles/s and the p99
// of one command's round trip (p99-ms).
//
//	go test -run XXX -bench BenchmarkCycle -benchtime=3s ./rtpengine/
func BenchmarkCycle(b *testing.B) {
	d := rtpenginetest.StartDaemonPorts(b, 4000, 4) // warnings only: logging costs the daemon CPU
	offerSDP := readSDP(b, "chrome-offer.sdp")
	answerSDP := readSDP(b, "plain-answer.sdp")
	port := d.UDP[strings.LastIndex(d.UDP, ":")+1:]
	const inFlight = 32
	var run atomic.Int64

	b.Run("client/parallel", func(b *testing.B) {
		benchClient(b, d.UDP, offerSDP, answerSDP, inFlight, run.Add(1))
	})
	b.Run("raw/parallel", func(b *testing.B) {
		benchRaw(b, port, offerSDP, answerSDP, inFlight, run.Add(1))
	})
	b.Run("client/serial", func(b *testing.B) {
		benchClient(b, d.UDP, offerSDP, answerSDP, 1, run.Add(1))
	})
	b.Run("raw/serial", func(b *testing.B) {
		benchRaw(b, port, offerSDP, answerSDP, 1, run.Add(1))
	})
}

func benchClient(b *testing.B, node, offerSDP, answerSDP string, callers int, run int64) {
	c, err := rtpengine.New(rtpengine.Config{Nodes: []rtpengine.Node{{Address: node}}, Timeout: 5 * time.Second}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var seq atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	cycle := func(ctx context.Context, own *[]time.Duration) {
		id := fmt.Sprintf("bc%d-%d", run, seq.Add(1))
		t0 := time.Now()
		if _, err := c.Offer(ctx, rtpengine.OfferParams{CallID: id, FromTag: "f", SDP: offerSDP, Options: rtpengine.ToPlainRTP()}); err != nil {
			b.Error(err)
			return
		}
		t1 := time.Now()
		if _, err := c.Answer(ctx, rtpengine.AnswerParams{CallID: id, FromTag: "f", ToTag: "t", SDP: answerSDP, Options: rtpengine.ToBrowser()}); err != nil {
			b.Error(err)
			return
		}
		t2 := time.Now()
		if _, err := c.Delete(ctx, rtpengine.DeleteParams{CallID: id, FromTag: "f", Fast: true}); err != nil {
			b.Error(err)
			return
		}
		*own = append(*own, t1.Sub(t0), t2.Sub(t1), time.Since(t2))
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	if callers == 1 {
		for i := 0; i < b.N; i++ {
			cycle(context.Background(), &lat)
		}
	} else {
		b.SetParallelism((callers + 1) / 2) // x GOMAXPROCS (2 here) goroutines
		b.RunParallel(func(pb *testing.PB) {
			var own []time.Duration
			for pb.Next() {
				cycle(context.Background(), &own)
			}
			mu.Lock()
			lat = append(lat, own...)
			mu.Unlock()
		})
	}
	report(b, start, lat)
}

// benchRaw keeps `window` calls in flight on one UDP socket: every reply
// immediately triggers the call's next command (offer → answer → delete →
// a new call's offer). Messages are pre-encoded templates.
func benchRaw(b *testing.B, port, offerSDP, answerSDP string, window int, run int64) {
	conn, err := net.Dial("udp", "127.0.0.1:"+port)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.UDPConn).SetReadBuffer(1 << 20)
	enc := func(d map[string]any) []byte {
		body, err := bencode.EncodeBytes(d)
		if err != nil {
			b.Fatal(err)
		}
		return body
	}
	toPlain := map[string]any{"ICE": "remove", "DTLS": "off", "DTLS-reverse": "passive", "SDES": []string{"off"},
		"rtcp-mux": []string{"demux"}, "transport-protocol": "RTP/AVP", "replace": []string{"origin", "session-connection"}, "supports": []string{"load limit"}}
	toBrowser := map[string]any{"ICE": "force", "DTLS": "passive", "SDES": []string{"off"}, "rtcp-mux": []string{"offer", "require"},
		"flags": []string{"generate-mid"}, "transport-protocol": "UDP/TLS/RTP/SAVPF", "replace": []string{"origin", "session-connection"}}
	const idTmpl = "CALLID#########"
	mk := func(base map[string]any, kv ...any) []byte {
		d := map[string]any{}
		for k, v := range base {
			d[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			d[kv[i].(string)] = kv[i+1]
		}
		d["call-id"] = idTmpl
		return enc(d)
	}
	tmpl := [3][]byte{
		mk(toPlain, "command", "offer", "from-tag", "f", "sdp", offerSDP),
		mk(toBrowser, "command", "answer", "from-tag", "f", "to-tag", "t", "sdp", answerSDP),
		mk(map[string]any{"flags": []string{"fast"}}, "command", "delete", "from-tag", "f"),
	}
	// message for call i, step s: cookie "r<run>-<i>-<s> " + template with
	// the call-id digits filled in.
	msg := func(dst []byte, i, s int) []byte {
		dst = fmt.Appendf(dst[:0], "r%d-%d-%d ", run, i, s)
		at := len(dst) + bytes.Index(tmpl[s], []byte(idTmpl))
		dst = append(dst, tmpl[s]...)
		copy(dst[at:at+len(idTmpl)], fmt.Sprintf("r%04d%010d", run%10000, i))
		return dst
	}
	type call struct {
		step int
		sent time.Time
	}
	calls := map[int]*call{}
	lat := make([]time.Duration, 0, 3*b.N)
	out := make([]byte, 0, 4096)
	buf := make([]byte, 65536)
	next, done := 0, 0

	b.ResetTimer()
	start := time.Now()
	send := func(i, s int) {
		calls[i].step, calls[i].sent = s, time.Now()
		out = msg(out, i, s)
		if _, err := conn.Write(out); err != nil {
			b.Fatal(err)
		}
	}
	for ; next < window && next < b.N; next++ {
		calls[next] = &call{}
		send(next, 0)
	}
	for done < b.N {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			b.Fatalf("raw: %v after %d cycles", err, done)
		}
		var i, s int
		if _, err := fmt.Sscanf(string(buf[:n]), "r%d-%d-%d ", new(int), &i, &s); err != nil {
			continue
		}
		cl := calls[i]
		if cl == nil || cl.step != s {
			continue
		}
		if !bytes.Contains(buf[:min(n, 64)], []byte("6:result2:ok")) && !bytes.Contains(buf[:n], []byte("6:result2:oke")) {
			b.Fatalf("raw: bad reply %q", buf[:min(n, 200)])
		}
		lat = append(lat, time.Since(cl.sent))
		if s < 2 {
			send(i, s+1)
			continue
		}
		delete(calls, i)
		done++
		if next < b.N {
			calls[next] = &call{}
			send(next, 0)
			next++
		}
	}
	report(b, start, lat)
}

func report(b *testing.B, start time.Time, lat []time.Duration) {
	el := time.Since(start)
	b.ReportMetric(float64(b.N)/el.Seconds(), "cycles/s")
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	}
}
