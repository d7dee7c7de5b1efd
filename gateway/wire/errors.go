package wire

import (
	"errors"
	"fmt"
)

// Sentinel errors of Check, wrapped in an *Error that carries the answer.
var (
	// ErrNotSIP: the first line is neither a Request-Line nor a Status-Line.
	ErrNotSIP = errors.New("wire: not a SIP message")
	// ErrVersion: a SIP version other than SIP/2.0.
	ErrVersion = errors.New("wire: unsupported SIP version")
	// ErrRequestLine: a malformed Request-Line (spaces, method).
	ErrRequestLine = errors.New("wire: malformed Request-Line")
	// ErrRequestURI: a malformed Request-URI.
	ErrRequestURI = errors.New("wire: malformed Request-URI")
	// ErrScheme: a Request-URI scheme other than sip or sips.
	ErrScheme = errors.New("wire: unsupported Request-URI scheme")
	// ErrStatusLine: a malformed Status-Line (a response is dropped).
	ErrStatusLine = errors.New("wire: malformed Status-Line")
	// ErrHeaderLine: a header line that is not "name: value", a bare CR or
	// LF, or no empty line after the headers.
	ErrHeaderLine = errors.New("wire: malformed header line")
	// ErrMissing: a mandatory header is missing.
	ErrMissing = errors.New("wire: missing header")
	// ErrRepeated: a header that must appear once appears more often.
	ErrRepeated = errors.New("wire: repeated header")
	// ErrVia: a malformed Via.
	ErrVia = errors.New("wire: malformed Via")
	// ErrAddress: a malformed From, To, Contact, Route or Record-Route.
	ErrAddress = errors.New("wire: malformed address")
	// ErrCSeq: a malformed CSeq.
	ErrCSeq = errors.New("wire: malformed CSeq")
	// ErrMethodMismatch: the CSeq method is not the request's method.
	ErrMethodMismatch = errors.New("wire: CSeq method mismatch")
	// ErrCallID: a malformed Call-ID.
	ErrCallID = errors.New("wire: malformed Call-ID")
	// ErrMaxForwards: a malformed or out of range Max-Forwards.
	ErrMaxForwards = errors.New("wire: malformed Max-Forwards")
	// ErrContentLength: a malformed Content-Length, or one larger than the
	// body.
	ErrContentLength = errors.New("wire: bad Content-Length")
	// ErrContentType: an empty Content-Type.
	ErrContentType = errors.New("wire: malformed Content-Type")
)

// Error is the error Check returns: the SIP answer for a refused request
// (Code 0 when the message is dropped without one) and the cause, which
// wraps one of the sentinels above. Its text never contains the message's
// own bytes, so it is safe to log.
type Error struct {
	Code   int    // status code of the answer; 0: dropped, no answer
	Reason string // reason phrase of the answer, naming the problem
	Err    error  // cause, wrapping a sentinel
}

// Error implements error.
func (e *Error) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("dropped: %v", e.Err)
	}
	return fmt.Sprintf("%d %s: %v", e.Code, e.Reason, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// reject is a refusal with an answer.
func reject(code int, reason string, sentinel error, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Err: wrap(sentinel, format, args...)}
}

// bad is a 400 whose reason phrase names the problem.
func bad(reason string, sentinel error, format string, args ...any) *Error {
	return reject(400, reason, sentinel, format, args...)
}

func wrap(sentinel error, format string, args ...any) error {
	if format == "" {
		return sentinel
	}
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
