package test

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/cluster"
	"github.com/sipedge/sipedge/gateway/registrar"
)

// redisServer is a real Debian redis-server on a loopback port, without
// persistence (a restart comes back empty).
type redisServer struct {
	port int
	cmd  *exec.Cmd
}

func startRedis(t *testing.T, port int) *redisServer {
	t.Helper()
	if port == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
	}
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatalf("redis-server (make deps installs it): %v", err)
	}
	r := &redisServer{port: port, cmd: cmd}
	t.Cleanup(r.kill)
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", r.addr(), 100*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return r
		}
		if time.Now().After(end) {
			t.Fatalf("redis-server did not listen on %s", r.addr())
		}
	}
}

func (r *redisServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

func (r *redisServer) kill() {
	if r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
}

func clusterNode(t *testing.T, redisAddr, name string) *cluster.Store {
	t.Helper()
	cfg := cluster.Config{Node: name, Redis: "redis://" + redisAddr, Address: "sip:127.0.0.1:5060", Heartbeat: 100 * time.Millisecond}
	cfg.SetDefaults()
	cfg.CacheTTL = time.Millisecond
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := cluster.NewStore(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestClusterStoreRealRedis runs the shared location store of two nodes
// on a real redis-server: shared reads, Redis killed (each node serves
// its own, nobody waits), Redis back empty (each node's bindings are
// published again, the binding set is whole).
func TestClusterStoreRealRedis(t *testing.T) {
	r := startRedis(t, 0)
	a, b := clusterNode(t, r.addr(), "a"), clusterNode(t, r.addr(), "b")
	reg := func(s *cluster.Store, aor, contact string) {
		t.Helper()
		bd := registrar.Binding{AOR: aor, Q: 1, Expires: time.Now().Add(time.Minute), Registered: time.Now(),
			CallID: contact, CSeq: 1, Source: registrar.Source{Addr: "127.0.0.1:5999", Transport: "wss", FlowID: contact}}
		if err := sip.ParseUri(contact, &bd.Contact); err != nil {
			t.Fatal(err)
		}
		if err := s.Update(aor, func(cur []registrar.Binding) ([]registrar.Binding, error) {
			return append(append([]registrar.Binding(nil), cur...), bd), nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	nodes := func(s *cluster.Store, aor string) map[string]string {
		m := map[string]string{}
		for _, bd := range s.Get(aor) {
			m[bd.Contact.Host] = bd.Node
		}
		return m
	}
	reg(a, "alice@example.test", "sip:alice@a1.invalid;transport=ws")
	reg(b, "alice@example.test", "sip:alice@b1.invalid;transport=ws")
	want := "map[a1.invalid:a b1.invalid:b]"
	if got := fmt.Sprint(nodes(b, "alice@example.test")); got != want {
		t.Fatalf("node b sees %s, want %s", got, want)
	}

	r.kill()
	start := time.Now()
	reg(a, "alice@example.test", "sip:alice@a2.invalid;transport=ws")
	reg(b, "bob@example.test", "sip:bob@b2.invalid;transport=ws")
	if got := fmt.Sprint(nodes(b, "bob@example.test")); got != "map[b2.invalid:b]" {
		t.Fatalf("node b serves %s for bob with Redis down", got)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("store calls with Redis down took %s", d)
	}

	startRedis(t, r.port) // back, empty
	want = "map[a1.invalid:a a2.invalid:a b1.invalid:b]"
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got, bob := fmt.Sprint(nodes(b, "alice@example.test")), fmt.Sprint(nodes(a, "bob@example.test"))
		if got == want && bob == "map[b2.invalid:b]" {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("after Redis came back: node b sees alice %s (want %s), node a sees bob %s", got, want, bob)
		}
	}
	if st := a.Stats(); st.Down || st.Pending != 0 || st.Failures == 0 {
		t.Fatalf("node a stats %+v: want up, nothing pending, the failures counted", st)
	}
}
