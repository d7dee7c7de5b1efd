package test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"golang.org/x/sys/unix"
)

// The addresses of the NAT that TestNATMasquerade builds. The public side
// uses a documentation prefix (RFC 5737), the private side RFC 1918; both
// exist only inside network namespaces the test creates.
const (
	natPublicIP  = "198.51.100.2" // sipedge and the caller (the test's namespace)
	natRouterWAN = "198.51.100.1" // the router's public address: what sipedge sees
	natRouterLAN = "10.0.0.1"     // the router's private address: the client's gateway
	natClientIP  = "10.0.0.2"     // the client behind the NAT
	natClientSIP = 5060           // the client's SIP port, as a phone has it
	natPortMin   = 20000          // the router maps sources into natPortMin-natPortMax,
	natPortMax   = 29999          // so the public port always differs from natClientSIP
)

// natRuleset returns the router's nftables configuration: masquerade what
// the private network sends out of the WAN side, with the source port
// mapped into natPortMin-natPortMax, and forward from the WAN only what
// belongs to a connection the LAN opened, as a home router does.
func natRuleset() string {
	return fmt.Sprintf(`table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan0" ip saddr 10.0.0.0/24 meta l4proto { udp, tcp } masquerade to :%d-%d
	}
}
table ip filter {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "lan0" accept
	}
}
`, natPortMin, natPortMax)
}

// unshareNetArgs returns the unshare(1) options that make a new network
// namespace: root may do it directly; anyone else needs a user namespace
// that maps them to root (unshare -rn), which most kernels allow.
func unshareNetArgs() []string {
	if os.Geteuid() == 0 {
		return []string{"--net"}
	}
	return []string{"--user", "--map-root-user", "--net"}
}

// TestNATMasquerade registers a UDP client that sits behind a real NAT: a
// router network namespace masquerades (nftables) the client's private
// network 10.0.0.0/24, mapping its port 5060 to another port. sipedge,
// which has no route to the private network, must see the router's public
// address and port as the REGISTER's source, send a later INVITE there
// (the router's connection tracking carries it back to the client), and
// route the ACK and BYE, addressed to the client's private Contact, the
// same way; the call from SIPp completes.
//
// Three network namespaces, all made by the test and gone with it:
//
//	public (the test binary re-run by inNetns: sipedge, SIPp, 198.51.100.2 on pub0)
//	  | veth pub0 <-> wan0
//	router (198.51.100.1 on wan0, 10.0.0.1 on lan0; ip_forward, masquerade)
//	  | veth lan0 <-> eth0
//	client (10.0.0.2 on eth0, default route via 10.0.0.1; the test's socket)
func TestNATMasquerade(t *testing.T) {
	if !inNetns(t) {
		return
	}
	lab := newNATLab(t)
	gw := startSipedge(t, proxyConfig{
		Listen:     []string{"udp://" + natPublicIP + ":0"},
		Users:      map[string]string{"carol": "carol-secret"},
		Trusted:    []string{"127.0.0.1/32"}, // SIPp, the caller
		Algorithms: []string{"MD5"},
		NAT:        map[string]any{"keepalive": map[string]any{"method": "off"}},
	})
	gwUDP := gw.Addr(t, "udp")
	remote, err := net.ResolveUDPAddr("udp", gwUDP)
	if err != nil {
		t.Fatal(err)
	}

	// The public side cannot reach the private network: whatever reaches
	// the client below went through the NAT.
	if _, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.ParseIP(natClientIP), Port: natClientSIP}); !errors.Is(err, syscall.ENETUNREACH) {
		t.Fatalf("the public namespace reaches %s directly (%v): the test would prove nothing", natClientIP, err)
	}

	local := &net.UDPAddr{IP: net.ParseIP(natClientIP), Port: natClientSIP}
	conn := lab.listenUDP(t, local)
	c := &udpClient{conn: conn, remote: remote, local: local, callID: randHex(8) + "@test", tag: randHex(4)}
	contact := fmt.Sprintf("sip:carol@%s:%d", natClientIP, natClientSIP)

	res := c.register(t, "carol", contact, "")
	if res.StatusCode != 401 {
		t.Fatalf("REGISTER without credentials: %d %s, want 401", res.StatusCode, res.Reason)
	}
	res = c.register(t, "carol", contact, authorize(t, challenge(t, res, "MD5"), "carol", "carol-secret", 1))
	if res.StatusCode != 200 {
		t.Fatalf("REGISTER: %d %s, want 200", res.StatusCode, res.Reason)
	}
	// RFC 3581: received and rport in the answer's Via are the source
	// sipedge saw, which must be the router's mapping, not the Contact.
	via := res.Via()
	if via == nil {
		t.Fatal("200 to REGISTER has no Via")
	}
	received, _ := via.Params.Get("received")
	rport, _ := via.Params.Get("rport")
	port, err := strconv.Atoi(rport)
	if received != natRouterWAN || err != nil || port < natPortMin || port > natPortMax {
		t.Fatalf("sipedge saw the REGISTER from %s:%s, want %s with a port in %d-%d (the masquerade)",
			received, rport, natRouterWAN, natPortMin, natPortMax)
	}
	t.Logf("client %s registered Contact %s; sipedge saw it from %s:%d", local, contact, received, port)
	if cs := res.GetHeaders("Contact"); len(cs) != 1 || !strings.Contains(cs[0].Value(), contact) {
		t.Errorf("200 to REGISTER lists Contact %v, want the one binding %s", cs, contact)
	}

	uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call_aor.xml", Remote: gwUDP, Service: "carol"})
	inv := c.recvRequest(t, sip.INVITE, 10*time.Second)
	if inv.Recipient.Host != natClientIP || inv.Recipient.Port != natClientSIP || inv.Recipient.User != "carol" {
		t.Errorf("INVITE Request-URI %s, want the registered Contact %s", inv.Recipient.String(), contact)
	}
	c.send(t, sipResponse(inv, 200, "OK", randHex(5), contact, natSDP))
	// ACK and BYE are addressed to our private Contact; sipedge must send
	// them to the router's mapping too, or they never arrive.
	c.recvRequest(t, sip.ACK, 10*time.Second)
	bye := c.recvRequest(t, sip.BYE, 10*time.Second)
	c.send(t, sipResponse(bye, 200, "OK", "", "", ""))
	uac.expectAllSuccessful(t, 1)
}

// natSDP is the client's answer: its private address, as a NATed phone
// without STUN writes it (no media flows in this test).
const natSDP = "v=0\r\no=- 1 1 IN IP4 " + natClientIP + "\r\ns=-\r\nc=IN IP4 " + natClientIP +
	"\r\nt=0 0\r\nm=audio 7078 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

// send writes msg from the client's socket to sipedge.
func (c *udpClient) send(t *testing.T, msg string) {
	t.Helper()
	if _, err := c.conn.WriteToUDP([]byte(msg), c.remote); err != nil {
		t.Fatalf("send from %s: %v", c.local, err)
	}
}

// natLab is the router and client namespaces of TestNATMasquerade, wired
// to the test's own (public) namespace.
type natLab struct {
	router *netnsHolder
	client *netnsHolder
}

// newNATLab builds the NAT: it must run inside a namespace of the test's
// own (inNetns), since it adds a veth to it. Every step fails the test
// with the command and its output.
func newNATLab(t *testing.T) *natLab {
	t.Helper()
	for _, tool := range []string{"unshare", "nsenter", "ip", "nft", "sysctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required to build the NAT (packages util-linux, iproute2, nftables, procps; scripts/install-deps.sh): %v", tool, err)
		}
	}
	lab := &natLab{router: newNetnsHolder(t, "router"), client: newNetnsHolder(t, "client")}
	r, c := lab.router, lab.client

	runCmd(t, nil, "ip", "link", "add", "pub0", "type", "veth", "peer", "name", "wan0")
	runCmd(t, nil, "ip", "link", "set", "wan0", "netns", strconv.Itoa(r.pid()))
	runCmd(t, nil, "ip", "addr", "add", natPublicIP+"/24", "dev", "pub0")
	runCmd(t, nil, "ip", "link", "set", "pub0", "up")

	r.run(t, nil, "ip", "link", "set", "lo", "up")
	r.run(t, nil, "ip", "addr", "add", natRouterWAN+"/24", "dev", "wan0")
	r.run(t, nil, "ip", "link", "set", "wan0", "up")
	r.run(t, nil, "ip", "link", "add", "lan0", "type", "veth", "peer", "name", "eth0")
	r.run(t, nil, "ip", "link", "set", "eth0", "netns", strconv.Itoa(c.pid()))
	r.run(t, nil, "ip", "addr", "add", natRouterLAN+"/24", "dev", "lan0")
	r.run(t, nil, "ip", "link", "set", "lan0", "up")
	r.run(t, nil, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	r.run(t, strings.NewReader(natRuleset()), "nft", "-f", "-")

	c.run(t, nil, "ip", "link", "set", "lo", "up")
	c.run(t, nil, "ip", "addr", "add", natClientIP+"/24", "dev", "eth0")
	c.run(t, nil, "ip", "link", "set", "eth0", "up")
	c.run(t, nil, "ip", "route", "add", "default", "via", natRouterLAN)
	return lab
}

// listenUDP opens a UDP socket bound to addr inside the client namespace;
// the test then uses it from its own namespace like any other socket.
func (l *natLab) listenUDP(t *testing.T, addr *net.UDPAddr) *net.UDPConn {
	t.Helper()
	conn, err := listenUDPInNetns(l.client.nsPath(), addr)
	if err != nil {
		t.Fatalf("socket in the client namespace: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// listenUDPInNetns creates a UDP socket in the network namespace at nsPath:
// a socket belongs to the namespace of the thread that made it, so a
// goroutine locks its thread, enters the namespace (setns), listens and
// goes back. A thread that cannot go back is never unlocked, so the Go
// runtime ends it with the goroutine instead of reusing it.
func listenUDPInNetns(nsPath string, addr *net.UDPAddr) (*net.UDPConn, error) {
	type result struct {
		conn *net.UDPConn
		err  error
	}
	done := make(chan result, 1)
	go func() { // owner: listenUDPInNetns, which waits for its one result
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		defer home.Close()
		target, err := os.Open(nsPath)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		defer target.Close()
		if err := setns(target); err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("setns %s: %w", nsPath, err)}
			return
		}
		conn, lerr := net.ListenUDP("udp", addr)
		if err := setns(home); err != nil {
			if conn != nil {
				_ = conn.Close()
			}
			done <- result{err: fmt.Errorf("setns back: %w", err)} // thread stays locked and dies
			return
		}
		runtime.UnlockOSThread()
		done <- result{conn: conn, err: lerr}
	}()
	r := <-done
	return r.conn, r.err
}

// setns moves the calling thread into the network namespace f refers to.
func setns(f *os.File) error {
	return unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
}

// netnsHolder is a process that keeps a new network namespace alive: a
// shell under unshare that says "ready" once inside, then waits on its
// stdin. Closing stdin (or the test process dying) ends it.
type netnsHolder struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{} // closed once the process is waited
}

// newNetnsHolder starts a holder and returns once it is in its new
// namespace; the test's cleanup stops it.
func newNetnsHolder(t *testing.T, name string) *netnsHolder {
	t.Helper()
	args := append(unshareNetArgs(), "--", "sh", "-c", "echo ready && exec cat >/dev/null")
	cmd := exec.Command("unshare", args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the %s namespace (unshare %v): %v", name, args, err)
	}
	h := &netnsHolder{name: name, cmd: cmd, stdin: stdin, done: make(chan struct{})}
	ready := make(chan bool, 1)
	go func() { // owner: h; ends at the holder's exit (stdout EOF); waited via h.done
		defer close(h.done)
		sc := bufio.NewScanner(stdout)
		ready <- sc.Scan() && sc.Text() == "ready"
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
	}()
	t.Cleanup(h.stop)
	select {
	case ok := <-ready:
		if !ok {
			<-h.done
			t.Fatalf("the %s namespace holder (unshare %v) failed: %s", name, args, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the %s namespace holder (unshare %v) was not ready within 5s", name, args)
	}
	return h
}

func (h *netnsHolder) pid() int { return h.cmd.Process.Pid }

// nsPath is the namespace's file, for nsenter and setns.
func (h *netnsHolder) nsPath() string { return fmt.Sprintf("/proc/%d/ns/net", h.pid()) }

// run runs a command inside the namespace (nsenter), failing the test on error.
func (h *netnsHolder) run(t *testing.T, stdin io.Reader, args ...string) {
	t.Helper()
	runCmd(t, stdin, append([]string{"nsenter", "--net=" + h.nsPath(), "--"}, args...)...)
}

// stop closes the holder's stdin and waits for it to end (killing it after 5s).
func (h *netnsHolder) stop() {
	_ = h.stdin.Close()
	select {
	case <-h.done:
	case <-time.After(5 * time.Second):
		_ = h.cmd.Process.Kill()
		<-h.done
	}
}

// runCmd runs args[0] with args[1:] (stdin optional) within 10s, failing
// the test with its output on error.
func runCmd(t *testing.T, stdin io.Reader, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
