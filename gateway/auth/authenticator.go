package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Authenticator checks digest credentials and builds challenges. It is safe
// for concurrent use.
type Authenticator struct {
	realm  string
	algs   []string // offered, canonical spelling
	users  map[string]ha1s
	opaque string
	nonces *nonces
	shared Shared           // nil on a single node
	chal   []challengeParts // per entry of algs
	log    *slog.Logger
	now    func() time.Time // tests replace it
}

// ha1s are the precomputed HA1 values of one user ("" when not available).
type ha1s struct{ md5, sha256 string }

// New builds an Authenticator for the given subscribers. cfg gets its
// defaults applied; an invalid cfg or secret is an error wrapping ErrConfig.
func New(cfg Config, users map[string]Secret, log *slog.Logger, opts ...Option) (*Authenticator, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "auth")
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	a := &Authenticator{
		realm:  cfg.Realm,
		algs:   append([]string(nil), cfg.Algorithms...),
		users:  make(map[string]ha1s, len(users)),
		nonces: newNonces(cfg.NonceTTL, cfg.MaxNonces),
		log:    log,
		now:    time.Now,
	}
	for _, o := range opts {
		o(a)
	}
	if a.shared != nil {
		if k := a.shared.NonceKey(); len(k) == len(a.nonces.key) {
			copy(a.nonces.key[:], k)
		}
		a.opaque = sharedOpaque(a.nonces.key[:])
	} else {
		var op [8]byte
		_, _ = rand.Read(op[:])
		a.opaque = hex.EncodeToString(op[:])
	}
	for _, alg := range a.algs {
		a.chal = append(a.chal, newChallengeParts(a.realm, a.opaque, alg))
	}
	var errs []error
	for name, s := range users {
		switch {
		case name == "" || strings.ContainsAny(name, ":\"\\"):
			errs = append(errs, fmt.Errorf("user %q: name must not be empty or contain ':', '\"' or '\\'", name))
		case s.Password != "" && s.HA1MD5 != "":
			errs = append(errs, fmt.Errorf("user %q: give Password or HA1MD5, not both", name))
		case s.Password != "":
			a.users[name] = ha1s{
				md5:    hashHex(MD5, name, ":", a.realm, ":", s.Password),
				sha256: hashHex(SHA256, name, ":", a.realm, ":", s.Password),
			}
		case len(s.HA1MD5) == 32 && isHex(s.HA1MD5):
			a.users[name] = ha1s{md5: strings.ToLower(s.HA1MD5)}
		default:
			errs = append(errs, fmt.Errorf("user %q: needs Password or HA1MD5 (32 hex digits)", name))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
	}
	return a, nil
}

// headerNames returns the credentials and challenge header names.
func headerNames(proxy bool) (creds, chal string) {
	if proxy {
		return "Proxy-Authorization", "Proxy-Authenticate"
	}
	return "Authorization", "WWW-Authenticate"
}

// Check verifies the Authorization (proxy=false) or Proxy-Authorization
// (proxy=true) header of req whose realm is ours and returns the
// authenticated user name. The error is one of ErrNoCredentials, ErrStale,
// ErrBadCredentials, ErrReplay or ErrMalformed (possibly wrapped with
// detail; test with errors.Is).
func (a *Authenticator) Check(req *sip.Request, proxy bool) (string, error) {
	name, _ := headerNames(proxy)
	var malformed error
	// Walk the headers directly: sipgo's GetHeaders allocates per header.
	for _, h := range req.Headers() {
		if !strings.EqualFold(h.Name(), name) {
			continue
		}
		c, err := parseCredentials(h.Value())
		if errors.Is(err, errNotDigest) {
			continue
		}
		if err != nil {
			if malformed == nil {
				malformed = err
			}
			continue
		}
		if c.realm != a.realm {
			continue
		}
		if err := a.verify(&c, req); err != nil {
			return "", err
		}
		return c.username, nil
	}
	if malformed != nil {
		return "", malformed
	}
	return "", ErrNoCredentials
}

// verify checks one parsed credentials set against req.
func (a *Authenticator) verify(c *credentials, req *sip.Request) error {
	if c.username == "" || c.nonce == "" || c.uri == "" || c.response == "" {
		return fmt.Errorf("%w: username, nonce, uri and response are required", ErrMalformed)
	}
	alg := a.offered(c.algorithm)
	if alg == "" {
		return fmt.Errorf("%w: algorithm %q not offered", ErrBadCredentials, c.algorithm)
	}
	if !strings.EqualFold(c.qop, "auth") {
		return fmt.Errorf("%w: qop %q, want auth", ErrBadCredentials, c.qop)
	}
	nc, err := parseNC(c.nc)
	if err != nil || c.cnonce == "" {
		return fmt.Errorf("%w: qop=auth needs nc (8 hex digits) and cnonce", ErrMalformed)
	}
	// opaque is checked when sent; it protects nothing the nonce's MAC
	// does not, so a client that omits it is not refused.
	if c.opaque != "" && c.opaque != a.opaque {
		return fmt.Errorf("%w: opaque not ours", ErrBadCredentials)
	}
	// The digest uri is covered by the response hash. It may differ from
	// our Request-URI (SIPp and some phones put the proxy address there, and
	// an earlier proxy may have rewritten the Request-URI), so it only has
	// to be a SIP URI; nonce counts stop replays.
	if !uriMatches(c.uri, &req.Recipient) && !isSIPURI(c.uri) {
		return fmt.Errorf("%w: uri %q is not a SIP URI", ErrBadCredentials, c.uri)
	}
	id, issued, ok := a.nonces.verify(c.nonce)
	if !ok {
		return fmt.Errorf("%w: nonce not issued by us", ErrBadCredentials)
	}
	u, ok := a.users[c.username]
	if !ok {
		return fmt.Errorf("%w: unknown user %q", ErrBadCredentials, c.username)
	}
	ha1 := u.md5
	if alg == SHA256 {
		ha1 = u.sha256
	}
	if ha1 == "" {
		return fmt.Errorf("%w: user %q has no %s secret (HA1 allows MD5 only)", ErrBadCredentials, c.username, alg)
	}
	// response = H(HA1:nonce:nc:cnonce:qop:H(method:uri)), in stack buffers.
	var buf [512]byte
	var ha2, want [sha256.Size * 2]byte
	msg := append(append(append(buf[:0], req.Method...), ':'), c.uri...)
	h2 := digestHex(&ha2, alg, msg)
	msg = append(append(buf[:0], ha1...), ':')
	for _, p := range [...]string{c.nonce, c.nc, c.cnonce, c.qop} {
		msg = append(append(msg, p...), ':')
	}
	msg = append(msg, h2...)
	if !hexEqualFold(c.response, digestHex(&want, alg, msg)) {
		return fmt.Errorf("%w: wrong response for user %q", ErrBadCredentials, c.username)
	}
	now := a.now()
	if a.nonces.expired(issued, now) {
		return ErrStale
	}
	if err := a.nonces.use(id, issued, nc, now); err != nil {
		return err
	}
	if a.shared != nil {
		return a.useShared(id, nc)
	}
	return nil
}

// offered returns the canonical name of algorithm alg (absent means MD5)
// if we offer it, else "".
func (a *Authenticator) offered(alg string) string {
	if alg == "" {
		alg = MD5
	}
	for _, o := range a.algs {
		if strings.EqualFold(o, alg) {
			return o
		}
	}
	return ""
}

// parseNC parses a nonce-count: 1 to 8 hex digits.
func parseNC(s string) (uint32, error) {
	if s == "" || len(s) > 8 {
		return 0, strconv.ErrSyntax
	}
	v, err := strconv.ParseUint(s, 16, 32)
	return uint32(v), err
}

// Challenge returns the response that asks for credentials: 401 with one
// WWW-Authenticate header per configured algorithm (proxy=false), or 407
// with Proxy-Authenticate (proxy=true). All headers share one fresh nonce;
// stale=true is added when asked (after ErrStale). A caller that builds
// its own response adds ChallengeHeaders to it.
func (a *Authenticator) Challenge(req *sip.Request, proxy, stale bool) *sip.Response {
	code, reason := ChallengeStatus(proxy)
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range a.ChallengeHeaders(proxy, stale) {
		res.AppendHeader(h)
	}
	return res
}

// ChallengeStatus returns the status code and reason phrase of a
// challenge: 401 Unauthorized, or 407 Proxy Authentication Required.
func ChallengeStatus(proxy bool) (int, string) {
	if proxy {
		return 407, "Proxy Authentication Required"
	}
	return 401, "Unauthorized"
}

// ChallengeHeaders returns the headers of a challenge: one
// WWW-Authenticate (proxy=false) or Proxy-Authenticate (proxy=true) per
// configured algorithm, all with one fresh nonce, stale=true when asked.
func (a *Authenticator) ChallengeHeaders(proxy, stale bool) []sip.Header {
	_, name := headerNames(proxy)
	nonce := a.nonces.mint(a.now())
	out := make([]sip.Header, 0, len(a.algs))
	for i := range a.algs {
		p := &a.chal[i]
		suffix := p.suffix
		if stale {
			suffix = p.staleSuffix
		}
		out = append(out, sip.NewHeader(name, p.prefix+nonce+suffix))
	}
	return out
}

// challengeParts are the fixed text around the nonce of one challenge
// header value, made once in New.
type challengeParts struct{ prefix, suffix, staleSuffix string }

func newChallengeParts(realm, opaque, alg string) challengeParts {
	var b strings.Builder
	b.WriteString(`Digest realm="`)
	writeQuoted(&b, realm)
	b.WriteString(`", nonce="`)
	suffix := `", opaque="` + opaque + `", algorithm=` + alg + `, qop="auth"`
	return challengeParts{prefix: b.String(), suffix: suffix, staleSuffix: suffix + ", stale=true"}
}

// writeQuoted writes s escaped for the inside of a quoted-string.
func writeQuoted(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
}

// Realm returns the digest realm.
func (a *Authenticator) Realm() string { return a.realm }
