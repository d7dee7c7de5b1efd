package test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/sipedge/sipedge/rtpengine/rtpenginetest"
	"github.com/sipedge/sipedge/test/loopback"
	"github.com/sipedge/sipedge/test/wsua"
)

// TestAdminMetrics runs a scripted set of registrations, failures and
// calls against a running sipedge and wants /metrics to count exactly
// what the test did, and its exposition to pass client_golang's lint.
func TestAdminMetrics(t *testing.T) {
	const calls = 3
	ctx := withTimeout(t, 60*time.Second)
	ng := rtpenginetest.New(t, "udp")
	uas := startSIPp(t, sippRun{Name: "uas", Scenario: "uas_call.xml", Calls: calls})
	cfg := callConfig(sipURI(uas.Port, "udp"))
	cfg.Routes = []proxyRoute{{User: "^1555", To: []string{sipURI(uas.Port, "udp")}}}
	cfg.Listen = []string{"udp://127.0.0.1:0", "ws://127.0.0.1:0/ws"}
	cfg.RTPEngine = map[string]any{"nodes": []map[string]any{{"address": ng.Addr()}}}
	cfg.Admin = map[string]any{"listen": "127.0.0.1:0"}
	cfg.LogLevel = "info"
	gw := startSipedge(t, cfg)
	admin := adminAddr(t, gw)

	// Registrations: alice over UDP (401 then 200), bob with a wrong
	// password (401 then 403: one auth failure), bob over WS (401, 200).
	alice := newUDPClient(t, gw.Addr(t, "udp"))
	registerDigest(t, alice, "alice", "alice-secret", "MD5", "")
	bad := newUDPClient(t, gw.Addr(t, "udp"))
	ch := challenge(t, bad.register(t, "bob", "", ""), "MD5")
	if res := bad.register(t, "bob", "", authorize(t, ch, "bob", "wrong", 1)); res.StatusCode != 403 {
		t.Fatalf("REGISTER with a wrong password: %d, want 403", res.StatusCode)
	}
	ua, err := wsua.Dial(ctx, wsua.Config{URL: "ws://" + gw.Addr(t, "ws") + "/ws", User: "bob", Domain: "example.test", Password: "bob-secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	if res, err := ua.Register(ctx, 300); err != nil || res.StatusCode != 200 {
		t.Fatalf("WS REGISTER: %v %v", res, err)
	}
	// A WebSocket upgrade without the sip subprotocol: one refusal.
	req, _ := http.NewRequest("GET", "http://"+gw.Addr(t, "ws")+"/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 400 {
		t.Fatalf("upgrade without subprotocol: %v %v, want 400", res, err)
	} else {
		_ = res.Body.Close()
	}

	// Calls: 3 answered (INVITE, 100 local, 180, 200, ACK, BYE, 200) and
	// one to a number no route matches (404; its ACK is absorbed by the
	// transaction).
	uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"), Service: "15551234", Calls: calls, Rate: 10})
	uac.expectAllSuccessful(t, calls)
	uas.expectAllSuccessful(t, calls)
	nobody := newUDPClient(t, gw.Addr(t, "udp"))
	if res := nobody.invite(t, "999", nobody.callID); res.StatusCode != 404 {
		t.Fatalf("INVITE to an unrouted number: %d, want 404", res.StatusCode)
	}

	// The 1xx relayed for the INVITEs, counted on the wire (the ladder
	// ring sees every message sent): the 100 of each call and its 180,
	// unless the 180 and the 200 arrived together and only the 200 was
	// relayed (see TestHEPCapture).
	provisional := sentInvite1xx(t, admin)
	if provisional < 2*calls-1 || provisional > 2*calls {
		t.Errorf("%d 1xx for INVITEs on the wire, want %d (or one 180 fewer)", provisional, 2*calls)
	}
	want := []struct {
		name   string
		labels []string
		value  float64
	}{
		{"sipedge_sip_requests_received_total", []string{"method", "REGISTER"}, 6},
		{"sipedge_sip_requests_received_total", []string{"method", "INVITE"}, calls + 1},
		{"sipedge_sip_requests_received_total", []string{"method", "ACK"}, calls},
		{"sipedge_sip_requests_received_total", []string{"method", "BYE"}, calls},
		{"sipedge_sip_requests_received_total", []string{"method", "OPTIONS"}, 0},
		{"sipedge_sip_responses_sent_total", []string{"method", "REGISTER", "code_class", "2xx"}, 2},
		{"sipedge_sip_responses_sent_total", []string{"method", "REGISTER", "code_class", "4xx"}, 4},
		{"sipedge_sip_responses_sent_total", []string{"method", "INVITE", "code_class", "1xx"}, float64(provisional)},
		{"sipedge_sip_responses_sent_total", []string{"method", "INVITE", "code_class", "2xx"}, calls},
		{"sipedge_sip_responses_sent_total", []string{"method", "INVITE", "code_class", "4xx"}, 1},
		{"sipedge_sip_responses_sent_total", []string{"method", "BYE", "code_class", "2xx"}, calls},
		{"sipedge_sip_responses_sent_total", []string{"method", "BYE", "code_class", "5xx"}, 0},
		{"sipedge_auth_failures_total", nil, 1},
		{"sipedge_invite_setup_seconds", nil, calls},
		{"sipedge_registrations", nil, 2},
		{"sipedge_registration_contacts", nil, 2},
		{"sipedge_dialogs_active", nil, 0},
		{"sipedge_ws_connections", []string{"transport", "ws"}, 1},
		{"sipedge_ws_connections", []string{"transport", "wss"}, 0},
		{"sipedge_ws_refusals_total", []string{"reason", "subprotocol"}, 1},
		{"sipedge_ws_refusals_total", []string{"reason", "origin"}, 0},
		{"sipedge_draining", nil, 0},
		{"sipedge_rtpengine_node_up", []string{"node", ng.Addr()}, 1},
	}
	fams, body := scrape(t, admin, "")
	for _, w := range want {
		got, ok := metricValue(fams, w.name, w.labels...)
		if !ok {
			t.Errorf("%s%v: missing", w.name, w.labels)
			continue
		}
		if got != w.value {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, got, w.value)
		}
	}
	for _, name := range []string{"sipedge_rtpengine_command_duration_seconds", "go_goroutines", "process_open_fds", "sipedge_sip_transactions_active"} {
		if fams[name] == nil {
			t.Errorf("%s: missing", name)
		}
	}
	if n, _ := metricValue(fams, "sipedge_rtpengine_command_duration_seconds", "node", ng.Addr()); n < 1 {
		t.Errorf("rtpengine command latency: %v samples, want the health pings", n)
	}
	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "sipedge_") {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}

// sentInvite1xx counts the provisional responses to INVITEs sipedge sent,
// from the call-ladder ring of its admin API.
func sentInvite1xx(t *testing.T, admin string) int {
	t.Helper()
	var list struct {
		Calls []struct {
			CallID string `json:"call_id"`
		}
	}
	code, body := adminDo(t, "GET", admin, "", "/api/v1/calls")
	if code != 200 || json.Unmarshal(body, &list) != nil {
		t.Fatalf("GET /api/v1/calls: %d %s", code, body)
	}
	n := 0
	for _, c := range list.Calls {
		var l struct {
			Messages []struct {
				Sent      bool
				FirstLine string `json:"first_line"`
				Text      string
			}
		}
		code, body := adminDo(t, "GET", admin, "", "/api/v1/calls/"+url.PathEscape(c.CallID))
		if code != 200 || json.Unmarshal(body, &l) != nil {
			t.Fatalf("GET /api/v1/calls/%s: %d %s", c.CallID, code, body)
		}
		for _, m := range l.Messages {
			if m.Sent && strings.HasPrefix(m.FirstLine, "SIP/2.0 1") && regexp.MustCompile(`(?mi)^CSeq:\s*\d+\s+INVITE\s*$`).MatchString(m.Text) {
				n++
			}
		}
	}
	return n
}

// TestAdminEdgeMetrics: trunk, destination set and ban metrics follow
// real state changes: a trunk registered at a SIPp registrar shows
// registered (and no other state); a set member that does not answer its
// OPTIONS probes is 0 and the one that does is 1; a scanner's request
// (sipvicious' User-Agent, from 127.0.0.2) adds one scanner ban. Four
// calls round-robin over the two live members: the one answering 503 is
// selected twice and fails over twice, the good one takes all four.
func TestAdminEdgeMetrics(t *testing.T) {
	prov := startSIPp(t, sippRun{Name: "provider", Scenario: "uas_register_loop.xml", Timeout: 60 * time.Second, Calls: 10})
	good := memberUAS(t, "good", "uas_call_options.xml", 0)
	u503 := memberUAS(t, "uas503", "uas_503_options.xml", 0)
	dead := sipURI(loopback.FreePort(t), "udp")
	cfg := setConfig(map[string]any{
		"algorithm": "round-robin",
		"members":   []string{dead, sipURI(u503.Port, "udp"), sipURI(good.Port, "udp")},
		"probe":     map[string]any{"interval": "200ms", "down_after": 2, "up_after": 2},
	})
	cfg.Extra["trunks"] = map[string]any{"carrier": map[string]any{
		"uris": []string{sipURI(prov.Port, "udp")}, "username": "acct", "password": "pw", "register": true}}
	cfg.Extra["trunk_registration"] = map[string]any{"start_delay": "-1s"}
	cfg.Admin = map[string]any{"listen": "127.0.0.1:0"}
	gw := startSipedge(t, cfg)
	adm := adminAddr(t, gw)
	gw.logWithin(t, 3*time.Second, "set member down", "member="+dead)

	_, port, err := net.SplitHostPort(gw.Addr(t, "udp"))
	if err != nil {
		t.Fatal(err)
	}
	scanner, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer scanner.Close()
	dst, _ := net.ResolveUDPAddr("udp", "127.0.0.1:"+port)
	opt := "OPTIONS sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP " + scanner.LocalAddr().String() + ";branch=z9hG4bK-scan1;rport\r\n" +
		"From: <sip:100@127.0.0.1>;tag=s1\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: scan-1\r\nCSeq: 1 OPTIONS\r\n" +
		"Max-Forwards: 70\r\nUser-Agent: friendly-scanner\r\nContent-Length: 0\r\n\r\n"
	if _, err := scanner.WriteTo([]byte(opt), dst); err != nil {
		t.Fatal(err)
	}
	gw.logWithin(t, 3*time.Second, "source banned", "reason=scanner")
	startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"), Service: "15551234", Calls: 4, Rate: 20}).
		expectAllSuccessful(t, 4)

	var fams map[string]*dto.MetricFamily
	var body []byte
	for deadline := time.Now().Add(5 * time.Second); ; pause(100 * time.Millisecond) {
		fams, body = scrape(t, adm, "")
		if v, _ := metricValue(fams, "sipedge_trunk_registration_state", "trunk", "carrier", "state", "registered"); v == 1 || time.Now().After(deadline) {
			break
		}
	}
	want := []struct {
		name   string
		labels []string
		v      float64
	}{
		{"sipedge_trunk_registration_state", []string{"trunk", "carrier", "state", "registered"}, 1},
		{"sipedge_trunk_registration_state", []string{"trunk", "carrier", "state", "failed"}, 0},
		{"sipedge_trunk_registration_state", []string{"trunk", "carrier", "state", "registering"}, 0},
		{"sipedge_trunk_calls_active", []string{"trunk", "carrier"}, 0},
		{"sipedge_set_member_up", []string{"set", "pbx", "member", dead}, 0},
		{"sipedge_set_member_up", []string{"set", "pbx", "member", sipURI(good.Port, "udp")}, 1},
		{"sipedge_set_member_selections_total", []string{"set", "pbx", "member", dead}, 0},
		{"sipedge_set_member_selections_total", []string{"set", "pbx", "member", sipURI(u503.Port, "udp")}, 2},
		{"sipedge_set_member_failovers_total", []string{"set", "pbx", "member", sipURI(u503.Port, "udp")}, 2},
		{"sipedge_set_member_selections_total", []string{"set", "pbx", "member", sipURI(good.Port, "udp")}, 4},
		{"sipedge_set_member_failovers_total", []string{"set", "pbx", "member", sipURI(good.Port, "udp")}, 0},
		{"sipedge_bans_active", nil, 1},
		{"sipedge_bans_total", []string{"reason", "scanner"}, 1},
		{"sipedge_bans_total", []string{"reason", "rate"}, 0},
	}
	for _, w := range want {
		if v, ok := metricValue(fams, w.name, w.labels...); !ok || v != w.v {
			t.Errorf("%s%v = %v (present %v), want %v", w.name, w.labels, v, ok, w.v)
		}
	}
	// sipedge ctl trunks shows the same state.
	if out, stderr, code := runCtl(t, "--addr", adm, "trunks"); code != 0 ||
		!regexp.MustCompile(`(?m)^carrier\s+registered\s+200\s+\S+\s+0\s+`+regexp.QuoteMeta(sipURI(prov.Port, "udp"))+`$`).MatchString(out) {
		t.Errorf("sipedge ctl trunks: exit %d %s\n%s", code, stderr, out)
	}
	// Exactly one state is 1.
	ones := 0
	for _, m := range fams["sipedge_trunk_registration_state"].GetMetric() {
		ones += int(m.GetGauge().GetValue())
	}
	if ones != 1 {
		t.Errorf("%d trunk states at 1, want 1", ones)
	}
	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "sipedge_") {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
}
