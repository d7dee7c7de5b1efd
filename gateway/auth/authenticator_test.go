package auth

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

const testRealm = "example.com"

// loadRequest parses a testdata sample (LF or CRLF line ends).
func loadRequest(t testing.TB, name string) *sip.Request {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n", "\r\n")
	msg, err := sip.NewParser().ParseSIP([]byte(s))
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		t.Fatalf("%s is not a request", name)
	}
	return req
}

func testUsers() map[string]Secret {
	ha1 := md5.Sum([]byte("carol:" + testRealm + ":c4r0l"))
	return map[string]Secret{
		"alice": {Password: "s3cret"},
		"bob":   {Password: "hunter2"},
		"carol": {HA1MD5: hex.EncodeToString(ha1[:])},
	}
}

// newTestAuth builds an Authenticator offering algs, or the default
// algorithms when none are given.
func newTestAuth(t testing.TB, algs ...string) *Authenticator {
	t.Helper()
	if len(algs) == 0 {
		algs = []string{MD5, SHA256} // both offered: every test can pick either
	}
	a, err := New(Config{Realm: testRealm, Algorithms: algs, NonceTTL: time.Minute, MaxNonces: 64}, testUsers(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// challengeFor asks a for a challenge and returns the one for alg, parsed
// by the client library.
func challengeFor(t testing.TB, a *Authenticator, req *sip.Request, proxy bool, alg string) *digest.Challenge {
	t.Helper()
	res := a.Challenge(req, proxy, false)
	_, name := headerNames(proxy)
	for _, h := range res.GetHeaders(name) {
		c, err := digest.ParseChallenge(h.Value())
		if err != nil {
			t.Fatalf("client cannot parse our challenge %q: %v", h.Value(), err)
		}
		if c.Algorithm == alg {
			return c
		}
	}
	t.Fatalf("no %s challenge in %s", alg, res)
	return nil
}

// client describes how the test client answers a challenge.
type client struct {
	user, password string
	a1             string // precomputed HA1 instead of password
	alg            string
	uri            string // default: the Request-URI
	count          int
	noQOP          bool
	realm          string // override realm in the credentials
	nonce          string // override nonce (forgery)
	opaque         string // override opaque
}

// authorize adds credentials computed by github.com/icholy/digest (the
// client side) to a clone of req.
func authorize(t testing.TB, req *sip.Request, chal *digest.Challenge, c client, proxy bool) *sip.Request {
	t.Helper()
	ch := *chal
	if c.nonce != "" {
		ch.Nonce = c.nonce
	}
	if c.realm != "" {
		ch.Realm = c.realm
	}
	if c.opaque != "" {
		ch.Opaque = c.opaque
	}
	if c.noQOP {
		ch.QOP = nil
	}
	uri := c.uri
	if uri == "" {
		uri = req.Recipient.String()
	}
	cred, err := digest.Digest(&ch, digest.Options{
		Method: string(req.Method), URI: uri, Username: c.user, Password: c.password,
		A1: c.a1, Count: c.count, Cnonce: "0a4f113b",
	})
	if err != nil {
		t.Fatal(err)
	}
	r := req.Clone()
	name, _ := headerNames(proxy)
	r.AppendHeader(sip.NewHeader(name, cred.String()))
	return r
}

func TestCheck(t *testing.T) {
	carolHA1 := testUsers()["carol"].HA1MD5
	tests := []struct {
		name    string
		algs    []string // configured; default both
		sample  string
		proxy   bool
		c       client
		advance time.Duration // clock moved before Check
		want    string
		err     error
	}{
		{name: "MD5", c: client{user: "alice", password: "s3cret", alg: MD5}, want: "alice"},
		{name: "SHA-256", c: client{user: "alice", password: "s3cret", alg: SHA256}, want: "alice"},
		{name: "SHA-256 proxy INVITE", sample: "invite_sipp.sip", proxy: true, c: client{user: "bob", password: "hunter2", alg: SHA256}, want: "bob"},
		{name: "MD5 nc 7", c: client{user: "bob", password: "hunter2", alg: MD5, count: 7}, want: "bob"},
		{name: "HA1 user MD5", c: client{user: "carol", a1: carolHA1, alg: MD5}, want: "carol"},
		{name: "HA1 user SHA-256 refused", c: client{user: "carol", password: "c4r0l", alg: SHA256}, err: ErrBadCredentials},
		{name: "wrong password", c: client{user: "alice", password: "guess", alg: SHA256}, err: ErrBadCredentials},
		{name: "unknown user", c: client{user: "mallory", password: "x", alg: MD5}, err: ErrBadCredentials},
		{name: "stale nonce", c: client{user: "alice", password: "s3cret", alg: MD5}, advance: 2 * time.Minute, err: ErrStale},
		{name: "stale nonce wrong password", c: client{user: "alice", password: "no", alg: MD5}, advance: 2 * time.Minute, err: ErrBadCredentials},
		{name: "forged nonce", c: client{user: "alice", password: "s3cret", alg: MD5, nonce: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, err: ErrBadCredentials},
		{name: "foreign nonce format", c: client{user: "alice", password: "s3cret", alg: MD5, nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093"}, err: ErrBadCredentials},
		{name: "wrong realm", c: client{user: "alice", password: "s3cret", alg: MD5, realm: "other.org"}, err: ErrNoCredentials},
		{name: "uri not a SIP URI", c: client{user: "alice", password: "s3cret", alg: SHA256, uri: "http://evil.example.net/"}, err: ErrBadCredentials},
		{name: "uri naming the proxy address", c: client{user: "alice", password: "s3cret", alg: SHA256, uri: "sip:127.0.0.1:5060"}, want: "alice"},
		{name: "uri equal but spelled differently", c: client{user: "alice", password: "s3cret", alg: SHA256, uri: "sip:EXAMPLE.com"}, want: "alice"},
		{name: "algorithm not offered", algs: []string{SHA256}, c: client{user: "alice", password: "s3cret", alg: MD5}, err: ErrBadCredentials},
		{name: "missing qop", c: client{user: "alice", password: "s3cret", alg: MD5, noQOP: true}, err: ErrBadCredentials},
		{name: "opaque not ours", c: client{user: "alice", password: "s3cret", alg: MD5, opaque: "feedface"}, err: ErrBadCredentials},
		{name: "wrong header kind", proxy: true, c: client{user: "alice", password: "s3cret", alg: MD5}, err: ErrNoCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestAuth(t, tt.algs...)
			clock := time.Now()
			a.now = func() time.Time { return clock }
			sample := tt.sample
			if sample == "" {
				sample = "register_jssip.sip"
			}
			req := loadRequest(t, sample)
			chalAlg := tt.c.alg
			if tt.c.alg == MD5 && len(tt.algs) == 1 && tt.algs[0] == SHA256 {
				chalAlg = SHA256
			}
			chal := challengeFor(t, a, req, tt.proxy, chalAlg)
			chal.Algorithm = tt.c.alg
			proxyHeader := tt.proxy
			if tt.name == "wrong header kind" {
				proxyHeader = false
			}
			r := authorize(t, req, chal, tt.c, proxyHeader)
			clock = clock.Add(tt.advance)
			user, err := a.Check(r, tt.proxy)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Check error = %v, want %v", err, tt.err)
			}
			if user != tt.want {
				t.Fatalf("user = %q, want %q", user, tt.want)
			}
		})
	}
}

func TestCheckReplay(t *testing.T) {
	a := newTestAuth(t)
	req := loadRequest(t, "register_jssip.sip")
	chal := challengeFor(t, a, req, false, SHA256)
	steps := []struct {
		count int
		err   error
	}{
		{1, nil},
		{1, ErrReplay}, // same header again
		{3, nil},       // gaps are fine
		{2, ErrReplay}, // going back is not
		{3, ErrReplay},
		{4, nil},
	}
	for i, s := range steps {
		r := authorize(t, req, chal, client{user: "alice", password: "s3cret", alg: SHA256, count: s.count}, false)
		if _, err := a.Check(r, false); !errors.Is(err, s.err) {
			t.Fatalf("step %d (nc=%d): err %v, want %v", i, s.count, err, s.err)
		}
	}
	// A wrong response must not burn a nonce-count.
	bad := authorize(t, req, chal, client{user: "alice", password: "bad", alg: SHA256, count: 9}, false)
	if _, err := a.Check(bad, false); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("bad password: %v", err)
	}
	good := authorize(t, req, chal, client{user: "alice", password: "s3cret", alg: SHA256, count: 9}, false)
	if _, err := a.Check(good, false); err != nil {
		t.Fatalf("nc 9 after a failed nc 9: %v", err)
	}
}

// TestNonceTableBounded floods the table with more nonces than it may hold
// and checks that it stays capped and that a pushed-out nonce cannot be
// replayed (it comes back stale instead).
func TestNonceTableBounded(t *testing.T) {
	a := newTestAuth(t) // MaxNonces 64
	req := loadRequest(t, "register_jssip.sip")
	first := challengeFor(t, a, req, false, MD5)
	firstReq := authorize(t, req, first, client{user: "alice", password: "s3cret", alg: MD5}, false)
	if _, err := a.Check(firstReq, false); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		chal := challengeFor(t, a, req, false, MD5)
		r := authorize(t, req, chal, client{user: "alice", password: "s3cret", alg: MD5}, false)
		if _, err := a.Check(r, false); err != nil {
			t.Fatalf("nonce %d: %v", i, err)
		}
	}
	if n := a.nonces.size(); n > 64 {
		t.Fatalf("table holds %d nonces, cap 64", n)
	}
	if _, err := a.Check(firstReq, false); !errors.Is(err, ErrStale) {
		t.Fatalf("replay of an evicted nonce: %v, want ErrStale", err)
	}
}

// TestNonceSweep checks that expired nonces leave the table lazily.
func TestNonceSweep(t *testing.T) {
	a := newTestAuth(t)
	clock := time.Now()
	a.now = func() time.Time { return clock }
	req := loadRequest(t, "register_jssip.sip")
	for range 10 {
		chal := challengeFor(t, a, req, false, MD5)
		if _, err := a.Check(authorize(t, req, chal, client{user: "bob", password: "hunter2", alg: MD5}, false), false); err != nil {
			t.Fatal(err)
		}
	}
	clock = clock.Add(2 * time.Minute)
	chal := challengeFor(t, a, req, false, MD5)
	if _, err := a.Check(authorize(t, req, chal, client{user: "bob", password: "hunter2", alg: MD5}, false), false); err != nil {
		t.Fatal(err)
	}
	if n := a.nonces.size(); n != 1 {
		t.Fatalf("table holds %d nonces after expiry, want 1", n)
	}
}

func TestCheckHeaders(t *testing.T) {
	a := newTestAuth(t)
	req := loadRequest(t, "register_jssip.sip")
	// good returns a fresh valid header value (a new nonce each time).
	good := func() string {
		chal := challengeFor(t, a, req, false, MD5)
		return authorize(t, req, chal, client{user: "alice", password: "s3cret", alg: MD5}, false).GetHeader("Authorization").Value()
	}
	tests := []struct {
		name    string
		headers func() []string
		err     error
		want    string
	}{
		{name: "none", headers: func() []string { return nil }, err: ErrNoCredentials},
		// Another scheme is not for us: challenge (RFC 4475 §3.3.7 regaut01).
		{name: "basic scheme", headers: func() []string { return []string{"Basic YWxpY2U6czNjcmV0"} }, err: ErrNoCredentials},
		{name: "unterminated", headers: func() []string { return []string{`Digest username="alice", realm="example.com", nonce="x`} }, err: ErrMalformed},
		{name: "other realm first", headers: func() []string {
			return []string{`Digest username="alice", realm="other", nonce="n", uri="sip:x", response="r"`, good()}
		}, want: "alice"},
		{name: "malformed first", headers: func() []string { return []string{"Digest ,,,=", good()} }, want: "alice"},
		{name: "missing response", headers: func() []string {
			return []string{`Digest username="alice", realm="example.com", nonce="n", uri="sip:example.com"`}
		}, err: ErrMalformed},
		{name: "bad nc", headers: func() []string { return []string{strings.Replace(good(), "nc=00000001", "nc=zz", 1)} }, err: ErrMalformed},
		{name: "upper-case response", headers: func() []string {
			v := good()
			i := strings.Index(v, `response="`) + len(`response="`)
			return []string{v[:i] + strings.ToUpper(v[i:i+32]) + v[i+32:]}
		}, want: "alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := req.Clone()
			for _, h := range tt.headers() {
				r.AppendHeader(sip.NewHeader("Authorization", h))
			}
			user, err := a.Check(r, false)
			if !errors.Is(err, tt.err) || user != tt.want {
				t.Fatalf("got (%q, %v), want (%q, %v)", user, err, tt.want, tt.err)
			}
		})
	}
}

// TestChallenge checks a challenge for [MD5, SHA-256]: one header per
// algorithm, in that order, sharing one nonce.
func TestChallenge(t *testing.T) {
	a := newTestAuth(t, MD5, SHA256)
	req := loadRequest(t, "register_jssip.sip")
	for _, tt := range []struct {
		proxy, stale bool
		code         int
		header       string
	}{
		{false, false, 401, "WWW-Authenticate"},
		{true, false, 407, "Proxy-Authenticate"},
		{false, true, 401, "WWW-Authenticate"},
	} {
		res := a.Challenge(req, tt.proxy, tt.stale)
		if res.StatusCode != tt.code {
			t.Fatalf("code %d, want %d", res.StatusCode, tt.code)
		}
		if tag, ok := res.To().Params.Get("tag"); !ok || tag == "" {
			t.Fatalf("no To tag in %s", res)
		}
		hs := res.GetHeaders(tt.header)
		if len(hs) != 2 {
			t.Fatalf("%d %s headers, want 2", len(hs), tt.header)
		}
		var nonce string
		for i, want := range []string{MD5, SHA256} {
			c, err := digest.ParseChallenge(hs[i].Value())
			if err != nil {
				t.Fatal(err)
			}
			if c.Algorithm != want || c.Realm != testRealm || !c.SupportsQOP("auth") || c.Stale != tt.stale || c.Opaque == "" || len(c.Nonce) != nonceLen {
				t.Fatalf("challenge %d = %+v, want algorithm %s", i, c, want)
			}
			if i > 0 && c.Nonce != nonce {
				t.Fatalf("challenge %d nonce %q, want the first one's %q", i, c.Nonce, nonce)
			}
			nonce = c.Nonce
		}
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		users map[string]Secret
		ok    bool
	}{
		{"defaults", Config{Realm: "r"}, testUsers(), true},
		{"no realm", Config{}, nil, false},
		{"bad algorithm", Config{Realm: "r", Algorithms: []string{"SHA-512"}}, nil, false},
		{"algorithm twice", Config{Realm: "r", Algorithms: []string{MD5, SHA256, MD5}}, nil, false},
		{"max nonces negative", Config{Realm: "r", MaxNonces: -1}, nil, false},
		{"short ttl", Config{Realm: "r", NonceTTL: time.Millisecond}, nil, false},
		{"user without secret", Config{Realm: "r"}, map[string]Secret{"x": {}}, false},
		{"user with both", Config{Realm: "r"}, map[string]Secret{"x": {Password: "p", HA1MD5: strings.Repeat("0", 32)}}, false},
		{"bad ha1", Config{Realm: "r"}, map[string]Secret{"x": {HA1MD5: "xyz"}}, false},
		{"colon in name", Config{Realm: "r"}, map[string]Secret{"a:b": {Password: "p"}}, false},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg, tt.users, nil)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err %v", tt.name, err)
		}
		if err != nil && !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v does not wrap ErrConfig", tt.name, err)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	for _, alg := range []string{MD5, SHA256} {
		b.Run(alg, func(b *testing.B) {
			a := newTestAuth(b)
			req := loadRequest(b, "register_jssip.sip")
			chal := challengeFor(b, a, req, false, alg)
			reqs := make([]*sip.Request, b.N)
			for i := range reqs {
				reqs[i] = authorize(b, req, chal, client{user: "alice", password: "s3cret", alg: alg, count: i + 1}, false)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := a.Check(reqs[i], false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestCheckConcurrent runs Check and Challenge from several goroutines
// (meant for -race) with a table small enough to evict under load; a
// nonce-count must never be accepted twice. A fresh nonce may come back
// stale when a newer one was evicted before its first use (by design: the
// client re-challenges).
func TestCheckConcurrent(t *testing.T) {
	a := newTestAuth(t)
	a.nonces = newNonces(time.Minute, 16) // small table: eviction under load
	req := loadRequest(t, "register_jssip.sip")
	const workers, rounds = 4, 50
	type result struct{ ok, replay, stale, fresh int }
	results := make([]result, workers)
	var wg sync.WaitGroup
	shared := challengeFor(t, a, req, false, SHA256)
	sharedReq := authorize(t, req, shared, client{user: "alice", password: "s3cret", alg: SHA256}, false)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				chal := challengeFor(t, a, req, false, MD5)
				switch _, err := a.Check(authorize(t, req, chal, client{user: "bob", password: "hunter2", alg: MD5, count: i + 1}, false), false); {
				case err == nil:
					results[w].fresh++
				case !errors.Is(err, ErrStale):
					t.Errorf("fresh nonce: %v", err)
					return
				}
				// Everybody replays the same header: at most one success.
				_, err := a.Check(sharedReq, false)
				switch {
				case err == nil:
					results[w].ok++
				case errors.Is(err, ErrReplay):
					results[w].replay++
				case errors.Is(err, ErrStale):
					results[w].stale++
				default:
					t.Errorf("shared header: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	ok, fresh := 0, 0
	for _, r := range results {
		ok += r.ok
		fresh += r.fresh
	}
	if fresh < workers*rounds/2 {
		t.Fatalf("only %d of %d fresh nonces accepted", fresh, workers*rounds)
	}
	if ok != 1 {
		t.Fatalf("the shared header was accepted %d times, want exactly 1", ok)
	}
	if n := a.nonces.size(); n > 16 {
		t.Fatalf("table holds %d nonces, cap 16", n)
	}
}

// TestDefaultChallengeIsMD5Alone: with no algorithms configured, a
// challenge carries one MD5 header, the only list SIPp, JsSIP and baresip
// all answer.
func TestDefaultChallengeIsMD5Alone(t *testing.T) {
	c := Config{Realm: testRealm}
	c.SetDefaults()
	a, err := New(c, testUsers(), nil)
	if err != nil {
		t.Fatal(err)
	}
	res := a.Challenge(loadRequest(t, "register_jssip.sip"), false, false)
	hs := res.GetHeaders("WWW-Authenticate")
	if len(hs) != 1 {
		t.Fatalf("%d WWW-Authenticate headers, want 1", len(hs))
	}
	ch, err := digest.ParseChallenge(hs[0].Value())
	if err != nil {
		t.Fatal(err)
	}
	if ch.Algorithm != "MD5" {
		t.Fatalf("algorithm %q, want MD5", ch.Algorithm)
	}
}

// BenchmarkChallengeHeaders measures what a challenge costs the
// authenticator: a nonce and one header per algorithm.
func BenchmarkChallengeHeaders(b *testing.B) {
	a := newTestAuth(b)
	b.ReportAllocs()
	for b.Loop() {
		if hs := a.ChallengeHeaders(false, false); len(hs) != 2 {
			b.Fatal("no challenge")
		}
	}
}
