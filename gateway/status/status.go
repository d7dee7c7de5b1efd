// Package status holds the one error type of the proxy core that carries a
// SIP answer, and the table that says how loudly each answer is logged.
//
// Every room of the gateway (route, dialog, the registrar glue, media)
// returns a *Error when a request must be refused; the gateway turns it into
// exactly one SIP response, and logs it once, in one place.
package status

import (
	"fmt"

	"github.com/emiago/sipgo/sip"
)

// Error is a refusal with the SIP response to send for it.
type Error struct {
	// Code and Reason are the status line of the response.
	Code   int
	Reason string
	// Headers are added to the response (e.g. Min-Expires, Unsupported).
	Headers []sip.Header
	// Response, if set, is sent as is (e.g. a digest challenge).
	Response *sip.Response
	// Err is the cause, for logs; it is never shown to the peer.
	Err error
}

// New builds an *Error; err may be nil.
func New(code int, reason string, err error, hdrs ...sip.Header) *Error {
	return &Error{Code: code, Reason: reason, Err: err, Headers: hdrs}
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("%d %s", e.Code, e.Reason)
	}
	return fmt.Sprintf("%d %s: %v", e.Code, e.Reason, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Cause is what a log line says about e: the cause if there is one, else
// the reason phrase.
func (e *Error) Cause() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return e.Reason
}
