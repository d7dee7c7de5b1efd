package trunk

import "errors"

// Sentinel errors of the trunk package.
var (
	// ErrChallenge is a 401/407 the trunk's credentials cannot answer: no
	// digest challenge, an algorithm or qop we do not speak, another realm
	// than the configured one, or no credentials at all.
	ErrChallenge = errors.New("trunk: challenge cannot be answered")
	// ErrAuthRejected is a provider challenging again with a nonce already
	// answered (and not stale): the credentials are wrong.
	ErrAuthRejected = errors.New("trunk: credentials rejected")
	// ErrNotRegistering names a trunk without a registration (unknown to
	// the Manager, or register: false).
	ErrNotRegistering = errors.New("trunk: no registration for this trunk")
	// ErrNoTrunk names a trunk that is not configured.
	ErrNoTrunk = errors.New("trunk: no such trunk")
	// ErrTLSName is an entry of tls_names that is neither a DNS name, a
	// one-label wildcard nor a URI.
	ErrTLSName = errors.New("must be a DNS name (carrier.example), a wildcard for one label (*.carrier.example) or a URI (sip:carrier.example)")
)
