package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/loopback"
)

// routeService is the routing service of the tests: answer returns the
// document for each query (by its number, from 0) and may sleep first.
type routeService struct {
	srv     *httptest.Server
	mu      sync.Mutex
	queries []map[string]any
}

func startRouteService(t *testing.T, answer func(n int, q map[string]any) (delay time.Duration, body string)) *routeService {
	t.Helper()
	rs := &routeService{}
	rs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var q map[string]any
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		_ = json.Unmarshal(b, &q)
		rs.mu.Lock()
		n := len(rs.queries)
		rs.queries = append(rs.queries, q)
		rs.mu.Unlock()
		delay, body := answer(n, q)
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(rs.srv.Close)
	return rs
}

func (rs *routeService) count() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return len(rs.queries)
}

// apiConfig routes user ^9 through the service (fallback: fallback) and
// everything else statically to static.
func apiConfig(url string, api map[string]any, fallback []string, static string) proxyConfig {
	c := callConfig()
	a := map[string]any{"url": url, "timeout": "500ms"}
	for k, v := range api {
		a[k] = v
	}
	routes := []map[string]any{{"match": map[string]string{"user": "^9"}, "api": a, "to": fallback}}
	if static != "" {
		routes = append(routes, map[string]any{"to": []string{static}})
	}
	c.Extra = map[string]any{"routes": routes}
	return c
}

func jsonDoc(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestRouteAPISerialFailover: the service answers a serial document
// [486, 503, good]; with api.failover [486, 5xx] the call fails over
// twice inside one INVITE and completes on the third route. The query
// describes the request.
func TestRouteAPISerialFailover(t *testing.T) {
	busy := startSIPp(t, sippRun{Name: "busy", Scenario: "uas_486_options.xml"})
	down := startSIPp(t, sippRun{Name: "down", Scenario: "uas_503_options.xml"})
	good := startSIPp(t, sippRun{Name: "good", Scenario: "uas_call.xml"})
	svc := startRouteService(t, func(int, map[string]any) (time.Duration, string) {
		return 0, jsonDoc(map[string]any{"version": "1.0", "routing": "serial", "routes": []map[string]any{
			{"uri": "sip:900@127.0.0.1:" + itoa(busy.Port)},
			{"uri": "sip:900@127.0.0.1:" + itoa(down.Port)},
			{"uri": "sip:900@127.0.0.1:" + itoa(good.Port)},
		}})
	})
	gw := startSipedge(t, apiConfig(svc.srv.URL+"/route", map[string]any{"failover": []string{"486", "5xx"}, "headers": []string{"Subject"}}, nil, ""))
	uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"), Service: "900"})
	uac.expectAllSuccessful(t, 1)
	good.expectAllSuccessful(t, 1)
	busy.expectAllSuccessful(t, 1)
	down.expectAllSuccessful(t, 1)
	svc.mu.Lock()
	q := svc.queries[0]
	svc.mu.Unlock()
	for k, want := range map[string]string{"method": "INVITE", "transport": "udp", "version": "1.0"} {
		if q[k] != want {
			t.Errorf("query %s = %v, want %s", k, q[k], want)
		}
	}
	if ruri, _ := q["ruri"].(string); !strings.HasPrefix(ruri, "sip:900@") {
		t.Errorf("query ruri %v", q["ruri"])
	}
	if cid, _ := q["call_id"].(string); cid == "" {
		t.Error("query has no call_id")
	}
	if src, _ := q["source"].(string); !strings.HasPrefix(src, "127.0.0.1:") {
		t.Errorf("query source %v", q["source"])
	}
	if h, _ := q["headers"].(map[string]any); h == nil || fmt.Sprint(h["Subject"]) != "[call]" {
		t.Errorf("query headers %v, want Subject [call]", q["headers"])
	}
}

// TestRouteAPIParallel: a parallel document rings two UAS at once; the
// one that answers wins and the ringing one gets CANCEL.
func TestRouteAPIParallel(t *testing.T) {
	winner := startSIPp(t, sippRun{Name: "winner", Scenario: "uas_call.xml"})
	loser := startSIPp(t, sippRun{Name: "loser", Scenario: "uas_ring_cancel.xml"})
	svc := startRouteService(t, func(int, map[string]any) (time.Duration, string) {
		return 0, jsonDoc(map[string]any{"version": "1.0", "routing": "parallel", "routes": []map[string]any{
			{"uri": "sip:900@127.0.0.1:" + itoa(loser.Port)},
			{"uri": "sip:900@127.0.0.1:" + itoa(winner.Port)},
		}})
	})
	gw := startSipedge(t, apiConfig(svc.srv.URL, nil, nil, ""))
	uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"), Service: "900"})
	uac.expectAllSuccessful(t, 1)
	winner.expectAllSuccessful(t, 1)
	loser.expectAllSuccessful(t, 1)
}

// TestRouteAPIHeadersAndTimers: the first route is a dead hop with
// fr_timer 300ms (the route's own would be 4s), the second changes From
// and To and adds X-Route, which the UAS checks.
func TestRouteAPIHeadersAndTimers(t *testing.T) {
	good := startSIPp(t, sippRun{Name: "good", Scenario: "uas_call_headers.xml"})
	dead := loopback.FreePort(t)
	svc := startRouteService(t, func(int, map[string]any) (time.Duration, string) {
		return 0, jsonDoc(map[string]any{"version": "1.0", "routes": []map[string]any{
			{"uri": "sip:900@127.0.0.1:" + itoa(dead), "fr_timer": 300},
			{"uri": "sip:900@127.0.0.1:" + itoa(good.Port), "fr_inv_timer": 5000, "headers": map[string]any{
				"from":  map[string]any{"display": "Carol", "uri": "sip:+15550001@example.test"},
				"to":    map[string]any{"uri": "sip:+15557777@example.test"},
				"extra": "X-Route: via-api-7\r\n",
			}},
		}})
	})
	gw := startSipedge(t, apiConfig(svc.srv.URL, nil, nil, ""))
	start := time.Now()
	uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"), Service: "900"})
	uac.expectAllSuccessful(t, 1)
	good.expectAllSuccessful(t, 1)
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("call took %v: the route's fr_timer (300ms) was not honoured", el)
	}
}

// TestRouteAPIReject: a rejection is answered as the service says.
func TestRouteAPIReject(t *testing.T) {
	svc := startRouteService(t, func(int, map[string]any) (time.Duration, string) {
		return 0, `{"reject":{"code":486,"reason":"Busy By API"}}`
	})
	gw := startSipedge(t, apiConfig(svc.srv.URL, nil, []string{sipURI(loopback.FreePort(t), "udp")}, ""))
	c := newUDPClient(t, gw.Addr(t, "udp"))
	res := c.invite(t, "900", "reject-"+randHex(4))
	if res.StatusCode != 486 || res.Reason != "Busy By API" {
		t.Fatalf("got %d %s, want 486 Busy By API", res.StatusCode, res.Reason)
	}
}

// TestRouteAPIBadDocuments: each malformed answer is refused with a log
// line and the call takes the fallback route; no malformed destination
// is ever contacted.
func TestRouteAPIBadDocuments(t *testing.T) {
	evil := memberUAS(t, "evil", "uas_call_options.xml", 0) // named by the bad documents
	fallback := memberUAS(t, "fallback", "uas_call_options.xml", 0)
	e := "127.0.0.1:" + itoa(evil.Port)
	docs := []string{
		`{"version":"1.0","routes":[{"uri":"sip:900@` + e, // invalid JSON
		`{"version":"7.1","routes":[{"uri":"sip:900@` + e + `"}]}`,
		`{"version":"1.0","routes":[{"uri":"http://` + e + `/"}]}`,
		`{"version":"1.0","routes":[{"uri":"sip:900@` + e + `\r\nX-Evil: 1"}]}`,
		`{"version":"1.0","routes":[{"uri":"sip:900@` + e + `","headers":{"extra":"X-A: 1\u0000\r\n"}}]}`,
		`{"version":"1.0","routes":[{"uri":"sip:900@` + e + `","headers":{"from":{"display":"a\r\nVia: x","uri":"sip:a@example.test"}}}]}`,
		`{"version":"1.0","routes":[{"uri":"sip:900@` + e + `"}],"pad":"` + strings.Repeat("x", 10<<20) + `"}`,
		`{"version":"1.0","routing":"random","routes":[{"uri":"sip:900@` + e + `"}]}`,
	}
	svc := startRouteService(t, func(n int, _ map[string]any) (time.Duration, string) {
		return 0, docs[n%len(docs)]
	})
	gw := startSipedge(t, apiConfig(svc.srv.URL, map[string]any{"timeout": "2s"}, []string{sipURI(fallback.Port, "udp")}, ""))
	uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"), Service: "900",
		Calls: len(docs), Rate: 5, Limit: 1, Timeout: 30 * time.Second})
	uac.expectAllSuccessful(t, len(docs))
	if n := svc.count(); n != len(docs) {
		t.Errorf("service asked %d times, want %d", n, len(docs))
	}
	if n := gw.countLog("routing API failed", "error="); n != len(docs) {
		t.Errorf("%d refusal lines, want %d", n, len(docs))
	}
	if n := evil.invites(t); n != 0 {
		t.Errorf("a destination named by a malformed document got %d INVITEs", n)
	}
	if n := fallback.invites(t); n != len(docs) {
		t.Errorf("fallback got %d INVITEs, want %d", n, len(docs))
	}
}

// TestRouteAPISlowFallsBack: a service that sleeps 2s is given up at the
// 500ms deadline and the fallback completes the call; meanwhile calls
// routed statically are not delayed.
func TestRouteAPISlowFallsBack(t *testing.T) {
	good := memberUAS(t, "good", "uas_call_options.xml", 0)
	svc := startRouteService(t, func(int, map[string]any) (time.Duration, string) {
		return 2 * time.Second, `{"version":"1.0","routes":[{"uri":"sip:900@127.0.0.1:9"}]}`
	})
	gw := startSipedge(t, apiConfig(svc.srv.URL, nil, []string{sipURI(good.Port, "udp")}, sipURI(good.Port, "udp")))
	const slow, static = 10, 40
	slowUAC := startSIPp(t, sippRun{Name: "slow", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"), Service: "900",
		Calls: slow, Rate: 10, Timeout: 30 * time.Second})
	time.Sleep(300 * time.Millisecond) // slow calls are waiting on the service
	staticUAC := startSIPp(t, sippRun{Name: "static", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"), Service: "15551234",
		Calls: static, Rate: 40, Timeout: 30 * time.Second})
	st := staticUAC.expectAllSuccessful(t, static)
	sl := slowUAC.expectAllSuccessful(t, slow)
	staticSetup, slowSetup := responseTime(t, st), responseTime(t, sl)
	t.Logf("setup time: static %v, through the slow service %v", staticSetup, slowSetup)
	if staticSetup > 100*time.Millisecond {
		t.Errorf("static calls' setup %v while the service slept, want < 100ms", staticSetup)
	}
	if slowSetup < 450*time.Millisecond || slowSetup > 1500*time.Millisecond {
		t.Errorf("slow calls' setup %v, want about the 500ms deadline", slowSetup)
	}
	if n := good.invites(t); n != slow+static {
		t.Errorf("good got %d INVITEs, want %d", n, slow+static)
	}
}

// responseTime is SIPp's mean ResponseTime1 (INVITE to 200) of a run.
func responseTime(t *testing.T, r sippResult) time.Duration {
	t.Helper()
	v := r.Stats["ResponseTime1(C)"] // HH:MM:SS:micro
	parts := strings.Split(v, ":")
	if len(parts) != 4 {
		t.Fatalf("ResponseTime1(C) %q", v)
	}
	var d time.Duration
	for i, unit := range []time.Duration{time.Hour, time.Minute, time.Second, time.Microsecond} {
		n, err := strconv.Atoi(parts[i])
		if err != nil {
			t.Fatalf("ResponseTime1(C) %q", v)
		}
		d += time.Duration(n) * unit
	}
	return d
}

// TestRouteAPICancelWhileAsking: the caller CANCELs while the service is
// still thinking: it gets 487, and the route the service then answers is
// never called.
func TestRouteAPICancelWhileAsking(t *testing.T) {
	callee := memberUAS(t, "callee", "uas_call_options.xml", 0)
	svc := startRouteService(t, func(int, map[string]any) (time.Duration, string) {
		return 400 * time.Millisecond, jsonDoc(map[string]any{"version": "1.0", "routes": []map[string]any{
			{"uri": "sip:900@127.0.0.1:" + itoa(callee.Port)}}})
	})
	gw := startSipedge(t, apiConfig(svc.srv.URL, map[string]any{"timeout": "800ms"}, nil, ""))
	c := newUDPClient(t, gw.Addr(t, "udp"))
	c.cseq++
	callID := "cancel-" + randHex(4) + "@test"
	branch := "z9hG4bK" + randHex(8)
	head := func(method string) string {
		return fmt.Sprintf("%s sip:900@example.test SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\n"+
			"From: <sip:alice@example.test>;tag=%s\r\nTo: <sip:900@example.test>\r\nCall-ID: %s\r\nCSeq: %d %s\r\n"+
			"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", method, c.local, branch, c.tag, callID, c.cseq, method)
	}
	if _, err := c.conn.WriteToUDP([]byte(head("INVITE")), c.remote); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the service is asked
	if res := c.roundTrip(t, head("CANCEL"), c.cseq); res.StatusCode != 200 && res.StatusCode != 487 {
		t.Fatalf("first final answer %d, want 200 (CANCEL) or 487 (INVITE)", res.StatusCode)
	}
	time.Sleep(700 * time.Millisecond) // the service has answered meanwhile
	if n := svc.count(); n != 1 {
		t.Fatalf("service asked %d times, want 1", n)
	}
	if n := callee.invites(t); n != 0 {
		t.Fatalf("callee got %d INVITEs after the caller cancelled", n)
	}
}

// TestRouteAPIInviteTimer: a route's fr_inv_timer (1s) replaces
// invite_timeout (120s): the callee rings, is CANCELled after 1s, and
// the caller gets 408.
func TestRouteAPIInviteTimer(t *testing.T) {
	ringer := startSIPp(t, sippRun{Name: "ringer", Scenario: "uas_ring_cancel.xml"})
	svc := startRouteService(t, func(int, map[string]any) (time.Duration, string) {
		return 0, jsonDoc(map[string]any{"version": "1.0", "routes": []map[string]any{
			{"uri": "sip:900@127.0.0.1:" + itoa(ringer.Port), "fr_inv_timer": 1000}}})
	})
	gw := startSipedge(t, apiConfig(svc.srv.URL, nil, nil, ""))
	start := time.Now()
	uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_noanswer.xml", Remote: gw.Addr(t, "udp"), Service: "900"})
	uac.expectAllSuccessful(t, 1)
	ringer.expectAllSuccessful(t, 1)
	if el := time.Since(start); el > 4*time.Second {
		t.Errorf("408 after %v, want about the route's fr_inv_timer (1s)", el)
	}
}
