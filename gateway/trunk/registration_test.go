package trunk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
)

// syncBuffer is a log sink safe for the registration goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harness struct {
	clock *fakeClock
	reg   *scripted
	m     *Manager
	logs  *syncBuffer
	start time.Time
}

func carrier(uris ...string) Config {
	if len(uris) == 0 {
		uris = []string{"sip:127.0.0.1:5070"}
	}
	c := Config{URIs: uris, Username: "acct", Password: "pw", Register: true, Expires: 300}
	c.SetDefaults()
	return c
}

// start runs a Manager for trunks against a scripted registrar in fake
// time; jitter is fixed (rand 0.5: start delay half of start_delay, no
// backoff jitter). The Manager is closed at the end of the test.
func start(t *testing.T, trunks map[string]Config, pol RegistrationConfig, setup func(*scripted)) *harness {
	t.Helper()
	return startHeld(t, trunks, pol, setup, nil)
}

// startHeld is start with a lease check (Deps.Held).
func startHeld(t *testing.T, trunks map[string]Config, pol RegistrationConfig, setup func(*scripted), held func(string) bool) *harness {
	t.Helper()
	if pol.Rate == 0 {
		pol.Rate = 1000 // 1ms between REGISTERs: offsets() rounds it away
	}
	pol.SetDefaults()
	h := &harness{clock: newFakeClock(), logs: &syncBuffer{}}
	h.start = h.clock.Now()
	h.reg = newScripted(t, h.clock)
	if setup != nil {
		setup(h.reg)
	}
	h.m = NewManager(pol, trunks, Deps{
		Send: h.reg,
		Contact: func(hop route.Target) sip.Uri {
			u := sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: 5060, UriParams: sip.NewParams()}
			u.UriParams.Add("transport", hop.Transport)
			return u
		},
		Clock: h.clock,
		Held:  held,
		Rand:  func() float64 { return 0.5 },
		Log:   slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	t.Cleanup(h.m.Close)
	return h
}

// offsets are the fake times of the REGISTERs since start, to 100ms (the
// pacing of a fast rate is not shown).
func (h *harness) offsets() []time.Duration {
	var out []time.Duration
	for _, s := range h.reg.sent() {
		out = append(out, h.offset(s))
	}
	return out
}

func (h *harness) offset(s sent) time.Duration {
	return s.at.Sub(h.start).Round(100 * time.Millisecond)
}

func (h *harness) until(t *testing.T, d time.Duration) {
	h.clock.runUntil(t, len(h.m.regs), h.start.Add(d))
}

func one() map[string]Config { return map[string]Config{"carrier": carrier()} }

func TestRegisterDigestAndRefresh(t *testing.T) {
	h := start(t, one(), RegistrationConfig{}, func(s *scripted) { s.grant = 120 })
	h.until(t, 400*time.Second)
	got := h.reg.sent()
	// Start delay 5s (half of 10s); 401, authorized 200 granting 120s;
	// refresh at 80% = 96s, each again challenged (new CSeq each time).
	want := []struct {
		at   time.Duration
		code int
		auth bool
	}{{5 * time.Second, 401, false}, {5 * time.Second, 200, true},
		{101 * time.Second, 401, false}, {101 * time.Second, 200, true},
		{197 * time.Second, 401, false}, {197 * time.Second, 200, true},
		{293 * time.Second, 401, false}, {293 * time.Second, 200, true},
		{389 * time.Second, 401, false}, {389 * time.Second, 200, true}}
	if len(got) != len(want) {
		t.Fatalf("%d REGISTERs at %v, want %d", len(got), h.offsets(), len(want))
	}
	for i, w := range want {
		g := got[i]
		if h.offset(g) != w.at || g.code != w.code || g.authorized != w.auth || g.expires != 300 {
			t.Errorf("REGISTER %d: at %v code %d auth %v expires %d, want at %v code %d auth %v expires 300", i, h.offset(g), g.code, g.authorized, g.expires, w.at, w.code, w.auth)
		}
		if i > 0 && (g.cseq != got[i-1].cseq+1 || g.callID != got[0].callID) {
			t.Errorf("REGISTER %d: CSeq %d Call-ID %s after %d %s: want the next CSeq in one Call-ID", i, g.cseq, g.callID, got[i-1].cseq, got[i-1].callID)
		}
	}
	st := h.m.Status()[0]
	if st.State != StateRegistered || st.Code != 200 || st.Hop.Addr != "127.0.0.1:5070" {
		t.Errorf("status %+v", st)
	}
	if st.Expires.Sub(h.start).Round(100*time.Millisecond) != 389*time.Second+120*time.Second {
		t.Errorf("expires %v, want 120s after the last refresh", st.Expires.Sub(h.start))
	}
}

// TestRegisterExpiresHeader checks that without an expires parameter on our
// Contact the Expires header of the 200 is the lifetime.
func TestRegisterExpiresHeader(t *testing.T) {
	h := start(t, one(), RegistrationConfig{StartDelay: -time.Second}, func(s *scripted) {
		s.hook = func(_ int, req *sip.Request, _ route.Target) (*sip.Response, error) {
			e := sip.ExpiresHeader(60)
			return reply(req, 200, "OK", &e), nil
		}
	})
	h.until(t, 100*time.Second)
	// 60s granted: refresh at 48s.
	if got := fmt.Sprint(h.offsets()); got != "[0s 48s 1m36s]" {
		t.Errorf("REGISTERs at %s, want [0s 48s 1m36s]", got)
	}
}

func TestRegisterForbiddenNoStorm(t *testing.T) {
	h := start(t, one(), RegistrationConfig{}, func(s *scripted) {
		s.hook = func(_ int, req *sip.Request, _ route.Target) (*sip.Response, error) {
			return reply(req, 403, "Forbidden"), nil
		}
	})
	h.until(t, 65*time.Second)
	if n := len(h.reg.sent()); n != 1 {
		t.Fatalf("%d REGISTERs in 60s after a 403 (%v), want 1", n, h.offsets())
	}
	if st := h.m.Status()[0]; st.State != StateForbidden || st.Code != 403 {
		t.Errorf("status %+v, want forbidden 403", st)
	}
	if l := h.logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "trunk provider refuses the account") || !strings.Contains(l, "retry_in=1h0m0s") {
		t.Errorf("no clear error line:\n%s", l)
	}
	h.until(t, 2*time.Hour+10*time.Second)
	if got := fmt.Sprint(h.offsets()); got != "[5s 1h0m5s 2h0m5s]" {
		t.Errorf("REGISTERs at %s, want one an hour", got)
	}
}

func TestRegisterRetryAfter(t *testing.T) {
	h := start(t, one(), RegistrationConfig{StartDelay: -time.Second}, func(s *scripted) {
		s.hook = func(n int, req *sip.Request, _ route.Target) (*sip.Response, error) {
			if n < 2 {
				return reply(req, 503, "Service Unavailable", sip.NewHeader("Retry-After", "120 (maintenance)")), nil
			}
			return nil, nil
		}
	})
	h.until(t, 250*time.Second)
	// 503 at 0 and 120s (Retry-After beats the 30s and 60s backoff), then
	// challenged and registered at 240s.
	if got := fmt.Sprint(h.offsets()); got != "[0s 2m0s 4m0s 4m0s]" {
		t.Errorf("REGISTERs at %s, want [0s 2m0s 4m0s 4m0s]", got)
	}
	if st := h.m.Status()[0]; st.State != StateRegistered || st.Failures != 0 {
		t.Errorf("status %+v", st)
	}
}

func TestRegisterIntervalTooBrief(t *testing.T) {
	h := start(t, one(), RegistrationConfig{StartDelay: -time.Second}, func(s *scripted) {
		s.hook = func(_ int, req *sip.Request, _ route.Target) (*sip.Response, error) {
			if req.GetHeader("Expires").Value() == "300" {
				return reply(req, 423, "Interval Too Brief", sip.NewHeader("Min-Expires", "900")), nil
			}
			return nil, nil
		}
	})
	h.until(t, time.Second)
	got := h.reg.sent()
	if len(got) != 3 || got[0].code != 423 || got[1].expires != 900 || got[1].code != 401 || got[2].expires != 900 || got[2].code != 200 {
		t.Fatalf("REGISTERs %+v, want 423 then 900s challenged and registered", got)
	}
	if st := h.m.Status()[0]; st.State != StateRegistered || st.Expires.Sub(h.start).Round(time.Second) != 900*time.Second {
		t.Errorf("status %+v, want registered for 900s", st)
	}
	// The refresh keeps Min-Expires.
	h.until(t, 730*time.Second)
	if got := h.reg.sent(); len(got) != 5 || got[3].expires != 900 || h.offset(got[3]) != 720*time.Second {
		t.Errorf("refresh %+v, want 900s at 720s", got[3:])
	}
}

func TestRegisterSameNonceTwiceFails(t *testing.T) {
	// A wrong password: the provider challenges again with the same nonce.
	bad := map[string]Config{"carrier": carrier()}
	c := bad["carrier"]
	c.Password = "wrong"
	bad["carrier"] = c
	h := start(t, bad, RegistrationConfig{StartDelay: -time.Second}, func(s *scripted) {
		s.hook = func(_ int, req *sip.Request, _ route.Target) (*sip.Response, error) {
			return reply(req, 401, "Unauthorized", sip.NewHeader("WWW-Authenticate", `Digest realm="carrier.test", nonce="n1", algorithm=MD5`)), nil
		}
	})
	h.until(t, 100*time.Second)
	// Each round: one unanswered and one answered REGISTER; then backoff
	// 30s, 60s.
	if got := fmt.Sprint(h.offsets()); got != "[0s 0s 30s 30s 1m30s 1m30s]" {
		t.Errorf("REGISTERs at %s", got)
	}
	st := h.m.Status()[0]
	if st.State != StateFailed || !strings.Contains(st.Err, "credentials rejected") {
		t.Errorf("status %+v, want failed: credentials rejected", st)
	}
}

func TestRegisterStaleNonceRetried(t *testing.T) {
	h := start(t, one(), RegistrationConfig{StartDelay: -time.Second}, func(s *scripted) {
		s.hook = func(n int, req *sip.Request, _ route.Target) (*sip.Response, error) {
			switch n {
			case 0:
				return reply(req, 401, "Unauthorized", sip.NewHeader("WWW-Authenticate", `Digest realm="carrier.test", nonce="old", algorithm=MD5`)), nil
			case 1:
				return reply(req, 401, "Unauthorized", sip.NewHeader("WWW-Authenticate", `Digest realm="carrier.test", nonce="old", stale=true, algorithm=MD5`)), nil
			case 2:
				if !strings.Contains(req.GetHeader("Authorization").Value(), `nonce="old"`) {
					return reply(req, 500, "want the stale nonce answered"), nil
				}
				res := reply(req, 200, "OK")
				ct := req.Contact().Clone()
				res.AppendHeader(ct)
				return res, nil
			}
			return nil, nil
		}
	})
	h.until(t, time.Second)
	if got := h.reg.sent(); len(got) != 3 || got[2].code != 200 {
		t.Fatalf("REGISTERs %+v, want a stale challenge answered", got)
	}
	if st := h.m.Status()[0]; st.State != StateRegistered {
		t.Errorf("status %+v", st)
	}
}

func TestRegisterBackoff(t *testing.T) {
	h := start(t, one(), RegistrationConfig{StartDelay: -time.Second}, func(s *scripted) {
		s.hook = func(int, *sip.Request, route.Target) (*sip.Response, error) {
			return nil, context.DeadlineExceeded
		}
	})
	h.until(t, 40*time.Minute)
	// 30s doubling to the 10m cap: at 0, 30s, 1m30s, 3m30s, 7m30s, 15m30s, 25m30s, 35m30s.
	if got := fmt.Sprint(h.offsets()); got != "[0s 30s 1m30s 3m30s 7m30s 15m30s 25m30s 35m30s]" {
		t.Errorf("REGISTERs at %s", got)
	}
}

func TestRegisterBackoffJitter(t *testing.T) {
	for _, r := range []float64{0, 1} {
		reg := &Registration{pol: RegistrationConfig{RetryMin: 30 * time.Second, RetryMax: 10 * time.Minute}, rand: func() float64 { return r }}
		if d, want := reg.backoff(1), time.Duration(float64(30*time.Second)*(0.8+0.4*r)); d != want {
			t.Errorf("rand %v: backoff(1) = %v, want %v", r, d, want)
		}
		if d, want := reg.backoff(20), time.Duration(float64(10*time.Minute)*(0.8+0.4*r)); d != want {
			t.Errorf("rand %v: backoff(20) = %v, want %v", r, d, want)
		}
	}
}

// TestRegisterProviderRestart checks that a provider down for a while (no
// answer), then back with new nonces, has the registration back within one
// backoff step.
func TestRegisterProviderRestart(t *testing.T) {
	var down sync.Mutex
	isDown := false
	h := start(t, one(), RegistrationConfig{StartDelay: -time.Second}, func(s *scripted) {
		s.grant = 60
		s.hook = func(int, *sip.Request, route.Target) (*sip.Response, error) {
			down.Lock()
			defer down.Unlock()
			if isDown {
				return nil, context.DeadlineExceeded
			}
			return nil, nil
		}
	})
	h.until(t, time.Second)
	down.Lock()
	isDown = true
	down.Unlock()
	h.until(t, 100*time.Second) // refresh at 48s fails, retries at 78s
	down.Lock()
	isDown = false
	down.Unlock()
	h.reg.auth, _ = newScripted(t, h.clock).auth, 0 // restarted: the old nonces are forgotten
	h.until(t, 200*time.Second)
	st := h.m.Status()[0]
	if st.State != StateRegistered {
		t.Fatalf("status %+v after the provider came back", st)
	}
	// Down at 48s and 78s, back at 138s (78s + 60s backoff).
	var back time.Duration
	for _, s := range h.reg.sent() {
		if s.code == 200 && s.at.Sub(h.start) > 48*time.Second {
			back = h.offset(s)
			break
		}
	}
	if back != 138*time.Second {
		t.Errorf("registered again at %v (%v), want 138s", back, h.offsets())
	}
}

func TestRegisterFailover(t *testing.T) {
	trunks := map[string]Config{"carrier": carrier("sip:127.0.0.1:5071;transport=tcp", "sip:127.0.0.1:5072;transport=tcp")}
	h := start(t, trunks, RegistrationConfig{StartDelay: -time.Second}, func(s *scripted) {
		s.hook = func(_ int, _ *sip.Request, hop route.Target) (*sip.Response, error) {
			if hop.Addr == "127.0.0.1:5071" {
				return nil, fmt.Errorf("dial: %w", syscall.ECONNREFUSED)
			}
			return nil, nil
		}
	})
	h.until(t, time.Second)
	got := h.reg.sent()
	if len(got) != 3 || got[0].hop != "127.0.0.1:5071" || got[1].hop != "127.0.0.1:5072" || got[2].code != 200 {
		t.Fatalf("REGISTERs %+v, want the second URI after the first refused", got)
	}
	if st := h.m.Status()[0]; st.State != StateRegistered || st.Hop.Addr != "127.0.0.1:5072" {
		t.Errorf("status %+v", st)
	}
}

func TestRegisterConnLost(t *testing.T) {
	trunks := map[string]Config{"carrier": carrier("sip:127.0.0.1:5071;transport=tcp")}
	h := start(t, trunks, RegistrationConfig{StartDelay: -time.Second}, nil)
	h.until(t, 10*time.Second)
	h.m.ConnLost("udp", "127.0.0.1:5071") // another transport: ignored
	h.m.ConnLost("tcp", "127.0.0.1:9999") // another address: ignored
	h.m.ConnLost("tcp", "127.0.0.1:5071")
	for i := 0; h.m.Status()[0].State == StateRegistered; i++ {
		if i == 5000 {
			t.Fatal("still registered 5s after the connection was lost")
		}
		time.Sleep(time.Millisecond)
	}
	h.until(t, 11*time.Second)
	if got := fmt.Sprint(h.offsets()); got != "[0s 0s 10s 10s]" {
		t.Errorf("REGISTERs at %s, want a new registration at once (10s)", got)
	}
}

func TestRegisterUnregisterOnClose(t *testing.T) {
	h := start(t, one(), RegistrationConfig{StartDelay: -time.Second}, nil)
	h.until(t, time.Second)
	h.m.Close()
	got := h.reg.sent()
	if len(got) != 4 || got[2].expires != 0 || got[3].expires != 0 || got[3].code != 200 || !got[3].authorized {
		t.Fatalf("REGISTERs %+v, want an authorized expires=0 after Close", got)
	}
	if st := h.m.Status()[0]; st.State != StateClosed {
		t.Errorf("status %+v", st)
	}
	h.m.Close() // idempotent
}

// TestRegisterRateCap starts 50 trunks at once with rate 5/s: the
// REGISTERs of all of them (challenges included) keep to 5 per second.
func TestRegisterRateCap(t *testing.T) {
	trunks := map[string]Config{}
	for i := range 50 {
		trunks[fmt.Sprintf("t%02d", i)] = carrier()
	}
	h := start(t, trunks, RegistrationConfig{Rate: 5, StartDelay: -time.Second}, nil)
	h.until(t, 25*time.Second)
	got := h.reg.sent()
	if len(got) != 100 {
		t.Fatalf("%d REGISTERs, want 100 (50 challenged, 50 registered)", len(got))
	}
	perSecond := map[int64]int{}
	for _, s := range got {
		perSecond[int64(s.at.Sub(h.start)/time.Second)]++
	}
	for sec, n := range perSecond {
		if n > 5 {
			t.Errorf("second %d: %d REGISTERs, cap 5", sec, n)
		}
	}
	for _, st := range h.m.Status() {
		if st.State != StateRegistered {
			t.Errorf("%s: %v", st.Trunk, st.State)
		}
	}
	if last := got[len(got)-1].at.Sub(h.start); last != 99*200*time.Millisecond {
		t.Errorf("last REGISTER at %v, want 19.8s", last)
	}
}

// TestRegisterThousandTrunks starts 1,000 trunks at once with the default
// policy (20 REGISTERs/s; the start delay, here the same 5s for all, is
// no help): no second sees more than 20 REGISTERs, and all are
// registered once the 2,000 REGISTERs (challenge and answer each) have
// had their 100s.
func TestRegisterThousandTrunks(t *testing.T) {
	trunks := map[string]Config{}
	for i := range 1000 {
		trunks[fmt.Sprintf("t%04d", i)] = carrier()
	}
	h := start(t, trunks, RegistrationConfig{Rate: 20}, nil)
	h.until(t, 105*time.Second)
	got := h.reg.sent()
	if len(got) != 2000 {
		t.Fatalf("%d REGISTERs in 105s, want 2000", len(got))
	}
	perSecond := map[int64]int{}
	for _, s := range got {
		perSecond[int64(s.at.Sub(h.start)/time.Second)]++
	}
	for sec, n := range perSecond {
		if n > 20 {
			t.Errorf("second %d: %d REGISTERs, cap 20", sec, n)
		}
	}
	for _, st := range h.m.Status() {
		if st.State != StateRegistered {
			t.Fatalf("%s: %v after 105s", st.Trunk, st.State)
		}
	}
}

// TestReregister: an operator's Reregister cuts the hour-long wait after
// a 403 short; an unknown trunk is an error.
func TestReregister(t *testing.T) {
	forbid := true
	var mu sync.Mutex
	h := start(t, one(), RegistrationConfig{StartDelay: -time.Second}, func(s *scripted) {
		s.hook = func(_ int, req *sip.Request, _ route.Target) (*sip.Response, error) {
			mu.Lock()
			defer mu.Unlock()
			if forbid {
				return reply(req, 403, "Forbidden"), nil
			}
			return nil, nil
		}
	})
	h.until(t, 10*time.Second)
	mu.Lock()
	forbid = false // the operator fixed the account
	mu.Unlock()
	if err := h.m.Reregister("carrier"); err != nil {
		t.Fatal(err)
	}
	for i := 0; h.m.Status()[0].State == StateForbidden; i++ {
		if i == 5000 {
			t.Fatal("still forbidden 5s after Reregister")
		}
		time.Sleep(time.Millisecond)
	}
	h.until(t, 11*time.Second)
	if st := h.m.Status()[0]; st.State != StateRegistered {
		t.Errorf("status %+v after Reregister", st)
	}
	if got := fmt.Sprint(h.offsets()); got != "[0s 10s 10s]" {
		t.Errorf("REGISTERs at %s, want [0s 10s 10s]", got)
	}
	if err := h.m.Reregister("nope"); !errors.Is(err, ErrNotRegistering) {
		t.Errorf("unknown trunk: %v", err)
	}
}

// TestRegisterLease: a trunk whose lease another node holds is not
// registered here (standby, no REGISTER); when the lease comes, it
// registers; when the lease goes, it unregisters and stands by again.
func TestRegisterLease(t *testing.T) {
	var mu sync.Mutex
	held := false
	setHeld := func(v bool) { mu.Lock(); held = v; mu.Unlock() }
	h := startHeld(t, one(), RegistrationConfig{StartDelay: -time.Second}, nil, func(name string) bool {
		mu.Lock()
		defer mu.Unlock()
		return held && name == "carrier"
	})
	h.until(t, 5*time.Second)
	if n := len(h.reg.sent()); n != 0 {
		t.Fatalf("%d REGISTERs without the lease, want 0", n)
	}
	if st := h.m.Status()[0]; st.State != StateStandby {
		t.Fatalf("state %v without the lease, want standby", st.State)
	}
	setHeld(true)
	h.until(t, 8*time.Second)
	if st := h.m.Status()[0]; st.State != StateRegistered {
		t.Fatalf("state %v with the lease, want registered", st.State)
	}
	n := len(h.reg.sent())
	setHeld(false)
	h.until(t, 11*time.Second)
	got := h.reg.sent()
	if st := h.m.Status()[0]; st.State != StateStandby || len(got) <= n || got[len(got)-1].expires != 0 {
		t.Fatalf("after losing the lease: state %v, REGISTERs %+v; want standby after an expires=0", st.State, got[n:])
	}
}
