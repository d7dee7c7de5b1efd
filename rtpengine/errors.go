package rtpengine

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by the Client wrap one of these (test with
// errors.Is) and add the command, call and node.
var (
	// ErrTimeout means no reply arrived before the deadline, resends included.
	ErrTimeout = errors.New("rtpengine: timeout")
	// ErrRejected means rtpengine answered result "error"; the *CommandError
	// carries its error-reason.
	ErrRejected = errors.New("rtpengine: command rejected")
	// ErrOverloaded means rtpengine answered "load limit", "Ran out of ports"
	// or "Parallel session limit reached"; offers move to another node.
	ErrOverloaded = errors.New("rtpengine: node overloaded")
	// ErrMalformedReply means a reply with our cookie could not be decoded.
	ErrMalformedReply = errors.New("rtpengine: malformed reply")
	// ErrReplyTooLarge means a reply exceeded max_reply_size.
	ErrReplyTooLarge = errors.New("rtpengine: reply too large")
	// ErrNoNode means no node of the set may take a new call (all failed,
	// overloaded or disabled), or the set is unknown.
	ErrNoNode = errors.New("rtpengine: no usable node")
	// ErrNodeDown means the node a call is pinned to has failed; the call
	// is not moved to another node (its media lives on the failed one).
	ErrNodeDown = errors.New("rtpengine: node of this call is down")
	// ErrUnknownNode means an address names no configured node.
	ErrUnknownNode = errors.New("rtpengine: unknown node")
	// ErrInvalidParams means a required parameter (call-id, from-tag, sdp,
	// to-tag) is missing or a value cannot be encoded.
	ErrInvalidParams = errors.New("rtpengine: invalid parameters")
	// ErrIncomplete means a stream holds the start of an ng message but
	// not its end yet (MessageLen).
	ErrIncomplete = errors.New("rtpengine: incomplete message")
	// ErrClosed means the Client was closed.
	ErrClosed = errors.New("rtpengine: client closed")
)

// CommandError is a negative answer from rtpengine: result "error" (Err is
// ErrRejected or, for the overload reasons, ErrOverloaded) or "load limit"
// (Err is ErrOverloaded).
type CommandError struct {
	Command string // ng command, e.g. "offer"
	Node    string // node address
	Result  string // the reply's result value
	Reason  string // error-reason (or message for "load limit")
	Err     error  // ErrRejected or ErrOverloaded
}

// Error implements error.
func (e *CommandError) Error() string {
	return fmt.Sprintf("%v: %s on %s: %s %q", e.Err, e.Command, e.Node, e.Result, e.Reason)
}

// Unwrap returns the sentinel.
func (e *CommandError) Unwrap() error { return e.Err }
