package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sippRequests are the requests of method a SIPp process received so far
// (it runs with -trace_msg), each as its text.
func sippRequests(t *testing.T, p *sippProc, method string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(p.Dir, "*_messages.log"))
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range strings.Split(string(data), method+" sip:")[1:] {
			if i := strings.Index(msg, "\n\n"); i >= 0 {
				msg = msg[:i]
			}
			out = append(out, msg)
		}
	}
	return out
}

// unregisters counts the REGISTERs among reqs that remove a binding.
func unregisters(reqs []string) int {
	n := 0
	for _, r := range reqs {
		if strings.Contains(r, "Expires: 0\n") || strings.Contains(r, "Expires: 0\r") {
			n++
		}
	}
	return n
}

// providerRegistrar is a SIPp provider registrar counting what it receives.
func providerRegistrar(t *testing.T, name, scenario string) *sippProc {
	t.Helper()
	return startSIPp(t, sippRun{Name: name, Scenario: scenario, Calls: 10, Timeout: 60 * time.Second, Args: []string{"-trace_msg"}})
}

// waitRegisters waits until p has received at least n REGISTERs.
func waitRegisters(t *testing.T, p *sippProc, n int, d time.Duration) []string {
	t.Helper()
	end := time.Now().Add(d)
	for {
		got := sippRequests(t, p, "REGISTER")
		if len(got) >= n {
			return got
		}
		if time.Now().After(end) {
			t.Fatalf("provider %s got %d REGISTERs in %v, want %d", p.Run.Name, len(got), d, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTrunkReloadRegistrations reloads the trunks with SIPp providers as
// their registrars: a trunk left as it was sends no REGISTER; a removed
// one unregisters (expires=0); a trunk refused for a wrong password (403)
// registers at once with the password fixed; an added one registers at
// once. A reload that removes a trunk a route still names, or names a
// missing trunk in a set, is refused whole (file:line:field), and nothing
// is sent to any provider.
func TestTrunkReloadRegistrations(t *testing.T) {
	keep := providerRegistrar(t, "keep", "uas_register_count.xml")
	gone := providerRegistrar(t, "gone", "uas_register_count.xml")
	fix := providerRegistrar(t, "fix", "uas_register_auth_loop.xml")
	added := providerRegistrar(t, "added", "uas_register_count.xml")
	tr := func(p *sippProc, password string) map[string]any {
		return map[string]any{"uris": []string{sipURI(p.Port, "udp")}, "username": "acct", "password": password, "register": true}
	}
	cfg := proxyConfig{
		Admin: map[string]any{"listen": "127.0.0.1:0", "token": adminToken},
		Extra: map[string]any{
			"trunks":             map[string]any{"keep": tr(keep, "pw"), "gone": tr(gone, "pw"), "fix": tr(fix, "old")},
			"routes":             []map[string]any{{"match": map[string]string{"user": `^\+?[0-9]+$`}, "to": []string{"trunk:keep"}}},
			"trunk_registration": map[string]any{"start_delay": "-1s"},
		},
	}
	gw := startSipedge(t, cfg)
	waitRegisters(t, keep, 1, 5*time.Second)
	waitRegisters(t, gone, 1, 5*time.Second)
	waitRegisters(t, fix, 2, 5*time.Second) // 401, then 403 for the old password
	gw.logWithin(t, 5*time.Second, "trunk provider refuses the account", "trunk=fix")

	good := cfg
	good.Extra = map[string]any{
		"trunks":             map[string]any{"keep": tr(keep, "pw"), "fix": tr(fix, "new"), "added": tr(added, "pw")},
		"routes":             []map[string]any{{"match": map[string]string{"user": `^\+?[0-9]+$`}, "to": []string{"trunk:keep"}}},
		"trunk_registration": map[string]any{"start_delay": "-1s"},
	}
	reloaded := time.Now()
	rewrite(t, gw, good.yaml(t))
	gw.logWithin(t, 5*time.Second, "trunk registrations reloaded", "added=[added]", "removed=[gone]", "changed=[fix]", "kept=1")
	if got := waitRegisters(t, gone, 2, 5*time.Second); unregisters(got) != 1 {
		t.Errorf("removed trunk: %d unregisters in %d REGISTERs, want 1:\n%s", unregisters(got), len(got), strings.Join(got, "\n--\n"))
	}
	waitRegisters(t, added, 1, 5*time.Second)
	fixed := waitRegisters(t, fix, 4, 5*time.Second)
	gw.logWithin(t, 5*time.Second, "trunk registered", "trunk=fix")
	gw.logWithin(t, 5*time.Second, "trunk registered", "trunk=added")
	if d := time.Since(reloaded); d > 3*time.Second {
		t.Errorf("the reload took %v to register the fixed and added trunks, want at once", d)
	}
	callID := func(msg string) string {
		for _, l := range strings.Split(msg, "\n") {
			if strings.HasPrefix(l, "Call-ID:") {
				return strings.TrimSpace(strings.TrimPrefix(l, "Call-ID:"))
			}
		}
		return ""
	}
	if callID(fixed[0]) == "" || callID(fixed[3]) != callID(fixed[0]) {
		t.Errorf("the fixed trunk's registration changed Call-ID (%q, then %q): want the same registration refreshed", callID(fixed[0]), callID(fixed[3]))
	}

	// Refused whole: a route naming a trunk the same file removes, and a
	// set member naming a trunk that does not exist.
	broken := good
	broken.Extra = map[string]any{
		"trunks": map[string]any{"fix": tr(fix, "new"), "added": tr(added, "pw")},
		"sets":   map[string]any{"carriers": map[string]any{"members": []string{"trunk:added", "trunk:nope"}}},
		"routes": []map[string]any{
			{"match": map[string]string{"user": `^\+?[0-9]+$`}, "to": []string{"trunk:keep"}},
			{"to": []string{"set:carriers"}},
		},
		"trunk_registration": map[string]any{"start_delay": "-1s"},
	}
	if err := os.WriteFile(gw.Path, broken.yaml(t), 0o600); err != nil {
		t.Fatal(err)
	}
	code, body := adminDo(t, "POST", adminAddr(t, gw), adminToken, "/api/v1/reload")
	if code != 422 {
		t.Errorf("admin reload of the broken file: %d %s, want 422", code, body)
	}
	for _, want := range []string{gw.Path + ":", "routes[0].to[0] (trunk:keep)", `no trunk named \"keep\"`, "sets.carriers.members[1]", "nope"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("refusal lacks %q:\n%s", want, body)
		}
	}
	time.Sleep(time.Second) // anything the refused reload would have sent
	if got := sippRequests(t, keep, "REGISTER"); len(got) != 1 {
		t.Errorf("the unchanged trunk's provider got %d REGISTERs across two reloads, want the first alone:\n%s", len(got), strings.Join(got, "\n--\n"))
	}
	for _, p := range []*sippProc{gone, fix, added} {
		want := map[string]int{"gone": 2, "fix": 4, "added": 1}[p.Run.Name]
		if got := sippRequests(t, p, "REGISTER"); len(got) != want {
			t.Errorf("provider %s got %d REGISTERs, want %d", p.Run.Name, len(got), want)
		}
	}
	var list []struct{ Name, State string }
	if code, body := adminDo(t, "GET", adminAddr(t, gw), adminToken, "/api/v1/trunks"); code != 200 || json.Unmarshal(body, &list) != nil {
		t.Fatalf("GET /api/v1/trunks: %d %s", code, body)
	}
	if len(list) != 3 || list[0].Name != "added" || list[1].Name != "fix" || list[2].Name != "keep" {
		t.Fatalf("trunks after the refused reload: %+v, want added, fix and keep", list)
	}
	for _, tk := range list {
		if tk.State != "registered" {
			t.Errorf("trunk %s is %s, want registered", tk.Name, tk.State)
		}
	}
}

// TestTrunkReloadCalls removes the trunk a call is up on and routes its
// numbers to another trunk: the call in progress finishes on the old
// provider (its BYE reaches it), and the next call goes to the new one;
// the old provider gets no new INVITE.
func TestTrunkReloadCalls(t *testing.T) {
	oldProv := startSIPp(t, sippRun{Name: "old", Scenario: "uas_call.xml", Calls: 1, Timeout: 30 * time.Second, Args: []string{"-trace_msg"}})
	newProv := startSIPp(t, sippRun{Name: "new", Scenario: "uas_call.xml", Calls: 2, Timeout: 30 * time.Second, Args: []string{"-trace_msg"}})
	trunkTo := func(name string, p *sippProc) map[string]any {
		return map[string]any{
			"trunks": map[string]any{name: map[string]any{"uris": []string{sipURI(p.Port, "udp")}, "max_calls": 5}},
			"routes": []map[string]any{{"match": map[string]string{"user": `^\+?[0-9]+$`}, "to": []string{"trunk:" + name}}},
		}
	}
	cfg := callConfig()
	cfg.Extra = trunkTo("old", oldProv)
	gw := startSipedge(t, cfg)
	long := startSIPp(t, sippRun{Name: "long", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"), Service: "+15550199",
		Timeout: 30 * time.Second, Args: []string{"-d", "4000"}}) // 4s in the call
	end := time.Now().Add(5 * time.Second)
	for len(sippRequests(t, oldProv, "ACK")) == 0 {
		if time.Now().After(end) {
			t.Fatal("the call through the old trunk was not set up within 5s")
		}
		time.Sleep(50 * time.Millisecond)
	}

	next := cfg
	next.Extra = trunkTo("new", newProv)
	rewrite(t, gw, next.yaml(t))
	gw.logWithin(t, 5*time.Second, "rules reloaded")
	short := startSIPp(t, sippRun{Name: "short", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"), Service: "+15550199", Calls: 2})
	short.expectAllSuccessful(t, 2)
	if n := len(sippRequests(t, newProv, "INVITE")); n != 2 {
		t.Errorf("the new trunk got %d INVITEs, want the 2 calls placed after the reload", n)
	}
	long.expectAllSuccessful(t, 1)
	oldProv.expectAllSuccessful(t, 1) // its BYE arrived after the trunk was gone
	if n := len(sippRequests(t, oldProv, "INVITE")); n != 1 {
		t.Errorf("the removed trunk got %d INVITEs, want only the call set up before the reload", n)
	}
	if n := len(sippRequests(t, oldProv, "BYE")); n != 1 {
		t.Errorf("the removed trunk got %d BYEs, want the call in progress ended on it", n)
	}
}
