package resolve

import "errors"

// Sentinel errors of resolution.
var (
	// ErrNoAddress is a name that resolves to no address at all.
	ErrNoAddress = errors.New("resolve: no address")
	// ErrURI is a URI that cannot be resolved: not sip/sips, no host, or
	// a transport we do not speak.
	ErrURI = errors.New("resolve: bad URI")
	// ErrServer is a DNS server failure (SERVFAIL, timeout, refused).
	ErrServer = errors.New("resolve: DNS server failure")
)
