package gateway

import (
	"errors"
	"fmt"

	"github.com/emiago/sipgo/sip"
)

// Sentinel errors of the proxy core. They are wrapped in a *StatusError
// that carries the SIP response to send.
var (
	ErrMalformed        = errors.New("gateway: malformed request")
	ErrTooManyHops      = errors.New("gateway: max-forwards exhausted")
	ErrLoop             = errors.New("gateway: loop detected")
	ErrNoRoute          = errors.New("gateway: no route")
	ErrNotRelaying      = errors.New("gateway: not relaying")
	ErrUnsupportedURI   = errors.New("gateway: unsupported URI scheme")
	ErrVersion          = errors.New("gateway: unsupported SIP version")
	ErrBadExtension     = errors.New("gateway: unsupported extension")
	ErrUnknownMethod    = errors.New("gateway: method not implemented")
	ErrNoTransaction    = errors.New("gateway: no matching transaction")
	ErrUnavailable      = errors.New("gateway: user not available")
	ErrForbidden        = errors.New("gateway: forbidden")
	ErrTimeout          = errors.New("gateway: request timed out")
	ErrUnreachable      = errors.New("gateway: next hop unreachable")
	ErrAuthRequired     = errors.New("gateway: authentication required")
	ErrRegistrar        = errors.New("gateway: registration refused")
	ErrInternal         = errors.New("gateway: internal error")
	ErrListenerNotFound = errors.New("gateway: no listener for transport")
)

// StatusError is the one error type that carries a SIP response: handlers
// return it and respondError turns it into exactly one response.
type StatusError struct {
	Code   int
	Reason string
	// Headers are added to the response (e.g. Min-Expires, Unsupported).
	Headers []sip.Header
	// Response, if set, is sent as is (e.g. a digest challenge).
	Response *sip.Response
	Err      error
}

// Error implements error.
func (e *StatusError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("%d %s", e.Code, e.Reason)
	}
	return fmt.Sprintf("%d %s: %v", e.Code, e.Reason, e.Err)
}

// Unwrap returns the cause.
func (e *StatusError) Unwrap() error { return e.Err }

// status builds a *StatusError; err may be nil.
func status(code int, reason string, err error, hdrs ...sip.Header) *StatusError {
	return &StatusError{Code: code, Reason: reason, Err: err, Headers: hdrs}
}
