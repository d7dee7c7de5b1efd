package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sipedge/sipedge/rtpengine"
	"github.com/sipedge/sipedge/test/rtpecho"
)

const (
	sippBin      = "/usr/bin/sipp"
	rtpengineBin = "/usr/bin/rtpengine"
	echoNumber   = "600"       // routed to rtpecho
	udpPrefix    = "1555"      // routed to the SIPp UAS
	echoIP       = "127.0.0.2" // rtpecho's SIP address (trusted)
	uacIP        = "127.0.0.3" // the SIPp UAC's and the probe's address (trusted)
	browserUser  = "alice"
	browserPass  = "alice-soak"
)

// proc is a child process; done is closed when it has exited.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func startProc(name string, logFile string, bin string, args ...string) (*proc, error) {
	f, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { // owner: p; ends with the process; stop waits for it
		p.err = cmd.Wait()
		_ = f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// renice sets the process's nice value (negative: more CPU priority; it
// needs root). SIPp's scenarios abort a call on a message they do not
// expect next, and RFC 3261 retransmissions (an INVITE retransmitted while
// the 200 waits for its ACK) bring exactly that when SIPp is starved of CPU
// by other work on a shared machine: the soak would count SIPp's failures
// as sipedge's. A failure prints a note and the soak goes on.
func (p *proc) renice(nice int) {
	if nice == 0 {
		return
	}
	if err := syscall.Setpriority(syscall.PRIO_PROCESS, p.pid(), nice); err != nil {
		fmt.Printf("soak: %s: nice %d not set (%v); it runs at the default priority\n", p.name, nice, err)
	}
}

// stop sends SIGTERM, then SIGKILL after 5s, and waits.
func (p *proc) stop() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// env is everything the load runs against.
type env struct {
	work     string
	rtpe     *proc
	ng       *rtpengine.Client
	echo     *rtpecho.UA
	uas      *proc
	sipedge  *proc
	certPool *x509.CertPool

	ngAddr   string // udp:127.0.0.1:P
	gwUDP    string // UDP and TCP SIP listener host:port
	wsURL    string
	wssURL   string
	admin    string // host:port
	uasPort  int
	uacPort  int
	wsUsers  []string // user names r0, r1, ... (password = name + "-pw")
	sippStat string   // the UAC's -trace_stat file
	last     sample   // the previous sample, for the CPU share
	// http reads the admin endpoint with a new connection per request, so
	// that no idle connection of ours shows in sipedge's open files.
	http *http.Client
}

// startEnv starts rtpengine, rtpecho, the SIPp UAS and sipedge, and waits
// (bounded) until each is ready. On error, env.close still cleans up.
func startEnv(ctx context.Context, work, bin string, o options) (*env, error) {
	e := &env{work: work, http: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
	ports, err := freePorts(7)
	if err != nil {
		return e, err
	}
	ngPort, gwPort, wsPort, wssPort, adminPort := ports[0], ports[1], ports[2], ports[3], ports[4]
	e.uasPort, e.uacPort = ports[5], ports[6]
	e.ngAddr = fmt.Sprintf("udp:127.0.0.1:%d", ngPort)
	e.gwUDP = fmt.Sprintf("127.0.0.1:%d", gwPort)
	e.wsURL = fmt.Sprintf("ws://127.0.0.1:%d/ws", wsPort)
	e.wssURL = fmt.Sprintf("wss://127.0.0.1:%d/ws", wssPort)
	e.admin = fmt.Sprintf("127.0.0.1:%d", adminPort)
	e.sippStat = filepath.Join(work, "uac-stats.csv")

	for _, tool := range []string{sippBin, rtpengineBin} {
		if _, err := os.Stat(tool); err != nil {
			return e, fmt.Errorf("%s is required (scripts/install-deps.sh): %w", tool, err)
		}
	}
	base := 20000 + mrand.IntN(390)*100 // 1000 media ports within 20000..59999
	e.rtpe, err = startProc("rtpengine", filepath.Join(work, "rtpengine.log"), rtpengineBin,
		"--config-file=none", "--table=-1", "--interface=127.0.0.1",
		fmt.Sprintf("--listen-ng=127.0.0.1:%d", ngPort),
		"--foreground", "--log-stderr", "--log-level=4",
		fmt.Sprintf("--port-min=%d", base), fmt.Sprintf("--port-max=%d", base+999),
		"--delete-delay=0", "--num-threads=2")
	if err != nil {
		return e, err
	}
	e.ng, err = rtpengine.New(rtpengine.Config{Nodes: []rtpengine.Node{{Address: e.ngAddr}}, Timeout: 2 * time.Second}, nil)
	if err != nil {
		return e, err
	}
	if err := until(ctx, 10*time.Second, func() bool {
		pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		_, err := e.ng.Ping(pctx, "")
		return err == nil
	}); err != nil {
		return e, fmt.Errorf("rtpengine did not answer a ping: %w", err)
	}

	e.echo, err = rtpecho.Start(rtpecho.Config{Addr: echoIP + ":0", User: "echo"})
	if err != nil {
		return e, err
	}

	e.uas, err = startProc("sipp uas", filepath.Join(work, "uas.log"), sippBin,
		"-sf", filepath.Join(scenarioDir(), "uas_call.xml"), "-i", "127.0.0.1", "-p", fmt.Sprint(e.uasPort),
		"-t", "u1", "-nostdin", "-trace_err", "-error_file", filepath.Join(work, "uas-errors.log"))
	if err != nil {
		return e, err
	}
	e.uas.renice(o.sippNice)

	certFile, keyFile, pool, err := writeCert(work)
	if err != nil {
		return e, err
	}
	e.certPool = pool
	cfgPath := filepath.Join(work, "sipedge.yaml")
	if err := os.WriteFile(cfgPath, e.config(gwPort, wsPort, wssPort, certFile, keyFile, o), 0o600); err != nil {
		return e, err
	}
	logPath := filepath.Join(work, "sipedge.log")
	e.sipedge, err = startProc("sipedge", logPath, bin, "serve", "--config", cfgPath)
	if err != nil {
		return e, err
	}
	if err := until(ctx, 10*time.Second, func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Count(string(b), `msg=listening`) >= 4 && strings.Contains(string(b), "admin listening")
	}); err != nil {
		b, _ := os.ReadFile(logPath)
		return e, fmt.Errorf("sipedge did not announce its listeners: %w\n%s", err, b)
	}
	if err := until(ctx, 10*time.Second, func() bool { return udpBound(e.uasPort) }); err != nil {
		return e, fmt.Errorf("sipp uas not listening: %w", err)
	}
	return e, nil
}

// config renders sipedge's configuration.
func (e *env) config(gwPort, wsPort, wssPort int, cert, key string, o options) []byte {
	users := map[string]any{browserUser: map[string]string{"password": browserPass}}
	for i := range o.wsClients {
		name := fmt.Sprintf("r%d", i)
		e.wsUsers = append(e.wsUsers, name)
		users[name] = map[string]string{"password": name + "-pw"}
	}
	doc := map[string]any{
		"listen": []string{
			fmt.Sprintf("udp://127.0.0.1:%d", gwPort), fmt.Sprintf("tcp://127.0.0.1:%d", gwPort),
			fmt.Sprintf("ws://127.0.0.1:%d/ws", wsPort), fmt.Sprintf("wss://127.0.0.1:%d/ws", wssPort),
		},
		"domains": []string{"example.test"},
		"users":   users,
		"trusted": []string{echoIP + "/32", uacIP + "/32"},
		"routes": []map[string]any{
			{"match": map[string]string{"user": "^" + echoNumber + "$"}, "to": []string{"sip:" + e.echo.Addr() + ";transport=udp"}},
			{"match": map[string]string{"user": "^" + udpPrefix}, "to": []string{fmt.Sprintf("sip:127.0.0.1:%d", e.uasPort)}},
		},
		"tls":       map[string]string{"cert": cert, "key": key},
		"auth":      map[string]any{"algorithms": []string{"MD5"}},
		"rtpengine": map[string]any{"nodes": []string{e.ngAddr}},
		"admin":     map[string]string{"listen": e.admin},
		"log":       map[string]string{"level": "info", "format": "text"},
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return out
}

// startUAC starts the SIPp UAC: rate calls/s of hold each, total calls in
// all, statistics every second.
func (e *env) startUAC(rate int, hold time.Duration, total, nice int) (*proc, error) {
	p, err := startProc("sipp uac", filepath.Join(e.work, "uac.log"), sippBin,
		"-sf", filepath.Join(scenarioDir(), "uac_call.xml"), "-i", uacIP, "-p", fmt.Sprint(e.uacPort), "-t", "u1",
		"-s", udpPrefix+"1234", "-r", fmt.Sprint(rate), "-d", fmt.Sprint(hold.Milliseconds()), "-m", fmt.Sprint(total),
		"-nostdin", "-trace_stat", "-fd", "1", "-stf", e.sippStat,
		"-trace_err", "-error_file", filepath.Join(e.work, "uac-errors.log"), e.gwUDP)
	if err != nil {
		return nil, err
	}
	p.renice(nice)
	return p, nil
}

// close stops everything that was started, in reverse order.
func (e *env) close() {
	e.sipedge.stop()
	e.uas.stop()
	if e.echo != nil {
		_ = e.echo.Close()
	}
	if e.ng != nil {
		_ = e.ng.Close()
	}
	e.rtpe.stop()
}

// scenarioDir is test/testdata/sipp, found from the working directory
// (the repository root under make, or test/soak).
func scenarioDir() string {
	for _, d := range []string{"test/testdata/sipp", "../testdata/sipp", "testdata/sipp"} {
		if _, err := os.Stat(filepath.Join(d, "uac_call.xml")); err == nil {
			abs, _ := filepath.Abs(d)
			return abs
		}
	}
	return "test/testdata/sipp"
}

// until polls cond every 20ms until it holds, ctx ends or within passes.
func until(ctx context.Context, within time.Duration, cond func() bool) error {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// udpBound reports whether something is bound to 127.0.0.1:port (UDP).
func udpBound(port int) bool {
	c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return true
	}
	_ = c.Close()
	return false
}

// freePorts returns n distinct ports free for both UDP and TCP on
// 127.0.0.1 at the time of the call.
func freePorts(n int) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for tries := 0; len(out) < n; tries++ {
		if tries > 50*n {
			return nil, errors.New("no free ports")
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		_ = l.Close()
		if err != nil || seen[port] {
			continue
		}
		_ = u.Close()
		seen[port] = true
		out = append(out, port)
	}
	return out, nil
}

// writeCert writes a self-signed certificate for 127.0.0.1 and returns
// the files and a pool that trusts it.
func writeCert(dir string) (certFile, keyFile string, pool *x509.CertPool, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sipedge soak"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(48 * time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", "", nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", nil, err
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return "", "", nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return "", "", nil, err
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool, nil
}

// lastCSVRow returns the last complete row of a SIPp -trace_stat file
// keyed by column name (nil if there is none yet).
func lastCSVRow(path string) map[string]string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var head, last []string
	for sc.Scan() {
		cols := strings.Split(strings.TrimRight(sc.Text(), ";"), ";")
		if head == nil {
			head = cols
			continue
		}
		if len(cols) >= len(head) {
			last = cols
		}
	}
	if last == nil {
		return nil
	}
	row := make(map[string]string, len(head))
	for i, h := range head {
		row[h] = last[i]
	}
	return row
}
