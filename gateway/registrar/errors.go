package registrar

import (
	"errors"
	"fmt"
	"time"
)

// ErrBadContact means a Contact header is malformed or misused (bad URI,
// bad q/expires/reg-id parameter, "*" mixed with other contacts or without
// Expires: 0). Answer 400.
var ErrBadContact = errors.New("registrar: bad contact")

// ErrBadRequest means the REGISTER lacks Call-ID or CSeq or carries a bad
// Expires header. Answer 400.
var ErrBadRequest = errors.New("registrar: bad request")

// ErrOutOfOrder means a contact's binding already holds the same Call-ID
// with an equal or higher CSeq (RFC 3261 §10.3 step 7). Answer 500.
var ErrOutOfOrder = errors.New("registrar: request out of order")

// ErrTooManyContacts means the address of record would hold more bindings
// than Config.MaxContacts. Answer 403.
var ErrTooManyContacts = errors.New("registrar: too many contacts")

// ErrIntervalTooBrief is wrapped by IntervalError.
var ErrIntervalTooBrief = errors.New("registrar: interval too brief")

// IntervalError means a non-zero expiry is shorter than MinExpires. Answer
// 423 Interval Too Brief with a Min-Expires header of MinExpires seconds.
type IntervalError struct {
	MinExpires time.Duration
}

// Error implements error.
func (e *IntervalError) Error() string {
	return fmt.Sprintf("%v: minimum %d s", ErrIntervalTooBrief, int(e.MinExpires/time.Second))
}

// Unwrap returns ErrIntervalTooBrief.
func (e *IntervalError) Unwrap() error { return ErrIntervalTooBrief }

// StatusCode maps an error returned by Register to the SIP status code and
// reason phrase to answer with. For 423, add Min-Expires from the
// IntervalError (errors.As).
func StatusCode(err error) (int, string) {
	switch {
	case err == nil:
		return 200, "OK"
	case errors.Is(err, ErrIntervalTooBrief):
		return 423, "Interval Too Brief"
	case errors.Is(err, ErrBadContact), errors.Is(err, ErrBadRequest):
		return 400, "Bad Request"
	case errors.Is(err, ErrTooManyContacts):
		return 403, "Forbidden"
	}
	return 500, "Server Internal Error"
}
