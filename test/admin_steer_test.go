package test

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The admin API's steering of destination sets, trunks and bans, against
// the real binary: SIPp members and registrars, loopback sources.

// TestAdminSetMemberDisable: in a round-robin set of two SIPp members,
// probed every 200ms, disabling one sends every next call to the other
// (INVITEs counted at each SIPp), though its probes go on answering; the
// listing and /metrics show it disabled; enabling it shares calls again.
// Unknown names get 404, a missing token 401.
func TestAdminSetMemberDisable(t *testing.T) {
	member := func(name string) *sippProc {
		return startSIPp(t, sippRun{Name: name, Scenario: "uas_call_options.xml", Calls: 100000, Timeout: 60 * time.Second,
			Args: []string{"-trace_msg", "-deadcall_wait", "100"}})
	}
	m1, m2 := member("m1"), member("m2")
	u1, u2 := sipURI(m1.Port, "udp"), sipURI(m2.Port, "udp")
	cfg := setConfig(map[string]any{
		"algorithm": "round-robin",
		"members":   []string{u1, u2},
		"probe":     map[string]any{"interval": "200ms", "down_after": 2, "up_after": 1},
	})
	cfg.Admin = map[string]any{"listen": "127.0.0.1:0", "token": adminToken}
	gw := startSipedge(t, cfg)
	adm := adminAddr(t, gw)
	conn := []string{"--addr", adm, "--token", adminToken}
	seen := [2]int{}
	calls := func(phase string, n int) [2]int {
		t.Helper()
		startSIPp(t, sippRun{Name: "uac-" + phase, Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"), Service: "15551234",
			Calls: n, Rate: 20}).expectAllSuccessful(t, n)
		now := [2]int{len(sippRequests(t, m1, "INVITE")), len(sippRequests(t, m2, "INVITE"))}
		d := [2]int{now[0] - seen[0], now[1] - seen[1]}
		seen = now
		t.Logf("%s: %d calls, INVITEs m1 %d, m2 %d", phase, n, d[0], d[1])
		return d
	}
	if d := calls("both", 10); d[0]+d[1] != 10 || d[0] == 0 || d[1] == 0 {
		t.Fatalf("both enabled: INVITEs %v, want 10 shared by both", d)
	}

	out, stderr, code := runCtl(t, append(conn, "sets", "disable", "pbx", u1)...)
	if code != 0 || !regexp.MustCompile(`disabled:\s+true`).MatchString(out) {
		t.Fatalf("sipedge ctl sets disable: exit %d %s\n%s", code, stderr, out)
	}
	gw.logWithin(t, time.Second, "set member disabled by operator", "member="+u1)
	probes := len(sippRequests(t, m1, "OPTIONS"))
	pause(700 * time.Millisecond) // three probe rounds, answered: it stays disabled
	if n := len(sippRequests(t, m1, "OPTIONS")); n < probes+2 {
		t.Errorf("disabled member probed %d times in 700ms, want probing to go on", n-probes)
	}
	if d := calls("m1 disabled", 10); d[0] != 0 || d[1] != 10 {
		t.Fatalf("m1 disabled: INVITEs %v, want 0 and 10", d)
	}
	out, stderr, code = runCtl(t, append(conn, "sets")...)
	for u, state := range map[string]string{u1: "up +disabled", u2: "up +enabled"} {
		if code != 0 || !regexp.MustCompile(`(?m)^pbx +round-robin +`+regexp.QuoteMeta(u)+` +`+state+` `).MatchString(out) {
			t.Errorf("sipedge ctl sets: exit %d %s, want %s %s:\n%s", code, stderr, u, state, out)
		}
	}
	fams, _ := scrape(t, adm, adminToken)
	for _, w := range []struct {
		name, member string
		v            float64
	}{
		{"sipedge_set_member_up", u1, 0}, {"sipedge_set_member_disabled", u1, 1},
		{"sipedge_set_member_up", u2, 1}, {"sipedge_set_member_disabled", u2, 0},
	} {
		if v, ok := metricValue(fams, w.name, "set", "pbx", "member", w.member); !ok || v != w.v {
			t.Errorf("%s{member=%s} = %v (present %v), want %v", w.name, w.member, v, ok, w.v)
		}
	}

	path := "/api/v1/sets/pbx/members/" + url.PathEscape(u1) + "/enable"
	if code, body := adminDo(t, "POST", adm, "", path); code != 401 {
		t.Errorf("POST %s without a token: %d %s, want 401", path, code, body)
	}
	if code, body := adminDo(t, "POST", adm, adminToken, path); code != 200 || !strings.Contains(string(body), `"disabled": false`) {
		t.Fatalf("POST %s: %d %s", path, code, body)
	}
	if d := calls("m1 enabled", 10); d[0]+d[1] != 10 || d[0] == 0 || d[1] == 0 {
		t.Fatalf("m1 enabled again: INVITEs %v, want 10 shared by both", d)
	}

	for _, tc := range []struct{ path, want string }{
		{"/api/v1/sets/nope/members/" + url.PathEscape(u1) + "/disable", `no such destination set: \"nope\"`},
		{"/api/v1/sets/pbx/members/" + url.PathEscape("sip:127.0.0.1:9") + "/disable", `\"pbx\" has no member \"sip:127.0.0.1:9\"`},
	} {
		if code, body := adminDo(t, "POST", adm, adminToken, tc.path); code != 404 || !strings.Contains(string(body), tc.want) {
			t.Errorf("POST %s: %d %s, want 404 with %s", tc.path, code, body, tc.want)
		}
	}
	if _, stderr, code := runCtl(t, append(conn, "sets", "disable", "nope", u1)...); code != 1 || !strings.Contains(stderr, "HTTP 404") {
		t.Errorf("sipedge ctl sets disable nope: exit %d %q, want 1 and the server's 404", code, stderr)
	}
}

// TestAdminTrunkRegister: "sipedge ctl trunks register" makes a trunk
// registered for an hour send a REGISTER at once (the SIPp registrar sees
// one more within 1s); a trunk without register: true gets 409, an
// unknown one 404, a missing token 401.
func TestAdminTrunkRegister(t *testing.T) {
	prov := providerRegistrar(t, "provider", "uas_register_count.xml")
	gw := startSipedge(t, proxyConfig{
		Admin: map[string]any{"listen": "127.0.0.1:0", "token": adminToken},
		Extra: map[string]any{
			"trunks": map[string]any{
				"carrier": map[string]any{"uris": []string{sipURI(prov.Port, "udp")}, "register": true, "username": "acct", "password": "pw"},
				"static":  map[string]any{"uris": []string{"sip:127.0.0.1:9"}},
			},
			"trunk_registration": map[string]any{"start_delay": "-1s"},
		},
	})
	adm := adminAddr(t, gw)
	conn := []string{"--addr", adm, "--token", adminToken}
	waitRegisters(t, prov, 1, 5*time.Second)
	gw.logWithin(t, 3*time.Second, "trunk registered")
	pause(300 * time.Millisecond)
	if n := len(sippRequests(t, prov, "REGISTER")); n != 1 {
		t.Fatalf("%d REGISTERs before re-registering, want 1 (an hour granted)", n)
	}
	if code, _ := adminDo(t, "POST", adm, "", "/api/v1/trunks/carrier/register"); code != 401 {
		t.Errorf("POST /api/v1/trunks/carrier/register without a token: %d, want 401", code)
	}
	start := time.Now()
	out, stderr, code := runCtl(t, append(conn, "trunks", "register", "carrier")...)
	if code != 0 || !regexp.MustCompile(`registering:\s+true`).MatchString(out) {
		t.Fatalf("sipedge ctl trunks register carrier: exit %d %s\n%s", code, stderr, out)
	}
	waitRegisters(t, prov, 2, time.Second)
	t.Logf("second REGISTER %v after the verb", time.Since(start).Round(time.Millisecond))

	_, stderr, code = runCtl(t, append(conn, "trunks", "register", "static")...)
	if code != 1 || !strings.Contains(stderr, `"static" has register: false`) || !strings.Contains(stderr, "HTTP 409") {
		t.Errorf("sipedge ctl trunks register static: exit %d %q, want 1 and the server's 409", code, stderr)
	}
	if code, body := adminDo(t, "POST", adm, adminToken, "/api/v1/trunks/nope/register"); code != 404 || !strings.Contains(string(body), `no such trunk: \"nope\"`) {
		t.Errorf("POST /api/v1/trunks/nope/register: %d %s, want 404", code, body)
	}
	pause(300 * time.Millisecond)
	if n := len(sippRequests(t, prov, "REGISTER")); n != 2 {
		t.Errorf("%d REGISTERs in all, want 2 (the refused verbs send none)", n)
	}
}

// optionsAnswered sends an OPTIONS for the gateway itself from src (a
// loopback address) up to tries times and reports whether any got an
// answer within wait.
func optionsAnswered(t *testing.T, src, gwAddr string, tries int, wait time.Duration) bool {
	t.Helper()
	c, err := net.ListenPacket("udp", src+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dst, err := net.ResolveUDPAddr("udp", gwAddr)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	for i := range tries {
		id := fmt.Sprintf("opt-%d-%s", i, randHex(6))
		msg := "OPTIONS sip:" + gwAddr + " SIP/2.0\r\nVia: SIP/2.0/UDP " + c.LocalAddr().String() + ";branch=z9hG4bK" + randHex(8) + ";rport\r\n" +
			"From: <sip:probe@" + src + ">;tag=" + randHex(4) + "\r\nTo: <sip:" + gwAddr + ">\r\nCall-ID: " + id + "\r\nCSeq: 1 OPTIONS\r\n" +
			"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
		if _, err := c.WriteTo([]byte(msg), dst); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(wait))
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				break // no answer within wait
			}
			if strings.HasPrefix(string(buf[:n]), "SIP/2.0 ") && strings.Contains(string(buf[:n]), id) {
				return true
			}
		}
	}
	return false
}

// TestAdminBanAddLift: "sipedge ctl bans add" bans a loopback source by
// hand (its OPTIONS go unanswered while another source's are answered;
// the ban is listed with its note, logged once, counted as manual);
// "bans lift" lets it in again; lifting it twice is a 404.
func TestAdminBanAddLift(t *testing.T) {
	gw := startSipedge(t, proxyConfig{Admin: map[string]any{"listen": "127.0.0.1:0", "token": adminToken}})
	adm := adminAddr(t, gw)
	conn := []string{"--addr", adm, "--token", adminToken}
	sip := gw.Addr(t, "udp")
	const banned, other = "127.0.0.5", "127.0.0.6"
	if !optionsAnswered(t, banned, sip, 3, time.Second) {
		t.Fatalf("%s gets no answer before any ban:\n%s", banned, tail(gw.Log(), 2000))
	}
	if code, _ := adminDo(t, "POST", adm, "", "/api/v1/bans"); code != 401 {
		t.Errorf("POST /api/v1/bans without a token: %d, want 401", code)
	}
	out, stderr, code := runCtl(t, append(conn, "bans", "add", banned, "10m", "manual", "test")...)
	if code != 0 || !regexp.MustCompile(`banned:\s+true`).MatchString(out) {
		t.Fatalf("sipedge ctl bans add: exit %d %s\n%s", code, stderr, out)
	}
	if optionsAnswered(t, banned, sip, 2, time.Second) {
		t.Errorf("banned %s still answered", banned)
	}
	if !optionsAnswered(t, other, sip, 3, time.Second) {
		t.Errorf("%s not answered while %s is banned", other, banned)
	}
	if n := gw.countLog(`msg="source banned"`, "src="+banned, "reason=manual", "for=10m0s", `note="manual test"`); n != 1 {
		t.Errorf("%d manual ban lines, want 1:\n%s", n, tail(gw.Log(), 2000))
	}
	out, stderr, code = runCtl(t, append(conn, "bans")...)
	if code != 0 || !regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(banned)+` +manual +\S+ +\S+ +(9m5\d|10m0)s +manual test$`).MatchString(out) {
		t.Errorf("sipedge ctl bans: exit %d %s\n%s", code, stderr, out)
	}
	fams, _ := scrape(t, adm, adminToken)
	if v, _ := metricValue(fams, "sipedge_bans_total", "reason", "manual"); v != 1 {
		t.Errorf("sipedge_bans_total{reason=manual} = %v, want 1", v)
	}
	if v, _ := metricValue(fams, "sipedge_bans_active"); v != 1 {
		t.Errorf("sipedge_bans_active = %v, want 1", v)
	}

	if code, _ := adminDo(t, "DELETE", adm, "", "/api/v1/bans/"+banned); code != 401 {
		t.Errorf("DELETE /api/v1/bans/%s without a token: %d, want 401", banned, code)
	}
	out, stderr, code = runCtl(t, append(conn, "bans", "lift", banned)...)
	if code != 0 || !regexp.MustCompile(`banned:\s+false`).MatchString(out) {
		t.Fatalf("sipedge ctl bans lift: exit %d %s\n%s", code, stderr, out)
	}
	if !optionsAnswered(t, banned, sip, 3, time.Second) {
		t.Errorf("%s not answered after the ban was lifted", banned)
	}
	if n := gw.countLog(`msg="ban lifted"`, "src="+banned, "reason=manual"); n != 1 {
		t.Errorf("%d \"ban lifted\" lines, want 1", n)
	}
	_, stderr, code = runCtl(t, append(conn, "bans", "lift", banned)...)
	if code != 1 || !strings.Contains(stderr, "no ban in force for "+banned) || !strings.Contains(stderr, "HTTP 404") {
		t.Errorf("sipedge ctl bans lift again: exit %d %q, want 1 and the server's 404", code, stderr)
	}
	if code, body := adminDo(t, "DELETE", adm, adminToken, "/api/v1/bans/"+other); code != 404 {
		t.Errorf("DELETE /api/v1/bans/%s (never banned): %d %s, want 404", other, code, body)
	}
}
