package gateway

import "errors"

// Sentinel errors of the proxy core. They are wrapped in a *status.Error
// that carries the SIP response to send.
var (
	ErrMalformed      = errors.New("gateway: malformed request")
	ErrTooManyHops    = errors.New("gateway: max-forwards exhausted")
	ErrLoop           = errors.New("gateway: loop detected")
	ErrNoRoute        = errors.New("gateway: no route")
	ErrNotRelaying    = errors.New("gateway: not relaying")
	ErrUnsupportedURI = errors.New("gateway: unsupported URI scheme")
	ErrVersion        = errors.New("gateway: unsupported SIP version")
	ErrBadExtension   = errors.New("gateway: unsupported extension")
	ErrUnknownMethod  = errors.New("gateway: method not implemented")
	ErrNoTransaction  = errors.New("gateway: no matching transaction")
	ErrUnavailable    = errors.New("gateway: user not available")
	ErrForbidden      = errors.New("gateway: forbidden")
	ErrTimeout        = errors.New("gateway: request timed out")
	ErrUnreachable    = errors.New("gateway: next hop unreachable")
	// errTransactionEnded stands in for a client transaction that ended
	// with no response and no error of its own.
	errTransactionEnded = errors.New("transaction ended with no response (connection closed)")
	ErrAuthRequired     = errors.New("gateway: authentication required")
	ErrRegistrar        = errors.New("gateway: registration refused")
	ErrInternal         = errors.New("gateway: internal error")
	ErrListenerNotFound = errors.New("gateway: no listener for transport")
	ErrRunning          = errors.New("gateway: Run called twice")
	ErrClosed           = errors.New("gateway: closed")
	// ErrNeedsRestart is a reload whose new settings only work together
	// with a key a reload does not change.
	ErrNeedsRestart = errors.New("gateway: needs a restart")
)
