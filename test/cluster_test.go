package test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/rtpecho"
	"github.com/sipedge/sipedge/test/wsua"
)

// freeUDPPort returns a UDP port free on ip at the time of the call.
func freeUDPPort(t *testing.T, ip string) int {
	t.Helper()
	c, err := net.ListenPacket("udp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// TestClusterReachesTheEdge: two sipedge binaries share registrations on
// a real redis-server. A browser (pion peer over WSS) registers on node A;
// a classic phone (rtpecho) calls it through node B: B finds the binding
// A holds the connection of and hands the INVITE to A, which sends it
// down the WebSocket with media through rtpengine, both ways; BYE from
// either side. Node A killed: calls through B get 480 within the
// heartbeat bound, never a hang; the browser reconnects to B and is
// reachable again.
// clusterSet is two sipedge binaries (a with WSS on 127.0.0.1, b with
// WSS on 127.0.0.1 and UDP on 127.0.0.3) sharing one real redis-server
// and one real rtpengine, and rtpecho, a classic phone trusted by b.
type clusterSet struct {
	redis     *redisServer
	a, b      *sipedgeProc
	m         *mediaGW // browser on a, calls placed through b
	heartbeat time.Duration
}

func startCluster(t *testing.T) *clusterSet {
	t.Helper()
	redis := startRedis(t, 0)
	rtpe := startRTPEngine(t)
	echo, err := rtpecho.Start(rtpecho.Config{Addr: mgwEchoIP + ":0", User: "echo"})
	if err != nil {
		t.Fatalf("rtpecho: %v", err)
	}
	t.Cleanup(func() { _ = echo.Close() })
	certFile, keyFile, pool := writeTestCert(t, t.TempDir())

	const ipA, ipB = "127.0.0.1", "127.0.0.3"
	portA, portB := freeUDPPort(t, ipA), freeUDPPort(t, ipB)
	heartbeat := 200 * time.Millisecond
	node := func(name, ip string, port int, trusted string) *sipedgeProc {
		return startSipedge(t, proxyConfig{
			Listen:     []string{fmt.Sprintf("udp://%s:%d", ip, port), "wss://127.0.0.1:0/ws"},
			Users:      map[string]string{mgwUser: mgwPassword},
			Trusted:    []string{trusted},
			TLSCert:    certFile,
			TLSKey:     keyFile,
			Algorithms: []string{"MD5"},
			RTPEngine:  map[string]any{"nodes": []string{rtpe.NG}, "timeout": "1s"},
			Cluster: map[string]any{"node": name, "redis": "redis://" + redis.addr(),
				"address": fmt.Sprintf("sip:%s:%d", ip, port), "heartbeat": heartbeat.String()},
		})
	}
	// A trusts B (it hands over calls it took); B trusts the phone.
	a := node("a", ipA, portA, ipB+"/32")
	b := node("b", ipB, portB, mgwEchoIP+"/32")
	m := &mediaGW{rtpe: rtpe, ng: newNGClient(t, rtpe), gw: a, echo: echo, pool: pool,
		wssURL: "wss://" + a.Addr(t, "wss") + "/ws", gwUDP: b.Addr(t, "udp")}
	return &clusterSet{redis: redis, a: a, b: b, m: m, heartbeat: heartbeat}
}

// on returns a copy of c.m whose browsers connect to node p.
func (c *clusterSet) on(t *testing.T, p *sipedgeProc) *mediaGW {
	mm := *c.m
	mm.gw, mm.wssURL = p, "wss://"+p.Addr(t, "wss")+"/ws"
	return &mm
}

func TestClusterReachesTheEdge(t *testing.T) {
	c := startCluster(t)
	m, a, b, heartbeat, echo := c.m, c.a, c.b, c.heartbeat, c.m.echo
	for _, hangup := range []string{"classic", "browser"} {
		t.Run("call via b, "+hangup+" hangs up", func(t *testing.T) {
			ctx := withTimeout(t, 20*time.Second)
			br := m.newBrowser(ctx, t, browserOptions{})
			ec, wc := m.echoCallsBrowser(ctx, t, br)
			echoExchange(ctx, t, "call", br.peer, ec.Media, mgwPackets)
			m.expectSession(ctx, t, ec.CallID)
			hangUp(ctx, t, hangup, wc, ec, m.echo.Addr())
			m.waitSessionGone(ctx, t, ec.CallID)
			_ = br.ua.Close()
		})
	}
	// SIPp, the classic UAC every operator has, calls the browser through
	// b; it echoes the browser's RTP (-rtp_echo), so each packet the
	// browser gets back crossed rtpengine both ways: DTLS-SRTP to plain
	// RTP toward SIPp on a's anchor, and back. SIPp sends everything,
	// responses to the browser's BYE too, to the node it called: b stays
	// in the dialog (record-routes) though a anchors the media.
	for _, tc := range []struct{ hangup, scenario string }{
		{"sipp", "uac_call_aor.xml"}, {"browser", "uac_call_aor_bye_in.xml"},
	} {
		t.Run("sipp calls via b, "+tc.hangup+" hangs up", func(t *testing.T) {
			ctx := withTimeout(t, 30*time.Second)
			br := m.newBrowser(ctx, t, browserOptions{})
			mediaPort := freeUDPPort(t, mgwEchoIP)
			sp := startSIPp(t, sippRun{Name: "uac-" + tc.hangup, Scenario: tc.scenario, IP: mgwEchoIP,
				Port: freeUDPPort(t, mgwEchoIP), Remote: m.gwUDP, Service: mgwUser, Timeout: 20 * time.Second,
				Args: []string{"-rtp_echo", "-mi", mgwEchoIP, "-mp", fmt.Sprint(mediaPort), "-d", "4000", "-trace_msg"}})
			t.Cleanup(func() { // SIPp's message trace, when the call went wrong
				if files, _ := filepath.Glob(filepath.Join(sp.Dir, "*messages*")); t.Failed() {
					for _, f := range files {
						data, _ := os.ReadFile(f)
						t.Logf("%s:\n%s", filepath.Base(f), data)
					}
				}
			})
			wc, err := br.ua.WaitCall(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := wc.WaitAck(ctx); err != nil {
				t.Fatal(err)
			}
			if err := br.peer.WaitConnected(ctx); err != nil {
				t.Fatalf("ICE+DTLS with rtpengine: %v", err)
			}
			m.expectSession(ctx, t, wc.CallID)
			before := br.peer.Stats()
			if err := br.peer.Send(ctx, mgwPackets); err != nil {
				t.Fatal(err)
			}
			want := mgwPackets * mediaMinPct / 100
			for end := time.Now().Add(time.Second); br.peer.Stats().Echoed-before.Echoed < mgwPackets && time.Now().Before(end); {
				pause(10 * time.Millisecond)
			}
			echoed := br.peer.Stats().Echoed - before.Echoed
			t.Logf("browser sent %d, got %d back from SIPp's echo", mgwPackets, echoed)
			if echoed < want {
				t.Errorf("browser got %d of its %d packets back through SIPp, want >= %d", echoed, mgwPackets, want)
			}
			if tc.hangup == "browser" {
				if err := wc.Bye(ctx); err != nil {
					t.Fatalf("browser BYE: %v", err)
				}
			} else if reason, err := wc.WaitEnded(ctx); err != nil || reason != wsua.EndByeReceived {
				t.Fatalf("browser after SIPp's BYE: reason %q, err %v", reason, err)
			}
			if r := sp.Wait(t); r.Code != 0 || r.Successful != 1 {
				t.Fatalf("sipp: exit %d, %d successful, %d failed\n%s", r.Code, r.Successful, r.Failed, r.Errors)
			}
			m.waitSessionGone(ctx, t, wc.CallID)
			_ = br.ua.Close()
		})
	}
	if !strings.Contains(b.Log(), "cluster node") || !strings.Contains(a.Log(), "cluster node") {
		t.Fatalf("a node did not log its cluster membership")
	}

	t.Run("node a killed", func(t *testing.T) {
		ctx := withTimeout(t, 20*time.Second)
		m.newBrowser(ctx, t, browserOptions{}) // registered on a, then a dies
		_ = a.cmd.Process.Kill()
		<-a.done
		// The binding lives on in Redis until it expires; a's heartbeat
		// lapses after 3 beats, and b stops handing calls to it.
		bound := 3*heartbeat + heartbeat // lapse + b's cached read of it
		time.Sleep(bound)
		start := time.Now()
		_, err := echo.Call(ctx, rtpecho.CallParams{To: "sip:" + mgwUser + "@example.test", Proxy: m.gwUDP})
		if err == nil || !strings.Contains(err.Error(), "480") {
			t.Fatalf("call to alice via b with a dead: err %v, want 480", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("480 took %s", d)
		}

		// The browser reconnects, to b this time, and takes calls again.
		mb := c.on(t, b)
		br := mb.newBrowser(ctx, t, browserOptions{})
		ec, wc := mb.echoCallsBrowser(ctx, t, br)
		echoExchange(ctx, t, "call after the move", br.peer, ec.Media, mgwPackets)
		hangUp(ctx, t, "browser", wc, ec, m.echo.Addr())
	})
}

// TestClusterNonceAcrossNodes: behind a load balancer a REGISTER
// challenged by node A is answered to node B, which accepts it (one nonce
// key for the cluster, from Redis); the same credentials replayed to A are
// refused (nonce-counts are checked cluster-wide), a higher count is fine,
// and the binding B wrote is the one A answers with.
func TestClusterNonceAcrossNodes(t *testing.T) {
	redis := startRedis(t, 0)
	node := func(name, ip string) *sipedgeProc {
		port := freeUDPPort(t, ip)
		return startSipedge(t, proxyConfig{
			Listen:     []string{fmt.Sprintf("udp://%s:%d", ip, port)},
			Users:      map[string]string{"alice": "alice-pw"},
			Algorithms: []string{"MD5"},
			Cluster: map[string]any{"node": name, "redis": "redis://" + redis.addr(),
				"address": fmt.Sprintf("sip:%s:%d", ip, port)},
		})
	}
	a, b := node("a", "127.0.0.1"), node("b", "127.0.0.3")
	toA, toB := newUDPClient(t, a.Addr(t, "udp")), newUDPClient(t, b.Addr(t, "udp"))
	contact := fmt.Sprintf("sip:alice@%s", toB.local)

	res := toA.register(t, "alice", contact, "")
	if res.StatusCode != 401 {
		t.Fatalf("A: REGISTER without credentials: %d, want 401", res.StatusCode)
	}
	ch := challenge(t, res, "MD5")
	cred := authorize(t, ch, "alice", "alice-pw", 1)
	if res := toB.register(t, "alice", contact, cred); res.StatusCode != 200 {
		t.Fatalf("B: REGISTER answering A's challenge: %d %s, want 200", res.StatusCode, res.Reason)
	}
	if res := toA.register(t, "alice", contact, cred); res.StatusCode == 200 {
		t.Fatal("A accepted credentials already used at B (nonce-count replay)")
	}
	res = toA.register(t, "alice", contact, authorize(t, ch, "alice", "alice-pw", 2))
	if res.StatusCode != 200 {
		t.Fatalf("A: nc=2: %d %s, want 200", res.StatusCode, res.Reason)
	}
	if cs := res.GetHeaders("Contact"); len(cs) != 1 || !strings.Contains(cs[0].Value(), toB.local.String()) {
		t.Fatalf("A's 200 lists %v, want the one binding written through B", cs)
	}
}

// TestClusterRedisDown: Redis killed mid-test. Calls through b keep
// reaching a browser registered on a, from what each node holds; a new
// browser registering on b is answered 200 from local state; Redis back
// (empty) → each node's binding is in Redis again.
func TestClusterRedisDown(t *testing.T) {
	c := startCluster(t)
	ctx := withTimeout(t, 40*time.Second)
	call := func(what string) {
		t.Helper()
		br := c.m.newBrowser(ctx, t, browserOptions{}) // a fresh peer per call, on a
		ec, wc := c.m.echoCallsBrowser(ctx, t, br)
		echoExchange(ctx, t, what, br.peer, ec.Media, mgwPackets)
		hangUp(ctx, t, "classic", wc, ec, c.m.echo.Addr())
		_ = br.ua.Close() // its binding goes with the flow
	}
	call("before") // b reads alice's binding and a's heartbeat

	c.redis.kill()
	call("redis down")
	c.m.newBrowser(ctx, t, browserOptions{})          // registered on a while Redis is down
	c.on(t, c.b).newBrowser(ctx, t, browserOptions{}) // 200 from b's local state

	startRedis(t, c.redis.port) // back, empty
	key := "sipedge:aor:" + mgwUser + "@example.test"
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out, err := exec.Command("redis-cli", "-p", fmt.Sprint(c.redis.port), "HGET", key, "b").Output()
		if err == nil && strings.Count(string(out), `"node":"a"`) == 1 && strings.Count(string(out), `"node":"b"`) == 1 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("after Redis came back, %s holds %q (err %v): want one binding of each node", key, out, err)
		}
	}
}

// TestClusterBansShared: a scanner banned by node a is dropped by node b
// too within a few heartbeats, though b never saw it misbehave.
func TestClusterBansShared(t *testing.T) {
	redis := startRedis(t, 0)
	node := func(name, ip string) *sipedgeProc {
		port := freeUDPPort(t, ip)
		return startSipedge(t, proxyConfig{
			Listen: []string{fmt.Sprintf("udp://%s:%d", ip, port)},
			Users:  map[string]string{"alice": "alice-pw"},
			Cluster: map[string]any{"node": name, "redis": "redis://" + redis.addr(),
				"address": fmt.Sprintf("sip:%s:%d", ip, port), "heartbeat": "200ms"},
		})
	}
	a, b := node("a", "127.0.0.1"), node("b", "127.0.0.3")
	const scanner = "127.0.0.5"
	conn, err := net.ListenPacket("udp", scanner+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	options := func(to, ua string) bool { // answered?
		t.Helper()
		dst, err := net.ResolveUDPAddr("udp", to)
		if err != nil {
			t.Fatal(err)
		}
		msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\n"+
			"From: <sip:probe@example.test>;tag=%s\r\nTo: <sip:%s>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\n"+
			"Max-Forwards: 70\r\nUser-Agent: %s\r\nContent-Length: 0\r\n\r\n",
			to, conn.LocalAddr(), randHex(6), randHex(4), to, randHex(8), ua)
		if _, err := conn.WriteTo([]byte(msg), dst); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf := make([]byte, 4096)
		n, _, err := conn.ReadFrom(buf)
		return err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 200")
	}
	if !options(b.Addr(t, "udp"), "probe/1") {
		t.Fatal("node b does not answer the source before any ban")
	}
	if options(a.Addr(t, "udp"), "friendly-scanner") {
		t.Fatal("node a answered a scanner")
	}
	for end := time.Now().Add(5 * time.Second); options(b.Addr(t, "udp"), "probe/1"); {
		if time.Now().After(end) {
			t.Fatal("node b still answers 5s after node a banned the source")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(b.Log(), "source banned by another node") {
		t.Errorf("node b did not log the ban it took over:\n%s", b.Log())
	}
}

// TestClusterTrunkOneRegistrant: two nodes configured with the same trunk
// register it from exactly one node at a time (a lease in Redis): the
// SIPp provider sees REGISTERs from one node only; that node killed, the
// other registers within the lease time.
func TestClusterTrunkOneRegistrant(t *testing.T) {
	redis := startRedis(t, 0)
	prov := startSIPp(t, sippRun{Name: "provider", Scenario: "uas_register_loop.xml", Timeout: 60 * time.Second, Calls: 10,
		Args: []string{"-trace_msg"}})
	node := func(name, ip string) *sipedgeProc {
		port := freeUDPPort(t, ip)
		return startSipedge(t, proxyConfig{
			Listen: []string{fmt.Sprintf("udp://%s:%d", ip, port)},
			Cluster: map[string]any{"node": name, "redis": "redis://" + redis.addr(),
				"address": fmt.Sprintf("sip:%s:%d", ip, port), "heartbeat": "200ms"},
			Extra: map[string]any{
				"trunks": map[string]any{"carrier": map[string]any{
					"uris": []string{sipURI(prov.Port, "udp")}, "username": "acct", "password": "pw",
					"register": true, "expires": 60,
				}},
				"trunk_registration": map[string]any{"start_delay": "-1s"},
			},
		})
	}
	a, b := node("a", "127.0.0.1"), node("b", "127.0.0.3")
	registrants := func() map[string]int { // REGISTERs the provider received, by the sending node's address
		t.Helper()
		files, _ := filepath.Glob(filepath.Join(prov.Dir, "*_messages.log"))
		m := map[string]int{}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, msg := range strings.Split(string(data), "REGISTER sip:")[1:] {
				for _, ip := range []string{"127.0.0.1", "127.0.0.3"} {
					if strings.Contains(msg, "Via: SIP/2.0/UDP "+ip+":") {
						m[ip]++
					}
				}
			}
		}
		return m
	}
	time.Sleep(5 * time.Second) // two refreshes or so
	got := registrants()
	if len(got) != 1 {
		t.Fatalf("the provider got REGISTERs from %v, want exactly one node", got)
	}
	var holder, other *sipedgeProc
	var otherIP string
	for ip, n := range got {
		if n < 2 {
			t.Fatalf("%d REGISTERs from %s in 5s, want the registration and its refreshes", n, ip)
		}
		holder, other, otherIP = a, b, "127.0.0.3"
		if ip == "127.0.0.3" {
			holder, other, otherIP = b, a, "127.0.0.1"
		}
	}
	if !strings.Contains(other.Log(), "standby") {
		t.Errorf("the other node does not say it stands by:\n%s", tail(other.Log(), 2000))
	}
	_ = holder.cmd.Process.Kill()
	<-holder.done
	killed := time.Now()
	for registrants()[otherIP] == 0 {
		if time.Since(killed) > 5*time.Second {
			t.Fatalf("no REGISTER from the other node 5s after the holder died (lease time 600ms): %v", registrants())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("the other node registered %v after the holder was killed", time.Since(killed).Round(10*time.Millisecond))
}

// TestClusterSetMaxCallsShared: a least-calls set whose two members take
// 2 calls each counts the calls of both nodes: with 4 calls up through
// node a, a call through node b finds every member full (503); when they
// have ended, b's call goes through.
func TestClusterSetMaxCallsShared(t *testing.T) {
	redis := startRedis(t, 0)
	m1 := memberUAS(t, "m1", "uas_call_options.xml", 0)
	m2 := memberUAS(t, "m2", "uas_call_options.xml", 0)
	set := map[string]any{"algorithm": "least-calls", "members": []any{
		map[string]any{"uri": sipURI(m1.Port, "udp"), "max_calls": 2},
		map[string]any{"uri": sipURI(m2.Port, "udp"), "max_calls": 2},
	}}
	node := func(name, ip string) *sipedgeProc {
		port := freeUDPPort(t, ip)
		c := setConfig(set)
		c.Listen = []string{fmt.Sprintf("udp://%s:%d", ip, port)}
		c.Cluster = map[string]any{"node": name, "redis": "redis://" + redis.addr(),
			"address": fmt.Sprintf("sip:%s:%d", ip, port), "heartbeat": "200ms"}
		return startSipedge(t, c)
	}
	a, b := node("a", "127.0.0.1"), node("b", "127.0.0.3")
	uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call.xml", Remote: a.Addr(t, "udp"), Service: "15551234",
		Calls: 4, Rate: 20, Limit: 4, Timeout: 30 * time.Second, Args: []string{"-d", "6000"}})
	time.Sleep(2500 * time.Millisecond) // the 4 calls are up and the counts exchanged (every second)
	c := newUDPClient(t, b.Addr(t, "udp"))
	if res := c.invite(t, "15551234", "full-"+randHex(4)); res.StatusCode != 503 {
		t.Fatalf("call through b with both members full through a: %d %s, want 503", res.StatusCode, res.Reason)
	}
	uac.expectAllSuccessful(t, 4)
	time.Sleep(2500 * time.Millisecond)
	if res := c.invite(t, "15551234", "free-"+randHex(4)); res.StatusCode != 200 {
		t.Fatalf("call through b after a's calls ended: %d %s, want 200", res.StatusCode, res.Reason)
	}
}
