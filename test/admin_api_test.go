package test

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"

	"github.com/sipedge/sipedge/rtpengine"
	"github.com/sipedge/sipedge/test/rtpecho"
	"github.com/sipedge/sipedge/test/wsua"
)

const adminToken = "t0ken-for-tests"

// TestAdminToken: a wrong or missing token gets 401 on every endpoint,
// and sipedge ctl shows the server's error text.
func TestAdminToken(t *testing.T) {
	gw := startSipedge(t, proxyConfig{Admin: map[string]any{"listen": "127.0.0.1:0", "token": adminToken}})
	addr := adminAddr(t, gw)
	for _, path := range []string{"/metrics", "/api/v1/registrations", "/api/v1/drain", "/debug/pprof/"} {
		for _, tok := range []string{"", "wrong"} {
			if code, body := adminDo(t, "GET", addr, tok, path); code != 401 || !strings.Contains(string(body), `"error"`) {
				t.Errorf("GET %s with token %q: %d %s, want 401 with a JSON error", path, tok, code, body)
			}
		}
		if code, _ := adminDo(t, "GET", addr, adminToken, path); code != 200 {
			t.Errorf("GET %s with the token: %d, want 200", path, code)
		}
	}
	for _, args := range [][]string{{"--addr", addr, "registrations"}, {"--addr", addr, "--token", "wrong", "drain"}} {
		_, stderr, code := runCtl(t, args...)
		if code != 1 || !strings.Contains(stderr, "unauthorized") || !strings.Contains(stderr, "HTTP 401") {
			t.Errorf("sipedge ctl %v: exit %d, stderr %q; want 1 and the server's 401 text", args, code, stderr)
		}
	}
	if code, _ := adminDo(t, "POST", addr, "wrong", "/api/v1/drain"); code != 401 {
		t.Errorf("POST /api/v1/drain with a wrong token: %d", code)
	}
	if out, stderr, code := runCtl(t, "--addr", addr, "--token", adminToken, "draining"); code != 0 || !strings.Contains(out, "draining:  false") {
		t.Errorf("sipedge ctl draining: exit %d, out %q, err %q", code, out, stderr)
	}
}

// TestAdminCtl exercises every sipedge ctl verb against the real binary,
// a real rtpengine pair, a browser (WSS) and a classic phone (UDP).
func TestAdminCtl(t *testing.T) {
	ctx := withTimeout(t, 90*time.Second)
	rtpeA, rtpeB := startRTPEngine(t), startRTPEngine(t)
	ngs := map[string]*rtpengine.Client{rtpeA.NG: newNGClient(t, rtpeA), rtpeB.NG: newNGClient(t, rtpeB)}
	m := startMediaGW(t, mgwOptions{
		RTPEngine: map[string]any{"nodes": []string{rtpeA.NG, rtpeB.NG}, "timeout": "1s"},
		Admin:     map[string]any{"listen": "127.0.0.1:0", "token": adminToken},
	})
	cfgFile := m.gw.cmd.Args[len(m.gw.cmd.Args)-1]
	conn := []string{"--addr", adminAddr(t, m.gw), "--token", adminToken}
	ctl := func(args ...string) (string, string, int) {
		return runCtl(t, append(conn, args...)...)
	}
	mustCtl := func(args ...string) string {
		t.Helper()
		out, stderr, code := ctl(args...)
		if code != 0 {
			t.Fatalf("sipedge ctl %v: exit %d: %s", args, code, stderr)
		}
		return out
	}
	type dialogsOut struct {
		Dialogs []struct {
			CallID string `json:"call_id"`
			Node   string `json:"rtpengine"`
		}
	}
	nodeOf := func(callID string) string {
		t.Helper()
		var v dialogsOut
		ctlJSON(t, &v, append(conn, "dialogs")...)
		for _, d := range v.Dialogs {
			if d.CallID == callID {
				return d.Node
			}
		}
		t.Fatalf("sipedge ctl dialogs lacks %s: %+v", callID, v)
		return ""
	}

	// registrations / lookup: the browser is listed.
	b := m.newBrowser(ctx, t, browserOptions{})
	out := mustCtl("registrations")
	if !regexp.MustCompile(`(?m)^alice@example\.test\s+sip:\S+\.invalid\S*\s+wss\s+127\.0\.0\.1:\d+`).MatchString(out) {
		t.Errorf("sipedge ctl registrations lacks the browser:\n%s", out)
	}
	var look struct {
		Registrations []struct{ AOR, Transport, Instance string }
	}
	ctlJSON(t, &look, append(conn, "lookup", "alice@example.test")...)
	if len(look.Registrations) != 1 || look.Registrations[0].Transport != "wss" || look.Registrations[0].Instance != b.ua.Instance() {
		t.Errorf("sipedge ctl lookup alice: %+v, want the browser's binding (instance %s)", look, b.ua.Instance())
	}

	// dialogs / disable: a call, then its node disabled, and the next
	// call lands on the other node.
	call1, echo1 := m.browserCallsEcho(ctx, t, b)
	node1 := nodeOf(call1.CallID)
	if ngs[node1] == nil {
		t.Fatalf("call 1 on node %q, want one of %v", node1, m.gw.Addrs)
	}
	other := rtpeA.NG
	if node1 == rtpeA.NG {
		other = rtpeB.NG
	}
	if out := mustCtl("dialogs"); !strings.Contains(out, call1.CallID) || !strings.Contains(out, node1) {
		t.Errorf("sipedge ctl dialogs:\n%s\nwant %s on %s", out, call1.CallID, node1)
	}
	mustCtl("disable", node1)
	if out := mustCtl("rtpengine"); !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(node1) + `\s+\S+\s+\d+\s+up\s+true\s+1\s`).MatchString(out) {
		t.Errorf("sipedge ctl rtpengine after disable:\n%s", out)
	}
	call2, echo2 := m.browserCallsEcho(ctx, t, b)
	if n := nodeOf(call2.CallID); n != other {
		t.Errorf("call 2 after disabling %s went to %q, want %s", node1, n, other)
	}
	if _, err := ngs[other].Query(ctx, rtpengine.CallRef{CallID: call2.CallID}); err != nil {
		t.Errorf("rtpengine %s lacks call 2: %v", other, err)
	}

	// end: BYE to both parties, rtpengine session deleted.
	if out := mustCtl("end", call1.CallID); !strings.Contains(out, "ended:") {
		t.Errorf("sipedge ctl end: %q", out)
	}
	if r, err := call1.WaitEnded(ctx); err != nil || r != wsua.EndByeReceived {
		t.Errorf("browser leg of call 1: %q %v, want a BYE received", r, err)
	}
	if r, err := echo1.WaitEnded(ctx); err != nil || r != rtpecho.EndByeReceived {
		t.Errorf("phone leg of call 1: %q %v, want a BYE received", r, err)
	}
	waitNodeSessionGone(ctx, t, ngs[node1], call1.CallID)
	if _, stderr, code := ctl("end", call1.CallID); code != 1 || !strings.Contains(stderr, "no call with Call-ID") || !strings.Contains(stderr, "HTTP 404") {
		t.Errorf("sipedge ctl end of an ended call: exit %d %q", code, stderr)
	}
	mustCtl("enable", node1)
	if _, stderr, code := ctl("enable", "udp:127.0.0.1:1"); code != 1 || !strings.Contains(stderr, "HTTP 404") {
		t.Errorf("sipedge ctl enable of an unknown node: exit %d %q", code, stderr)
	}

	// reload: a broken file is refused with file:line problems, and
	// nothing changes.
	good, err := os.ReadFile(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(good), "domains:\n", "no_such_key: 1\ninvite_timeout: soon\ndomains:\n", 1)
	if err := os.WriteFile(cfgFile, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := ctl("reload")
	lineRE := regexp.MustCompile(regexp.QuoteMeta(cfgFile) + `:\d+: `)
	if code != 1 || !strings.Contains(stderr, "reload refused, nothing changed") || len(lineRE.FindAllString(stderr, -1)) != 2 ||
		!strings.Contains(stderr, "no_such_key") || !strings.Contains(stderr, "invite_timeout") {
		t.Errorf("sipedge ctl reload of a broken file: exit %d\n%s\nwant 1 and two %s:LINE problems", code, stderr, cfgFile)
	}
	if err := os.WriteFile(cfgFile, good, 0o600); err != nil {
		t.Fatal(err)
	}
	mustCtl("reload")

	// drain: new calls and registrations get 503 with Retry-After, the
	// call in progress goes on and completes.
	mustCtl("drain")
	if out := mustCtl("draining"); !strings.Contains(out, "true") {
		t.Errorf("sipedge ctl draining: %q", out)
	}
	offer, err := b.peer.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	var se *wsua.StatusError
	if _, err := b.ua.Invite(ctx, "sip:"+mgwEchoNumber+"@example.test", offer); !errors.As(err, &se) || se.Code != 503 {
		t.Errorf("browser INVITE while draining: %v, want 503", err)
	}
	if res, err := b.ua.Register(ctx, 300); res == nil || res.StatusCode != 503 || res.GetHeader("Retry-After") == nil || !errors.As(err, &se) {
		t.Errorf("REGISTER while draining: %v %v, want 503 with Retry-After", res, err)
	}
	if _, err := m.echo.Call(ctx, rtpecho.CallParams{To: "sip:" + mgwUser + "@example.test", Proxy: m.gwUDP}); !isStatus(err, 503) {
		t.Errorf("phone INVITE while draining: %v, want 503", err)
	}
	if err := call2.Bye(ctx); err != nil {
		t.Errorf("BYE of the call in progress while draining: %v", err)
	}
	if r, err := echo2.WaitEnded(ctx); err != nil || r != rtpecho.EndByeReceived {
		t.Errorf("phone leg of call 2: %q %v, want a BYE received", r, err)
	}
	waitNodeSessionGone(ctx, t, ngs[other], call2.CallID)
	mustCtl("undrain")

	// unregister: the browser's binding goes, the next call to it gets 480.
	if out := mustCtl("unregister", "alice@example.test"); !strings.Contains(out, "removed:") {
		t.Errorf("sipedge ctl unregister: %q", out)
	}
	if out := mustCtl("registrations"); strings.Contains(out, "alice@") {
		t.Errorf("sipedge ctl registrations after unregister:\n%s", out)
	}
	if _, err := m.echo.Call(ctx, rtpecho.CallParams{To: "sip:" + mgwUser + "@example.test", Proxy: m.gwUDP}); !isStatus(err, 480) {
		t.Errorf("phone INVITE to the unregistered browser: %v, want 480", err)
	}
	if _, stderr, code := ctl("lookup", "alice@example.test"); code != 1 || !strings.Contains(stderr, "no registration for alice@example.test") {
		t.Errorf("sipedge ctl lookup after unregister: exit %d %q", code, stderr)
	}
}

// isStatus reports whether err is a sipgo dialog failure with code.
func isStatus(err error, code int) bool {
	var de *sipgo.ErrDialogResponse
	return errors.As(err, &de) && de.Res.StatusCode == code
}

// waitNodeSessionGone waits (at most 3 s) until the rtpengine behind ng
// no longer knows callID.
func waitNodeSessionGone(ctx context.Context, t *testing.T, ng *rtpengine.Client, callID string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		_, err := ng.Query(ctx, rtpengine.CallRef{CallID: callID})
		if errors.Is(err, rtpengine.ErrRejected) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("rtpengine still has %s 3s after the call ended (query: %v)", callID, err)
		}
		pause(20 * time.Millisecond)
	}
}
