package wsua

import (
	"errors"
	"fmt"
)

var (
	// ErrClosed is returned after Close or when the connection is gone.
	ErrClosed = errors.New("wsua: connection closed")
	// ErrNoChallenge is returned when a 401/407 carries no usable challenge.
	ErrNoChallenge = errors.New("wsua: 401/407 without a usable digest challenge")
	// ErrCallEnded is returned for requests on a call that has ended.
	ErrCallEnded = errors.New("wsua: call ended")
)

// StatusError is a final non-2xx response to a request.
type StatusError struct {
	Method string
	Code   int
	Reason string
}

// Error returns e.g. "wsua: INVITE got 486 Busy Here".
func (e *StatusError) Error() string {
	return fmt.Sprintf("wsua: %s got %d %s", e.Method, e.Code, e.Reason)
}
