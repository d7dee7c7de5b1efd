package ban

import (
	"bytes"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable time for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// lockedBuf is a log sink safe for concurrent writers.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func newTest(t *testing.T, cfg Config, trusted ...string) (*Bans, *clock, *lockedBuf) {
	t.Helper()
	var ps []netip.Prefix
	for _, s := range trusted {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	var logs lockedBuf
	b := New(cfg, ps, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	b.now = clk.now
	t.Cleanup(b.Close)
	return b, clk, &logs
}

var (
	attacker = netip.MustParseAddr("192.0.2.66")
	phone    = netip.MustParseAddr("198.51.100.7")
	trunk    = netip.MustParseAddr("203.0.113.5")
)

// TestRateAcrossWindows: a flood that starts late in one window gets
// about max_requests through, not the rest of that window's allowance
// plus the next window's (fixed windows let nearly twice through).
func TestRateAcrossWindows(t *testing.T) {
	for _, lead := range []time.Duration{0, 10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond, 300 * time.Millisecond} {
		b, clk, _ := newTest(t, Config{Window: 2 * time.Second, MaxRequests: 400})
		clk.t = time.Unix(1_800_000_000, 0).Add(-lead) // lead before a boundary
		passed := 0
		for range 20_000 { // 2,000 requests/s for 10 s
			if !b.Packet(attacker) {
				passed++
			}
			clk.add(time.Second / 2000)
		}
		if passed > 420 || passed < 400 {
			t.Errorf("flood starting %v before a window boundary: %d requests passed, want 400..420", lead, passed)
		}
	}
}

func TestRate(t *testing.T) {
	b, clk, logs := newTest(t, Config{Window: time.Second, MaxRequests: 50}, "203.0.113.0/24")
	b.Vouch(phone)
	for _, tt := range []struct {
		name   string
		ip     netip.Addr
		banned bool
	}{
		{"untrusted flood", attacker, true},
		{"trusted network", trunk, false},
		{"authenticated address", phone, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			at := -1
			for i := range 200 {
				if b.Packet(tt.ip) {
					at = i
					break
				}
			}
			if tt.banned != (at >= 0) || tt.banned && at != 50 {
				t.Fatalf("dropped at request %d, want banned=%v at request 50 (the 51st)", at, tt.banned)
			}
			if b.Banned(tt.ip) != tt.banned {
				t.Fatalf("Banned = %v", !tt.banned)
			}
		})
	}
	// A steady source below the limit is never banned.
	other := netip.MustParseAddr("192.0.2.1")
	for range 10 * 45 {
		if b.Packet(other) {
			t.Fatal("a source below the limit was banned")
		}
		clk.add(time.Second / 45)
	}
	if n := strings.Count(logs.String(), `msg="source banned"`); n != 1 {
		t.Fatalf("%d ban lines, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), `msg="source banned" component=ban src=192.0.2.66 reason=rate`) {
		t.Fatalf("ban line not in the documented form:\n%s", logs.String())
	}
	// The ban expires.
	clk.add(15*time.Minute + time.Second)
	if b.Banned(attacker) || b.Packet(attacker) {
		t.Fatal("still banned after ban time")
	}
}

func TestScannerAndAuth(t *testing.T) {
	b, _, logs := newTest(t, Config{MaxAuthFailures: 3}, "203.0.113.0/24")
	for _, tt := range []struct {
		ua   string
		ip   netip.Addr
		drop bool
	}{
		{"Linphone/5.2", phone, false},
		{"", phone, false},
		{"friendly-scanner", attacker, true},
		{"SIPVICIOUS 0.3", netip.MustParseAddr("192.0.2.67"), true},
		{"pplsip sipcli/v1.8", netip.MustParseAddr("192.0.2.68"), true},
		{"VaxSIPUserAgent/3.1", netip.MustParseAddr("192.0.2.69"), true},
		{"friendly-scanner", trunk, false}, // a trunk relaying it
	} {
		if got := b.Request(tt.ip, tt.ua); got != tt.drop {
			t.Errorf("Request(%v, %q) = %v, want %v", tt.ip, tt.ua, got, tt.drop)
		}
	}
	if !b.Banned(attacker) || b.Banned(trunk) || b.Banned(phone) {
		t.Fatal("bans wrong after scanners")
	}
	guesser := netip.MustParseAddr("192.0.2.99")
	for i := range 3 {
		b.AuthFailed(guesser)
		if b.Banned(guesser) {
			t.Fatalf("banned after %d failures, limit 3", i+1)
		}
	}
	b.AuthFailed(guesser)
	if !b.Banned(guesser) {
		t.Fatal("not banned after 4 failures")
	}
	for range 10 {
		b.AuthFailed(trunk)
	}
	if b.Banned(trunk) {
		t.Fatal("trusted source banned for auth failures")
	}
	if !strings.Contains(logs.String(), "reason=auth") || !strings.Contains(logs.String(), "reason=scanner") {
		t.Fatal(logs.String())
	}
}

func TestListAddLift(t *testing.T) {
	b, clk, logs := newTest(t, Config{}, "203.0.113.0/24")
	if until := b.Add(trunk, time.Minute, "carrier test"); !until.Equal(clk.now().Add(time.Minute)) {
		t.Fatalf("Add returned %v, want now + 1m", until)
	}
	clk.add(time.Second)
	b.Request(attacker, "friendly-scanner")
	l := b.List()
	if len(l) != 2 || l[0].Addr != attacker || l[0].Reason != ReasonScanner || l[0].Note != "" ||
		l[1].Addr != trunk || l[1].Reason != ReasonManual || l[1].Note != "carrier test" {
		t.Fatalf("List() = %+v", l)
	}
	if !strings.Contains(logs.String(), `msg="source banned" component=ban src=203.0.113.5 reason=manual for=1m0s`) ||
		!strings.Contains(logs.String(), `note="carrier test"`) {
		t.Fatalf("manual ban log line missing:\n%s", logs)
	}
	if !b.Banned(trunk) {
		t.Fatal("a manual ban of a trusted address must hold")
	}
	if !b.Lift(attacker) || b.Lift(attacker) || b.Banned(attacker) {
		t.Fatal("Lift")
	}
	if n := strings.Count(logs.String(), `msg="ban lifted" component=ban src=`+attacker.String()+" reason=scanner"); n != 1 {
		t.Fatalf("%d \"ban lifted\" lines, want 1:\n%s", n, logs)
	}
	clk.add(time.Minute)
	if len(b.List()) != 0 {
		t.Fatalf("expired ban listed: %+v", b.List())
	}
	// IPv4-mapped IPv6 is the same source.
	b.Add(netip.MustParseAddr("::ffff:192.0.2.66"), 0, "")
	if !b.Banned(attacker) {
		t.Fatal("mapped address not matched")
	}
}

// TestBounded floods from a million spoofed sources with a scanner's
// User-Agent and at high rate: the tables stay within their caps and a
// real flooder is still caught.
func TestBounded(t *testing.T) {
	b, _, _ := newTest(t, Config{MaxBans: 1000, MaxRequests: 100})
	for i := range 1 << 20 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		b.Packet(ip)
		if i%16 == 0 {
			b.Request(ip, "friendly-scanner")
			b.AuthFailed(ip)
		}
		if i%8 == 0 {
			b.Packet(attacker)
		}
	}
	b.mu.RLock()
	nb, na := len(b.bans), len(b.auth)
	b.mu.RUnlock()
	if nb > 1000 || na > 1000 {
		t.Fatalf("%d bans, %d failure counts: caps 1000", nb, na)
	}
	if !b.Banned(attacker) {
		t.Fatal("the flooder among spoofed sources was not banned")
	}
}

func TestNoAllocs(t *testing.T) {
	b, _, _ := newTest(t, Config{})
	b.Add(attacker, 0, "")
	if n := testing.AllocsPerRun(1000, func() {
		b.Packet(phone)
		b.Packet(attacker)
		b.Request(phone, "Linphone/5.2 (belle-sip/5.2)")
	}); n != 0 {
		t.Fatalf("%v allocations per packet, want 0", n)
	}
}

func TestListener(t *testing.T) {
	b, _, _ := newTest(t, Config{})
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := Listener(raw, b)
	defer ln.Close()
	b.Add(netip.MustParseAddr("127.0.0.2"), 0, "")
	accepted := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	dial := func(src string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: time.Second}
		c, err := d.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	banned := dial("127.0.0.2")
	defer banned.Close()
	_ = banned.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := banned.Read(make([]byte, 1)); err == nil {
		t.Fatal("banned connection was not closed")
	}
	ok := dial("127.0.0.1")
	defer ok.Close()
	select {
	case c := <-accepted:
		if c.RemoteAddr().(*net.TCPAddr).IP.String() != "127.0.0.1" {
			t.Fatalf("accepted %v", c.RemoteAddr())
		}
		_ = c.Close()
	case <-time.After(2 * time.Second):
		t.Fatal("clean connection not accepted")
	}
	_ = ln.Close()
	for c := range accepted {
		_ = c.Close()
	}
}

func FuzzContainsFold(f *testing.F) {
	f.Add("Friendly-Scanner 1.0", "friendly-scanner")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, s, sub string) {
		sub = strings.ToLower(sub)
		if !isASCII(sub) || !isASCII(s) {
			return
		}
		if got, want := containsFold(s, sub), strings.Contains(strings.ToLower(s), sub); got != want {
			t.Fatalf("containsFold(%q, %q) = %v, want %v", s, sub, got, want)
		}
	})
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func BenchmarkPacket(b *testing.B) {
	bans := New(Config{}, nil, nil)
	defer bans.Close()
	bans.Add(attacker, 0, "")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bans.Packet(phone)
		}
	})
}

func BenchmarkPacketSerial(b *testing.B) {
	bans := New(Config{}, nil, nil)
	defer bans.Close()
	bans.Add(attacker, 0, "")
	b.ReportAllocs()
	for b.Loop() {
		bans.Packet(phone)
	}
}

func BenchmarkBannedNone(b *testing.B) {
	bans := New(Config{}, nil, nil)
	defer bans.Close()
	b.ReportAllocs()
	for b.Loop() {
		bans.Banned(phone)
	}
}

func TestShareAndApply(t *testing.T) {
	var shared []Entry
	cfg := Config{}
	cfg.SetDefaults()
	b := New(cfg, nil, nil, WithShare(func(e Entry) { shared = append(shared, e) }))
	defer b.Close()
	ip := netip.MustParseAddr("192.0.2.1")
	b.Add(ip, time.Minute, "")
	if len(shared) != 1 || shared[0].Addr != ip || shared[0].Reason != ReasonManual {
		t.Fatalf("shared %+v after Add, want one manual ban of %v", shared, ip)
	}
	other := netip.MustParseAddr("192.0.2.2")
	b.Apply(Entry{Addr: other, Reason: "rate", Until: time.Now().Add(time.Minute)})
	if !b.Banned(other) {
		t.Fatal("an applied ban is not in force")
	}
	if len(shared) != 1 {
		t.Fatalf("an applied ban was shared again: %+v", shared)
	}
	b.Apply(Entry{Addr: netip.MustParseAddr("192.0.2.3"), Until: time.Now().Add(-time.Second)})
	if b.Banned(netip.MustParseAddr("192.0.2.3")) {
		t.Fatal("an expired ban was applied")
	}
}
