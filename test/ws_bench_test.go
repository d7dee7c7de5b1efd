package test

import (
	"bufio"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Benchmarks of the WebSocket edge through the real sipedge binary. They
// run only with -bench (test/bench/ws.sh); figures go to docs/benchmarks.md.
//
//	SIPEDGE_BENCH_CONNS   idle connections to open (default 10000)
//	SIPEDGE_BENCH_WORKERS concurrent clients for REGISTER/s (default 64)

// benchEnv returns the integer environment variable name, or def.
func benchEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchSourceIP spreads clients over 127.0.1.1 .. 127.0.1.200 so neither
// the per-address cap nor one address's ephemeral ports run out.
func benchSourceIP(i int) string { return fmt.Sprintf("127.0.1.%d", 1+i%200) }

// benchEdge starts sipedge for a benchmark: WS and WSS listeners, users
// u0..u(users-1) (password "pw"), logging at info, caps raised.
func benchEdge(b *testing.B, users int) (*sipedgeProc, string) {
	b.Helper()
	certFile, keyFile, _ := writeTestCert(b, b.TempDir())
	u := make(map[string]string, users)
	for i := range users {
		u["u"+strconv.Itoa(i)] = "pw"
	}
	gw := startSipedge(b, proxyConfig{
		Listen:     []string{"udp://127.0.0.1:0", "ws://127.0.0.1:0/ws", "wss://127.0.0.1:0/ws"},
		Users:      u,
		Algorithms: []string{"MD5"},
		Routes:     []proxyRoute{{To: []string{"sip:127.0.0.1:9"}}},
		TLSCert:    certFile, TLSKey: keyFile,
		LogLevel: "info",
		WS: map[string]any{
			"max_connections":        users + 1000,
			"max_connections_per_ip": users + 1000,
			// Idle means idle: no keepalive traffic during the measurement.
			"ping_interval": "10m",
			"idle_timeout":  "1h",
		},
	})
	return gw, certFile
}

// benchWS is a bare client: dial, REGISTER with the digest round, and
// (optionally) stay connected without a reader goroutine.
type benchWS struct {
	conn  *websocket.Conn
	user  string
	host  string
	cseq  int
	callI string
}

func benchDial(ctx context.Context, url, ip string, opts wsDialOpts) (*benchWS, error) {
	opts.LocalIP = ip
	conn, _, err := dialWS(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	return &benchWS{conn: conn, host: randHex(6) + ".invalid", callI: randHex(8)}, nil
}

// roundTrip writes a REGISTER and reads until its final response.
func (c *benchWS) roundTrip(ctx context.Context, auth string) (*sip.Response, error) {
	c.cseq++
	msg := fmt.Sprintf("REGISTER sip:example.test SIP/2.0\r\nVia: SIP/2.0/WSS %s;branch=z9hG4bK%s\r\n"+
		"From: <sip:%s@example.test>;tag=%s\r\nTo: <sip:%s@example.test>\r\nCall-ID: %s\r\nCSeq: %d REGISTER\r\n"+
		"Contact: <sip:%s@%s;transport=ws>;expires=3600\r\nMax-Forwards: 70\r\n%sContent-Length: 0\r\n\r\n",
		c.host, randHex(6), c.user, c.callI, c.user, c.callI, c.cseq, c.user, c.host, auth)
	if err := c.conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		return nil, err
	}
	for {
		_, data, err := c.conn.Read(ctx)
		if err != nil {
			return nil, err
		}
		m, err := sip.ParseMessage(data)
		if err != nil {
			return nil, err
		}
		if r, ok := m.(*sip.Response); ok && r.StatusCode >= 200 {
			return r, nil
		}
	}
}

// register runs REGISTER, 401, REGISTER with credentials, 200.
func (c *benchWS) register(ctx context.Context, user, password string) error {
	c.user = user
	res, err := c.roundTrip(ctx, "")
	if err != nil {
		return err
	}
	if res.StatusCode != 401 {
		return fmt.Errorf("first REGISTER: %d, want 401", res.StatusCode)
	}
	h := res.GetHeader("WWW-Authenticate")
	if h == nil {
		return errors.New("401 without WWW-Authenticate")
	}
	ch, err := digest.ParseChallenge(h.Value())
	if err != nil {
		return err
	}
	cred, err := digest.Digest(ch, digest.Options{Method: "REGISTER", URI: "sip:example.test", Username: user, Password: password, Count: 1})
	if err != nil {
		return err
	}
	res, err = c.roundTrip(ctx, "Authorization: "+cred.String()+"\r\n")
	if err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("REGISTER with credentials: %d %s, want 200", res.StatusCode, res.Reason)
	}
	return nil
}

// procStatusKB returns a "VmRSS"-style field of /proc/pid/status in KiB.
func procStatusKB(pid int, field string) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

// gctraceRE matches a GODEBUG=gctrace=1 line; group 1 is the live heap (MB)
// after the collection.
var gctraceRE = regexp.MustCompile(`gc \d+ @[\d.]+s .* \d+->\d+->(\d+) MB`)

// lastLiveHeapMB returns the live heap of sipedge's last garbage collection.
func lastLiveHeapMB(p *sipedgeProc) (int, int) {
	mb, n := 0, 0
	for _, line := range strings.Split(p.Log(), "\n") {
		if m := gctraceRE.FindStringSubmatch(line); m != nil {
			mb, _ = strconv.Atoi(m[1])
			n++
		}
	}
	return mb, n
}

// BenchmarkWSIdleConnections opens SIPEDGE_BENCH_CONNS WSS connections,
// registers each (own user, digest), leaves them idle and reports sipedge's
// RSS growth per connection (VmRSS after minus before, both read from
// /proc), plus the live heap of its last GC (GODEBUG=gctrace=1) per
// connection. Run with -benchtime=1x.
func BenchmarkWSIdleConnections(b *testing.B) {
	n := benchEnv("SIPEDGE_BENCH_CONNS", 10000)
	b.Setenv("GODEBUG", "gctrace=1")
	gw, certFile := benchEdge(b, n)
	pool := loadPool(b, certFile)
	url := "wss://" + gw.Addr(b, "wss") + "/ws"
	pid := gw.cmd.Process.Pid
	for range b.N {
		// Warm up: one connection, so TLS and the handler paths are in the
		// baseline, then measure.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		warm, err := benchDial(ctx, url, benchSourceIP(0), wsDialOpts{Pool: pool})
		if err != nil {
			b.Fatal(err)
		}
		if err := warm.register(ctx, "u0", "pw"); err != nil {
			b.Fatal(err)
		}
		rssBefore := procStatusKB(pid, "VmRSS")
		heapBefore, _ := lastLiveHeapMB(gw)
		conns := make([]*benchWS, n)
		var failed atomic.Int64
		var firstErr atomic.Value
		sem := make(chan struct{}, 64)
		var wg sync.WaitGroup
		start := time.Now()
		for i := 1; i < n; i++ {
			sem <- struct{}{}
			wg.Add(1)
			go func() { // owner: this loop; waited below
				defer wg.Done()
				defer func() { <-sem }()
				c, err := benchDial(ctx, url, benchSourceIP(i), wsDialOpts{Pool: pool})
				if err == nil {
					err = c.register(ctx, "u"+strconv.Itoa(i), "pw")
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					return
				}
				conns[i] = c
			}()
		}
		wg.Wait()
		setup := time.Since(start)
		// Let sipedge settle (transactions of the last REGISTERs end).
		pause(2 * time.Second)
		rssAfter := procStatusKB(pid, "VmRSS")
		heapAfter, gcs := lastLiveHeapMB(gw)
		open := n - 1 - int(failed.Load())
		if failed.Load() > 0 {
			b.Errorf("%d of %d connections failed, first: %v", failed.Load(), n-1, firstErr.Load())
		}
		b.ReportMetric(float64(open), "conns")
		if open > 0 {
			b.ReportMetric(float64(rssAfter-rssBefore)/float64(open), "KiB-RSS/conn")
			b.ReportMetric(float64((heapAfter-heapBefore)*1024)/float64(open), "KiB-heap/conn")
		}
		b.ReportMetric(setup.Seconds(), "s-setup")
		b.Logf("%d idle registered WSS connections: sipedge VmRSS %d -> %d KiB (%.1f KiB/conn); live heap at last GC %d -> %d MB (%d GCs); setup %v",
			open, rssBefore, rssAfter, float64(rssAfter-rssBefore)/float64(max(open, 1)), heapBefore, heapAfter, gcs, setup.Round(time.Millisecond))
		for _, c := range conns {
			if c != nil {
				c.conn.CloseNow()
			}
		}
		warm.conn.CloseNow()
		cancel()
	}
}

// BenchmarkWSRegister measures REGISTER/s with a new connection per
// registration: SIPEDGE_BENCH_WORKERS clients each loop dial, REGISTER
// (401, then 200 with digest), close. b.N is the number of registrations.
func BenchmarkWSRegister(b *testing.B) {
	workers := benchEnv("SIPEDGE_BENCH_WORKERS", 64)
	gw, certFile := benchEdge(b, workers)
	pool := loadPool(b, certFile)
	for _, transport := range []string{"ws", "wss"} {
		b.Run(transport, func(b *testing.B) {
			url := transport + "://" + gw.Addr(b, transport) + "/ws"
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			var next, failed atomic.Int64
			var firstErr atomic.Value
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := range workers {
				wg.Add(1)
				go func() { // owner: this benchmark; waited below
					defer wg.Done()
					user := "u" + strconv.Itoa(w)
					for next.Add(1) <= int64(b.N) {
						c, err := benchDial(ctx, url, benchSourceIP(w), wsDialOpts{Pool: pool})
						if err == nil {
							err = c.register(ctx, user, "pw")
							_ = c.conn.Close(websocket.StatusNormalClosure, "")
						}
						if err != nil {
							failed.Add(1)
							firstErr.CompareAndSwap(nil, err)
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if f := failed.Load(); f > 0 {
				b.Errorf("%d of %d registrations failed, first: %v", f, b.N, firstErr.Load())
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "reg/s")
		})
	}
}

// loadPool returns a pool trusting the PEM certificate in file.
func loadPool(b *testing.B, file string) *x509.CertPool {
	b.Helper()
	pem, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		b.Fatal("no certificate in " + file)
	}
	return p
}
