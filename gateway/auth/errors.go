package auth

import (
	"errors"
	"fmt"
)

// ErrNoCredentials means the request carries no credentials for our realm:
// answer with a challenge.
var ErrNoCredentials = errors.New("auth: no credentials for realm")

// ErrStale means the credentials were correct but the nonce has expired:
// answer with a challenge carrying stale=true.
var ErrStale = errors.New("auth: stale nonce")

// ErrBadCredentials means the credentials are wrong: wrong response, unknown
// user, unsupported or not offered algorithm, missing qop, uri not matching
// the Request-URI, or a nonce we did not issue.
var ErrBadCredentials = errors.New("auth: bad credentials")

// ErrReplay means the nonce-count was not greater than the highest one
// already seen for that nonce.
var ErrReplay = errors.New("auth: replayed nonce count")

// ErrMalformed means the credentials header could not be parsed.
var ErrMalformed = errors.New("auth: malformed credentials")

// errNotDigest: credentials of another scheme. They are not for us: the
// request is challenged as if it had none (RFC 4475 §3.3.7).
var errNotDigest = fmt.Errorf("%w: not a Digest header", ErrMalformed)

// ErrConfig is returned by New for an unusable configuration.
var ErrConfig = errors.New("auth: bad configuration")
