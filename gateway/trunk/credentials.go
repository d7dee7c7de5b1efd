package trunk

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Credentials answer a provider's digest challenges (RFC 3261 §22.2,
// RFC 7616 algorithms) for one trunk.
type Credentials struct {
	// Username is the digest user name.
	Username string
	// Password is the digest password.
	Password string
	// Realm, when not empty, is the only realm answered.
	Realm string
}

// CredentialsOf returns the digest credentials of a trunk (after
// SetDefaults).
func CredentialsOf(c Config) Credentials {
	return Credentials{Username: c.AuthUsername, Password: c.Password, Realm: c.Realm}
}

// Challenge is the parsed challenge of a 401 or 407.
type Challenge struct {
	// Proxy is true for 407 (Proxy-Authenticate, answered with
	// Proxy-Authorization).
	Proxy bool
	c     *digest.Challenge
}

// Nonce is the challenge's nonce.
func (c Challenge) Nonce() string { return c.c.Nonce }

// Stale reports stale=true: the previous answer was right but its nonce
// expired, so answering the new nonce is not a credentials failure.
func (c Challenge) Stale() bool { return c.c.Stale }

// Realm is the challenge's realm.
func (c Challenge) Realm() string { return c.c.Realm }

// ParseChallenge reads the first digest challenge we can answer from a
// 401 (WWW-Authenticate) or 407 (Proxy-Authenticate).
func ParseChallenge(res *sip.Response) (Challenge, error) {
	name, proxy := "WWW-Authenticate", false
	if res.StatusCode == sip.StatusProxyAuthRequired {
		name, proxy = "Proxy-Authenticate", true
	}
	var first error
	for _, h := range res.GetHeaders(name) {
		c, err := digest.ParseChallenge(h.Value())
		if err == nil && !digest.CanDigest(c) {
			err = fmt.Errorf("algorithm %q, qop %v", c.Algorithm, c.QOP)
		}
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		return Challenge{Proxy: proxy, c: c}, nil
	}
	if first == nil {
		first = fmt.Errorf("no %s header", name)
	}
	return Challenge{}, fmt.Errorf("%w: %w", ErrChallenge, first)
}

// Authorize adds to req (which the caller has cloned, with its new CSeq)
// the Authorization or Proxy-Authorization answering ch, replacing an
// earlier one of the same name.
func (cr Credentials) Authorize(req *sip.Request, ch Challenge) error {
	if cr.Username == "" {
		return fmt.Errorf("%w: the trunk has no credentials", ErrChallenge)
	}
	if cr.Realm != "" && !strings.EqualFold(cr.Realm, ch.c.Realm) {
		return fmt.Errorf("%w: realm %q is not the trunk's %q", ErrChallenge, ch.c.Realm, cr.Realm)
	}
	body := req.Body()
	cred, err := digest.Digest(ch.c, digest.Options{
		Method:   req.Method.String(),
		URI:      req.Recipient.String(),
		Username: cr.Username,
		Password: cr.Password,
		Count:    1,
		GetBody:  bodyReader(body),
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrChallenge, err)
	}
	name := "Authorization"
	if ch.Proxy {
		name = "Proxy-Authorization"
	}
	removeRealm(req, name, ch.c.Realm)
	req.AppendHeader(sip.NewHeader(name, cred.String()))
	return nil
}

// removeRealm drops the name headers of req whose credentials are for
// realm (our earlier answer); others (another hop's) stay.
func removeRealm(req *sip.Request, name, realm string) {
	keep := []sip.Header{}
	found := false
	for _, h := range req.GetHeaders(name) {
		if c, err := digest.ParseCredentials(h.Value()); err == nil && c.Realm == realm {
			found = true
			continue
		}
		keep = append(keep, h)
	}
	if !found {
		return
	}
	for req.RemoveHeader(name) {
	}
	for _, h := range keep {
		req.AppendHeader(h)
	}
}

// bodyReader gives digest the message body (qop=auth-int hashes it).
func bodyReader(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}
