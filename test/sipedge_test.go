package test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// proxyConfig is the part of sipedge's configuration file the tests vary.
// Zero fields are left out of the file (sipedge's defaults apply), except
// the listeners, which default to UDP and TCP on 127.0.0.1:0.
type proxyConfig struct {
	Listen        []string
	Domains       []string
	Users         map[string]string // name -> password
	Trusted       []string
	Routes        []proxyRoute
	TLSCert       string
	TLSKey        string
	TLS           map[string]any // the tls: section as written (replaces TLSCert/TLSKey)
	Ban           map[string]any // the ban: section as written (max_requests, scanners_off, ...)
	Algorithms    []string
	NonceTTL      time.Duration
	InviteTimeout time.Duration
	LogLevel      string         // log.level; default debug
	WS            map[string]any // the ws: section as written (origins, read_limit, ...)
	NAT           map[string]any // the nat: section as written (keepalive)
	RTPEngine     map[string]any // the rtpengine: section as written (nodes, timeout)
	Media         map[string]any // the media: section as written (dtmf, ...)
	Runtime       map[string]any // the runtime: section as written (memory_limit_mb, gc_percent)
	Registrar     map[string]any // the registrar: section as written (flow_grace, ...)
	TCP           map[string]any // the tcp: section as written (max_connections, ...)
	Cluster       map[string]any // the cluster: section as written (node, redis, address, ...)
	// Extra holds further top-level keys as written (sets, fr_timer,
	// routes with keys proxyRoute lacks): each replaces what the other
	// fields wrote under that key.
	Extra map[string]any
	Admin map[string]any // the admin: section as written (listen, token)
	HEP   map[string]any // the hep: section as written (address, transport, ...)
	CDR   map[string]any // the cdr: section as written (file, webhook, ...)
	// FileLimit, if set, is the process's RLIMIT_NOFILE {soft, hard}, set
	// by the shell that starts it (soft must be <= hard).
	FileLimit [2]int
}

// proxyRoute is one entry of routes: a Request-URI user regex (empty: all)
// and the next hops in failover order.
type proxyRoute struct {
	User string
	To   []string
}

// yaml renders c as a sipedge configuration file.
func (c proxyConfig) yaml(t testing.TB) []byte {
	t.Helper()
	doc := map[string]any{
		"listen":  c.Listen,
		"domains": c.Domains,
		"log":     map[string]any{"level": "debug", "format": "text"},
	}
	if c.LogLevel != "" {
		doc["log"] = map[string]any{"level": c.LogLevel, "format": "text"}
	}
	if len(c.Listen) == 0 {
		doc["listen"] = []string{"udp://127.0.0.1:0", "tcp://127.0.0.1:0"}
	}
	if len(c.Domains) == 0 {
		doc["domains"] = []string{"example.test"}
	}
	if len(c.Users) > 0 {
		users := map[string]any{}
		for name, pw := range c.Users {
			users[name] = map[string]string{"password": pw}
		}
		doc["users"] = users
	}
	if len(c.Trusted) > 0 {
		doc["trusted"] = c.Trusted
	}
	var routes []map[string]any
	for _, r := range c.Routes {
		m := map[string]any{"to": r.To}
		if r.User != "" {
			m["match"] = map[string]string{"user": r.User}
		}
		routes = append(routes, m)
	}
	if len(routes) > 0 {
		doc["routes"] = routes
	}
	if c.TLSCert != "" {
		doc["tls"] = map[string]string{"cert": c.TLSCert, "key": c.TLSKey}
	}
	if len(c.TLS) > 0 {
		doc["tls"] = c.TLS
	}
	if len(c.Ban) > 0 {
		doc["ban"] = c.Ban
	}
	auth := map[string]any{}
	if len(c.Algorithms) > 0 {
		auth["algorithms"] = c.Algorithms
	}
	if c.NonceTTL > 0 {
		auth["nonce_ttl"] = c.NonceTTL.String()
	}
	if len(auth) > 0 {
		doc["auth"] = auth
	}
	if c.InviteTimeout > 0 {
		doc["invite_timeout"] = c.InviteTimeout.String()
	}
	if c.Cluster != nil {
		doc["cluster"] = c.Cluster
	}
	if len(c.WS) > 0 {
		doc["ws"] = c.WS
	}
	if len(c.NAT) > 0 {
		doc["nat"] = c.NAT
	}
	if len(c.Runtime) > 0 {
		doc["runtime"] = c.Runtime
	}
	if len(c.Registrar) > 0 {
		doc["registrar"] = c.Registrar
	}
	if len(c.RTPEngine) > 0 {
		doc["rtpengine"] = c.RTPEngine
	}
	if len(c.TCP) > 0 {
		doc["tcp"] = c.TCP
	}
	if len(c.Media) > 0 {
		doc["media"] = c.Media
	}
	if len(c.Admin) > 0 {
		doc["admin"] = c.Admin
	}
	if len(c.HEP) > 0 {
		doc["hep"] = c.HEP
	}
	if len(c.CDR) > 0 {
		doc["cdr"] = c.CDR
	}
	for k, v := range c.Extra {
		doc[k] = v
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatalf("marshal config: %v", err)
	}
	return out
}

// sipedgeProc is a running sipedge process.
type sipedgeProc struct {
	// Addrs maps a transport ("udp", "tcp", "tls") to the bound host:port.
	Addrs map[string]string
	// Path is the configuration file it was started with.
	Path string
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  bytes.Buffer
	done chan struct{} // closed when stderr is drained and the process waited
	err  error         // exit status, valid after done
}

// listeningRE picks the fields we need out of a slog text line; other
// attributes and their order do not matter.
var listeningRE = regexp.MustCompile(`(?:^|\s)(msg|transport|addr)=("(?:[^"\\]|\\.)*"|\S+)`)

// parseListening returns transport and address from a slog text line
// announcing a listener, or ok=false for any other line.
func parseListening(line string) (transport, addr string, ok bool) {
	var msg string
	for _, m := range listeningRE.FindAllStringSubmatch(line, -1) {
		v := m[2]
		if strings.HasPrefix(v, `"`) {
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			}
		}
		switch m[1] {
		case "msg":
			msg = v
		case "transport":
			transport = strings.ToLower(v)
		case "addr":
			addr = v
		}
	}
	return transport, addr, msg == "listening" && transport != "" && addr != ""
}

// startSipedge writes cfg to a file in t.TempDir, starts sipedge serve on
// it and returns once every listener has announced its address. The
// process is stopped (SIGTERM, then SIGKILL) when the test ends; its log is
// printed if the test failed.
func startSipedge(t testing.TB, cfg proxyConfig) *sipedgeProc {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "sipedge.yaml")
	body := cfg.yaml(t)
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	want := len(cfg.Listen)
	if want == 0 {
		want = 2
	}
	cmd := exec.Command(sipedgeBin, "serve", "--config", path)
	if l := cfg.FileLimit; l != [2]int{} {
		// Soft first: the hard limit cannot go below the current soft one.
		cmd = exec.Command("/bin/sh", "-c", fmt.Sprintf(`ulimit -S -n %d && ulimit -H -n %d && exec "$0" "$@"`, l[0], l[1]),
			sipedgeBin, "serve", "--config", path)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sipedge: %v", err)
	}
	p := &sipedgeProc{Addrs: map[string]string{}, Path: path, cmd: cmd, done: make(chan struct{})}
	ready := make(chan struct{})
	go func() { // owner: p; stops at stderr EOF (process exit); waited via p.done
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		announced := false
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			if tr, addr, ok := parseListening(line); ok && !announced {
				p.Addrs[tr] = addr
				if len(p.Addrs) >= want {
					announced = true
					close(ready)
				}
			}
			p.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, stderr)
		p.err = cmd.Wait()
	}()
	t.Cleanup(func() { p.stop(t) })

	select {
	case <-ready:
	case <-p.done:
		t.Fatalf("sipedge exited before listening (%v); config:\n%s\nlog:\n%s", p.err, body, p.Log())
	case <-time.After(10 * time.Second):
		t.Fatalf("sipedge did not announce %d listeners in 10s; config:\n%s\nlog:\n%s", want, body, p.Log())
	}
	t.Logf("sipedge listening on %v", p.Addrs)
	return p
}

// Log returns what sipedge wrote to stderr so far.
func (p *sipedgeProc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Addr returns the address of the listener for transport or fails the test.
func (p *sipedgeProc) Addr(t testing.TB, transport string) string {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.Addrs[transport]
	if !ok {
		t.Fatalf("sipedge has no %s listener (have %v)", transport, p.Addrs)
	}
	return a
}

func (p *sipedgeProc) stop(t testing.TB) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("sipedge did not stop within 5s of SIGTERM")
	}
	if t.Failed() {
		t.Logf("sipedge log:\n%s", p.Log())
	}
}

// withTimeout returns a context bounded by d and by the test's deadline.
func withTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
