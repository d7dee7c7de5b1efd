package test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/sipedge/sipedge/gateway"
	"github.com/sipedge/sipedge/gateway/auth"
	"github.com/sipedge/sipedge/gateway/route"
	edgetls "github.com/sipedge/sipedge/tls"
	"github.com/sipedge/sipedge/ws"
)

// Benchmarks of the WebSocket edge through the real sipedge binary. They
// run only with -bench (test/bench/ws.sh); figures go to docs/benchmarks.md.
//
//	SIPEDGE_BENCH_CONNS   idle connections to open (default 10000)
//	SIPEDGE_BENCH_WORKERS concurrent clients for REGISTER/s (default 64)
//	SIPEDGE_BENCH_MEMLIMIT_MB sipedge's runtime.memory_limit_mb (default: none)
//	SIPEDGE_BENCH_REDIS   host:port of a redis-server: registrations go to
//	                      the cluster store there (default: in memory)
//	SIPEDGE_BENCH_SETTLE  seconds the idle connections are held before RSS
//	                      is read (default 2), with a reading every 10 s
//
// With SIPEDGE_BENCH_TARGET_WS or SIPEDGE_BENCH_TARGET_WSS set, the same
// two benchmarks measure that external edge instead of starting sipedge
// (Kamailio: test/bench/kamailio-ws.sh); see benchTarget.

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
	var rt map[string]any
	if mb := benchEnv("SIPEDGE_BENCH_MEMLIMIT_MB", 0); mb > 0 {
		rt = map[string]any{"memory_limit_mb": mb}
	}
	var cl map[string]any
	if addr := os.Getenv("SIPEDGE_BENCH_REDIS"); addr != "" {
		cl = map[string]any{"node": "bench", "redis": "redis://" + addr, "address": "sip:127.0.0.1:5060"}
	}
	gw := startSipedge(b, proxyConfig{
		Cluster:    cl,
		Runtime:    rt,
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
	if rt != nil && !strings.Contains(gw.Log(), "msg=runtime memory_limit_mb=") {
		b.Fatalf("sipedge did not log its runtime settings:\n%s", gw.Log())
	}
	return gw, certFile
}

// benchTarget is an external WebSocket edge that the benchmarks measure
// instead of sipedge, with the same load generators, so that figures
// compare like for like. Its users are u0..uN with password "pw".
//
//	SIPEDGE_BENCH_TARGET_WS   host:port of its ws:// listener
//	SIPEDGE_BENCH_TARGET_WSS  host:port of its wss:// listener
//	SIPEDGE_BENCH_TARGET_PATH upgrade path (default /ws)
//	SIPEDGE_BENCH_TARGET_CERT PEM certificate to trust for wss://
//	SIPEDGE_BENCH_TARGET_PIDS its process ids (space or comma separated);
//	                          memory and CPU time are summed over them and
//	                          all their descendants (Kamailio forks its
//	                          workers)
type benchTarget struct {
	addr  map[string]string // transport (ws, wss) -> host:port
	path  string
	pool  *x509.CertPool // nil without SIPEDGE_BENCH_TARGET_CERT
	roots []int
}

// externalTarget returns the target the environment names, or nil when
// the benchmarks are to start sipedge.
func externalTarget(b *testing.B) *benchTarget {
	b.Helper()
	t := &benchTarget{addr: map[string]string{}, path: os.Getenv("SIPEDGE_BENCH_TARGET_PATH")}
	for _, tr := range []string{"ws", "wss"} {
		if a := os.Getenv("SIPEDGE_BENCH_TARGET_" + strings.ToUpper(tr)); a != "" {
			t.addr[tr] = a
		}
	}
	if len(t.addr) == 0 {
		return nil
	}
	if t.path == "" {
		t.path = "/ws"
	}
	if f := os.Getenv("SIPEDGE_BENCH_TARGET_CERT"); f != "" {
		t.pool = loadPool(b, f)
	}
	for _, f := range strings.FieldsFunc(os.Getenv("SIPEDGE_BENCH_TARGET_PIDS"), func(r rune) bool { return r == ',' || r == ' ' }) {
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 0 {
			b.Fatalf("SIPEDGE_BENCH_TARGET_PIDS: %q is not a process id", f)
		}
		t.roots = append(t.roots, pid)
	}
	return t
}

// need returns the target's address for transport, failing b when the
// environment gives none (or, for wss, no certificate to trust).
func (t *benchTarget) need(b testing.TB, transport string) string {
	b.Helper()
	a, ok := t.addr[transport]
	if !ok {
		b.Fatalf("SIPEDGE_BENCH_TARGET_%s is not set", strings.ToUpper(transport))
	}
	if transport == "wss" && t.pool == nil {
		b.Fatal("SIPEDGE_BENCH_TARGET_CERT is not set")
	}
	return a
}

// checkAuth fails b unless the target refuses a wrong password and
// accepts the right one over transport: a peer that skipped the digest
// check would look faster than it is.
func (t *benchTarget) checkAuth(b *testing.B, transport string, tc *tls.Config) {
	b.Helper()
	for _, pw := range []string{"wrong", "pw"} {
		c, err := dialLean(t.need(b, transport), "127.0.0.1", t.path, tc, 10*time.Second)
		if err != nil {
			b.Fatalf("%s: %v", transport, err)
		}
		err = c.register("u0", pw)
		c.close()
		if pw == "pw" && err != nil {
			b.Fatalf("%s: register u0: %v", transport, err)
		}
		if pw != "pw" && err == nil {
			b.Fatalf("%s: register u0 with a wrong password succeeded", transport)
		}
	}
}

// procTree returns roots and all their descendants, from
// /proc/PID/task/TID/children (at most 4096 processes).
func procTree(roots []int) []int {
	seen := map[int]bool{}
	queue := append([]int(nil), roots...)
	var out []int
	for len(queue) > 0 && len(out) < 4096 {
		pid := queue[0]
		queue = queue[1:]
		if seen[pid] {
			continue
		}
		seen[pid] = true
		out = append(out, pid)
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
		for _, f := range tasks {
			data, _ := os.ReadFile(f)
			for _, c := range strings.Fields(string(data)) {
				if n, err := strconv.Atoi(c); err == nil {
					queue = append(queue, n)
				}
			}
		}
	}
	return out
}

// treeMem is the memory of a process tree, KiB.
type treeMem struct {
	pss, rss, procs int
}

// readTreeMem sums Pss and Rss of /proc/PID/smaps_rollup over roots and
// their descendants. Pss charges each shared page (Kamailio's shared
// memory is mapped by every worker) once in all, split over its mappers,
// so the sum counts it once; the Rss sum counts it in every process.
func readTreeMem(roots []int) treeMem {
	var m treeMem
	for _, pid := range procTree(roots) {
		f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			switch k {
			case "Pss":
				m.pss += n
			case "Rss":
				m.rss += n
			}
		}
		_ = f.Close()
		m.procs++
	}
	return m
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
	if t := externalTarget(b); t != nil {
		benchIdleExternal(b, t, n)
		return
	}
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
		start := time.Now()
		conns, failed, firstErr := openIdleConns(ctx, url, pool, n)
		setup := time.Since(start)
		// Let sipedge settle (transactions of the last REGISTERs end),
		// then follow RSS while the connections stay idle: the runtime
		// returns the handshakes' freed memory to the OS gradually.
		pause(2 * time.Second)
		rssAfter := procStatusKB(pid, "VmRSS")
		settle := time.Duration(benchEnv("SIPEDGE_BENCH_SETTLE", 0)) * time.Second
		for waited := 2 * time.Second; waited < settle; {
			step := min(10*time.Second, settle-waited)
			pause(step)
			waited += step
			rssAfter = procStatusKB(pid, "VmRSS")
			b.Logf("idle %v: VmRSS %d KiB (%.1f KiB/conn)", waited, rssAfter,
				float64(rssAfter-rssBefore)/float64(max(n-1-failed, 1)))
		}
		if os.Getenv("SIPEDGE_BENCH_GCTRACE") != "" {
			for _, line := range strings.Split(gw.Log(), "\n") {
				if strings.HasPrefix(line, "gc ") || strings.Contains(line, "scvg") {
					b.Log(line)
				}
			}
		}
		heapAfter, gcs := lastLiveHeapMB(gw)
		open := n - 1 - failed
		if failed > 0 {
			b.Errorf("%d of %d connections failed, first: %v", failed, n-1, firstErr)
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

// openIdleConns opens connections 1..n-1 to url (64 at a time), each
// registered as its own user u<i>, and returns them (nil where one
// failed), how many failed and the first error.
func openIdleConns(ctx context.Context, url string, pool *x509.CertPool, n int) ([]*benchWS, int, error) {
	conns := make([]*benchWS, n)
	var failed atomic.Int64
	var firstErr error // errors differ in type: atomic.Value would panic
	var once sync.Once
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
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
				once.Do(func() { firstErr = err })
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	return conns, int(failed.Load()), firstErr
}

// benchIdleExternal is BenchmarkWSIdleConnections against an external
// target: the memory figure is the Pss summed over its processes
// (SIPEDGE_BENCH_TARGET_PIDS and their descendants) after minus before.
func benchIdleExternal(b *testing.B, t *benchTarget, n int) {
	url := "wss://" + t.need(b, "wss") + t.path
	if len(t.roots) == 0 {
		b.Fatal("SIPEDGE_BENCH_TARGET_PIDS is not set")
	}
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		warm, err := benchDial(ctx, url, benchSourceIP(0), wsDialOpts{Pool: t.pool})
		if err != nil {
			b.Fatal(err)
		}
		if err := warm.register(ctx, "u0", "pw"); err != nil {
			b.Fatal(err)
		}
		before := readTreeMem(t.roots)
		start := time.Now()
		conns, failed, firstErr := openIdleConns(ctx, url, t.pool, n)
		setup := time.Since(start)
		pause(2 * time.Second)
		after := readTreeMem(t.roots)
		settle := time.Duration(benchEnv("SIPEDGE_BENCH_SETTLE", 0)) * time.Second
		for waited := 2 * time.Second; waited < settle; {
			step := min(10*time.Second, settle-waited)
			pause(step)
			waited += step
			after = readTreeMem(t.roots)
			b.Logf("idle %v: Pss %d KiB (%.1f KiB/conn)", waited, after.pss,
				float64(after.pss-before.pss)/float64(max(n-1-failed, 1)))
		}
		open := n - 1 - failed
		if failed > 0 {
			b.Errorf("%d of %d connections failed, first: %v", failed, n-1, firstErr)
		}
		b.ReportMetric(float64(open), "conns")
		if open > 0 {
			b.ReportMetric(float64(after.pss-before.pss)/float64(open), "KiB-PSS/conn")
		}
		b.ReportMetric(setup.Seconds(), "s-setup")
		b.Logf("%d idle registered WSS connections: target Pss %d -> %d KiB (%.1f KiB/conn) over %d processes; Rss summed per process (shared pages counted in each) %d -> %d KiB; setup %v",
			open, before.pss, after.pss, float64(after.pss-before.pss)/float64(max(open, 1)), after.procs,
			before.rss, after.rss, setup.Round(time.Millisecond))
		for _, c := range conns {
			if c != nil {
				c.conn.CloseNow()
			}
		}
		warm.conn.CloseNow()
		cancel()
	}
}

// treeCPU returns the user plus system CPU time of roots and their
// descendants (/proc/PID/stat, clock ticks of 10 ms).
func treeCPU(roots []int) time.Duration {
	var ticks int64
	for _, pid := range procTree(roots) {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the command name (which may hold spaces): state is
		// field 3, utime and stime are 14 and 15.
		s := string(data)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// BenchmarkWSRegister measures REGISTER/s with a new connection per
// registration: SIPEDGE_BENCH_WORKERS clients each loop dial, REGISTER
// (401, then 200 with digest), close. b.N is the number of registrations.
func BenchmarkWSRegister(b *testing.B) {
	workers := benchEnv("SIPEDGE_BENCH_WORKERS", 64)
	target := externalTarget(b)
	var addrOf func(testing.TB, string) string // transport -> host:port
	var pool *x509.CertPool
	path := "/ws"
	var roots []int // the server's processes, for its CPU per registration
	if target != nil {
		addrOf, pool, path, roots = target.need, target.pool, target.path, target.roots
	} else {
		gw, certFile := benchEdge(b, workers)
		addrOf, pool, roots = gw.Addr, loadPool(b, certFile), []int{gw.cmd.Process.Pid}
	}
	for _, transport := range []string{"ws", "wss"} {
		b.Run(transport, func(b *testing.B) {
			addr := addrOf(b, transport)
			if target != nil {
				var tc *tls.Config
				if transport == "wss" {
					tc = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
				}
				target.checkAuth(b, transport, tc)
			}
			var next, failed atomic.Int64
			var firstErr error // errors differ in type: atomic.Value would panic
			var once sync.Once
			var wg sync.WaitGroup
			cpu0 := treeCPU(roots)
			b.ResetTimer()
			start := time.Now()
			for w := range workers {
				wg.Add(1)
				go func() { // owner: this benchmark; waited below
					defer wg.Done()
					user := "u" + strconv.Itoa(w)
					var tc *tls.Config
					if transport == "wss" {
						tc = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
					}
					for next.Add(1) <= int64(b.N) {
						c, err := dialLean(addr, benchSourceIP(w), path, tc, 10*time.Second)
						if err == nil {
							err = c.register(user, "pw")
							c.close()
						}
						if err != nil {
							failed.Add(1)
							once.Do(func() { firstErr = err })
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if f := failed.Load(); f > 0 {
				b.Errorf("%d of %d registrations failed, first: %v", f, b.N, firstErr)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "reg/s")
			if len(roots) > 0 {
				b.ReportMetric(float64((treeCPU(roots)-cpu0).Microseconds())/float64(b.N), "µs-server-cpu/reg")
			}
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

// In-process profiling of the WebSocket edge. The gateway runs inside the
// benchmark process (gateway.New on 127.0.0.1:0) so that Go's own heap,
// stack and CPU profiles can be taken; the clients run in a child process
// (this test binary again, TestWSBenchClientProcess) so that they add
// nothing to the figures.
//
//	SIPEDGE_BENCH_CONNS    idle connections (BenchmarkWSIdleInProcess, default 10000)
//	SIPEDGE_BENCH_WORKERS  concurrent clients (BenchmarkWSRegisterInProcess, default 64)
//	SIPEDGE_BENCH_PROFILE  directory: heap, goroutine and CPU profiles of the gateway
//	SIPEDGE_BENCH_CLIENT_PROCS GOMAXPROCS of the client process (default: inherited)

// inprocEdge is a gateway running in the benchmark process.
type inprocEdge struct {
	addr map[string]string // transport -> bound address
	cert string            // PEM certificate file of the wss listener
}

// startInprocEdge runs a gateway with ws and wss listeners and users
// u0..u(users-1) (password "pw") until the benchmark ends.
func startInprocEdge(b *testing.B, users int) *inprocEdge {
	b.Helper()
	certFile, keyFile, _ := writeTestCert(b, b.TempDir())
	tc, err := edgetls.Config{Cert: certFile, Key: keyFile}.ServerConfig()
	if err != nil {
		b.Fatal(err)
	}
	cfg := gateway.Config{
		Domains: []string{"example.test"},
		Users:   make(map[string]gateway.User, users),
		Routes:  []route.Rule{{To: []string{"sip:127.0.0.1:9"}}},
		Auth:    auth.Config{Algorithms: []string{"MD5"}},
	}
	for i := range users {
		cfg.Users["u"+strconv.Itoa(i)] = gateway.User{Password: "pw"}
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	ready := make(chan []gateway.Listener, 1)
	g, err := gateway.New(cfg, gateway.Deps{
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		Listeners: []gateway.Listener{
			{Transport: "udp", Addr: "127.0.0.1:0"},
			{Transport: "ws", Addr: "127.0.0.1:0", Path: "/ws"},
			{Transport: "wss", Addr: "127.0.0.1:0", Path: "/ws"},
		},
		TLS:   tc,
		Ready: func(l []gateway.Listener) { ready <- l },
		WS: ws.Config{
			MaxConns: users + 1000, MaxConnsPerIP: users + 1000,
			// Idle means idle: no keepalive traffic during the measurement.
			PingInterval: 10 * time.Minute, IdleTimeout: time.Hour,
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }() // owner: this benchmark; stopped and waited in Cleanup
	e := &inprocEdge{addr: map[string]string{}, cert: certFile}
	select {
	case l := <-ready:
		for _, x := range l {
			e.addr[x.Transport] = x.Addr
		}
	case err := <-done:
		cancel()
		b.Fatalf("gateway exited: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		b.Fatal("gateway not ready")
	}
	b.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			b.Error("gateway did not stop")
		}
	})
	return e
}

// benchChild is the client process of an in-process benchmark.
type benchChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

// startBenchChild runs TestWSBenchClientProcess in a child process with
// the given SIPEDGE_BENCH_CHILD_* settings.
func startBenchChild(b *testing.B, env map[string]string) *benchChild {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWSBenchClientProcess$", "-test.count=1", "-test.timeout=30m")
	cmd.Env = append(os.Environ(), "SIPEDGE_BIN="+sipedgeBin)
	if p := os.Getenv("SIPEDGE_BENCH_CLIENT_PROCS"); p != "" {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+p)
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, "SIPEDGE_BENCH_CHILD_"+k+"="+v)
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	c := &benchChild{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	b.Cleanup(func() { c.stop() })
	return c
}

// result returns the fields of the child's next line starting with key.
func (c *benchChild) result(b *testing.B, key string) []string {
	b.Helper()
	for c.out.Scan() {
		if f := strings.Fields(c.out.Text()); len(f) > 0 && f[0] == key {
			return f[1:]
		}
	}
	b.Fatalf("client process ended without %q", key)
	return nil
}

// stop closes the child's stdin (its signal to close everything and exit)
// and waits for it; it returns the child's CPU time.
func (c *benchChild) stop() time.Duration {
	if c.cmd.ProcessState == nil {
		_ = c.stdin.Close()
		for c.out.Scan() {
		}
		_ = c.cmd.Wait()
	}
	return c.cmd.ProcessState.UserTime() + c.cmd.ProcessState.SystemTime()
}

// childEnv returns SIPEDGE_BENCH_CHILD_name as an integer, or def.
func childEnv(name string, def int) int {
	return benchEnv("SIPEDGE_BENCH_CHILD_"+name, def)
}

// TestWSBenchClientProcess is the client side of the in-process
// benchmarks; it does nothing unless started by one of them
// (SIPEDGE_BENCH_CHILD_MODE set). Mode "idle" opens N registered
// connections, prints "ready OPEN FAILED" and holds them until stdin
// closes; mode "register" runs N dial-REGISTER-close rounds with WORKERS
// clients and prints "done N FAILED SECONDS".
func TestWSBenchClientProcess(t *testing.T) {
	mode := os.Getenv("SIPEDGE_BENCH_CHILD_MODE")
	if mode == "" {
		return // not a child: nothing to do (this is not a skipped test)
	}
	url := os.Getenv("SIPEDGE_BENCH_CHILD_URL")
	pem, err := os.ReadFile(os.Getenv("SIPEDGE_BENCH_CHILD_CERT"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	n := childEnv("N", 1000)
	workers := childEnv("WORKERS", 64)
	resume := os.Getenv("SIPEDGE_BENCH_CHILD_RESUME") == "1"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	var failed atomic.Int64
	var firstErr atomic.Value
	fail := func(err error) {
		failed.Add(1)
		firstErr.CompareAndSwap(nil, err)
	}
	switch mode {
	case "idle":
		conns := make([]*benchWS, n)
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() { // owner: this test; waited below
				defer wg.Done()
				d := newBenchDialer(pool, resume)
				for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
					c, err := d.dial(ctx, url, benchSourceIP(i))
					if err == nil {
						err = c.register(ctx, "u"+strconv.Itoa(i), "pw")
					}
					if err != nil {
						fail(err)
						continue
					}
					conns[i] = c
				}
			}()
		}
		wg.Wait()
		fmt.Printf("ready %d %d\n", n-int(failed.Load()), failed.Load())
		if e := firstErr.Load(); e != nil {
			t.Logf("first error: %v", e)
		}
		_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
		for _, c := range conns {
			if c != nil {
				c.conn.CloseNow()
			}
		}
	case "register":
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for w := range workers {
			wg.Add(1)
			go func() { // owner: this test; waited below
				defer wg.Done()
				d := newBenchDialer(pool, resume)
				user := "u" + strconv.Itoa(w)
				for next.Add(1) <= int64(n) {
					c, err := d.dial(ctx, url, benchSourceIP(w))
					if err == nil {
						err = c.register(ctx, user, "pw")
						_ = c.conn.Close(websocket.StatusNormalClosure, "")
					}
					if err != nil {
						fail(err)
					}
				}
			}()
		}
		wg.Wait()
		fmt.Printf("done %d %d %.3f\n", n, failed.Load(), time.Since(start).Seconds())
		if e := firstErr.Load(); e != nil {
			t.Logf("first error: %v", e)
		}
	default:
		t.Fatalf("unknown SIPEDGE_BENCH_CHILD_MODE %q", mode)
	}
}

// benchDialer dials WebSocket connections for one client worker. With
// resume it keeps a TLS session cache, as a browser does, so that later
// WSS connections resume instead of running a full handshake.
type benchDialer struct {
	pool  *x509.CertPool
	cache tls.ClientSessionCache
}

func newBenchDialer(pool *x509.CertPool, resume bool) *benchDialer {
	d := &benchDialer{pool: pool}
	if resume {
		d.cache = tls.NewLRUClientSessionCache(4)
	}
	return d
}

func (d *benchDialer) dial(ctx context.Context, url, ip string) (*benchWS, error) {
	nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: nd.DialContext,
		TLSClientConfig: &tls.Config{RootCAs: d.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12,
			ClientSessionCache: d.cache},
		TLSHandshakeTimeout: 5 * time.Second,
		DisableKeepAlives:   true,
	}
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPClient:   &http.Client{Transport: tr},
		Subprotocols: []string{"sip"},
	})
	if err != nil {
		return nil, err
	}
	return &benchWS{conn: conn, host: randHex(6) + ".invalid", callI: randHex(8)}, nil
}

// memFigures are the gateway process's memory figures at one moment.
type memFigures struct {
	heap, stack uint64 // HeapAlloc and StackInuse after two GCs, bytes
	rssKB       int    // VmRSS
	goroutines  int
}

func readMem() memFigures {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memFigures{heap: ms.HeapAlloc, stack: ms.StackInuse, rssKB: procStatusKB(os.Getpid(), "VmRSS"),
		goroutines: runtime.NumGoroutine()}
}

// writeProfile writes the named runtime/pprof profile to dir/file when
// SIPEDGE_BENCH_PROFILE names a directory.
func writeProfile(b *testing.B, name, file string) {
	dir := os.Getenv("SIPEDGE_BENCH_PROFILE")
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, file))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
	b.Logf("wrote %s", f.Name())
}

// BenchmarkWSIdleInProcess opens SIPEDGE_BENCH_CONNS registered WSS
// connections to an in-process gateway from a client process and reports
// the gateway's live heap, goroutine stacks and RSS growth per connection.
// With SIPEDGE_BENCH_PROFILE it writes heap.pprof and goroutine.pprof.
// Run with -benchtime=1x.
func BenchmarkWSIdleInProcess(b *testing.B) {
	n := benchEnv("SIPEDGE_BENCH_CONNS", 10000)
	runtime.MemProfileRate = 4096
	e := startInprocEdge(b, n)
	for range b.N {
		before := readMem()
		start := time.Now()
		child := startBenchChild(b, map[string]string{"MODE": "idle", "N": strconv.Itoa(n), "WORKERS": "64",
			"URL": "wss://" + e.addr["wss"] + "/ws", "CERT": e.cert})
		f := child.result(b, "ready")
		setup := time.Since(start)
		open, _ := strconv.Atoi(f[0])
		if f[1] != "0" {
			b.Errorf("%s of %d connections failed", f[1], n)
		}
		// The last REGISTER transactions end once answered (reliable
		// transport: no timer J); give stragglers a moment.
		pause(time.Second)
		after := readMem()
		writeProfile(b, "heap", "heap.pprof")
		writeProfile(b, "goroutine", "goroutine.pprof")
		per := func(a, b uint64) float64 { return float64(int64(a)-int64(b)) / float64(max(open, 1)) }
		b.ReportMetric(float64(open), "conns")
		b.ReportMetric(per(after.heap, before.heap), "B-heap/conn")
		b.ReportMetric(per(after.stack, before.stack), "B-stack/conn")
		b.ReportMetric(float64(after.rssKB-before.rssKB)*1024/float64(max(open, 1)), "B-RSS/conn")
		b.ReportMetric(float64(after.goroutines-before.goroutines)/float64(max(open, 1)), "goroutines/conn")
		b.Logf("%d idle registered WSS connections in %v: heap %d -> %d KiB, stacks %d -> %d KiB, VmRSS %d -> %d KiB, goroutines %d -> %d",
			open, setup.Round(time.Millisecond), before.heap>>10, after.heap>>10, before.stack>>10, after.stack>>10,
			before.rssKB, after.rssKB, before.goroutines, after.goroutines)
		child.stop()
	}
}

// BenchmarkWSRegisterInProcess measures REGISTER/s with a new connection
// per registration against an in-process gateway, clients in a child
// process (SIPEDGE_BENCH_WORKERS of them): WS, WSS with a full TLS
// handshake per connection, and WSS with session resumption. It reports
// the CPU time of the gateway and of the clients per registration. With
// SIPEDGE_BENCH_PROFILE it writes a CPU profile of the gateway per case.
func BenchmarkWSRegisterInProcess(b *testing.B) {
	workers := benchEnv("SIPEDGE_BENCH_WORKERS", 64)
	e := startInprocEdge(b, workers)
	cases := []struct{ name, transport, resume string }{
		{"ws", "ws", "0"}, {"wss", "wss", "0"}, {"wss-resumed", "wss", "1"},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var prof *os.File
			if dir := os.Getenv("SIPEDGE_BENCH_PROFILE"); dir != "" {
				var err error
				if prof, err = os.Create(filepath.Join(dir, "cpu-"+tc.name+".pprof")); err != nil {
					b.Fatal(err)
				}
				defer prof.Close()
				if err := pprof.StartCPUProfile(prof); err != nil {
					b.Fatal(err)
				}
			}
			cpu0 := selfCPU()
			child := startBenchChild(b, map[string]string{"MODE": "register", "N": strconv.Itoa(b.N),
				"WORKERS": strconv.Itoa(workers), "RESUME": tc.resume,
				"URL": tc.transport + "://" + e.addr[tc.transport] + "/ws", "CERT": e.cert})
			f := child.result(b, "done")
			clientCPU := child.stop()
			serverCPU := selfCPU() - cpu0
			if prof != nil {
				pprof.StopCPUProfile()
				b.Logf("wrote %s", prof.Name())
			}
			if f[1] != "0" {
				b.Errorf("%s of %d registrations failed", f[1], b.N)
			}
			secs, _ := strconv.ParseFloat(f[2], 64)
			b.ReportMetric(float64(b.N)/secs, "reg/s")
			b.ReportMetric(float64(serverCPU.Microseconds())/float64(b.N), "µs-gw-cpu/reg")
			b.ReportMetric(float64(clientCPU.Microseconds())/float64(b.N), "µs-client-cpu/reg")
		})
	}
}

// selfCPU returns this process's user plus system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
