package rtpengine

import (
	"fmt"
	"strings"
)

// Reply is a decoded ng reply.
type Reply struct {
	// Result is "ok", "pong", "error" or "load limit".
	Result string
	// Warning is a non-fatal remark on an "ok" reply, e.g. "Call-ID not
	// found or tags didn't match" on delete.
	Warning string
	// Reason is the error-reason of an "error" reply or the message of a
	// "load limit" reply.
	Reason string
	// SDP is the rewritten SDP of offer and answer replies.
	SDP string
	// Node is the address of the node that answered.
	Node string
	// Dict is the whole reply dictionary as bencode, for keys not listed
	// here (query statistics, list calls, ...). Use Decode or Map.
	Dict []byte
}

// Decode decodes the reply dictionary into v (a pointer to a struct whose
// fields carry `bencode:"key"` tags, or to a map[string]any).
func (r Reply) Decode(v any) error { return decodeDict(r.Dict, v) }

// Map returns the reply dictionary as a map: integers are int64, strings
// string, lists []any and dictionaries map[string]any.
func (r Reply) Map() (map[string]any, error) {
	var m map[string]any
	err := r.Decode(&m)
	return m, err
}

// Result is the outcome of an offer or answer.
type Result struct {
	// SDP is the SDP rewritten by rtpengine, to be sent on to the peer.
	SDP string
	// Warning is a non-fatal remark from rtpengine (empty normally).
	Warning string
	// Node is the address of the node that holds the call.
	Node string
}

// check turns a negative reply into a *CommandError.
func (r Reply) check(command string) error {
	switch r.Result {
	case "ok", "pong":
		return nil
	case "load limit":
		return &CommandError{Command: command, Node: r.Node, Result: r.Result, Reason: r.Reason, Err: ErrOverloaded}
	case "error":
		// The error-reasons after which Kamailio (and we) move new calls
		// to another node.
		if strings.Contains(r.Reason, "Parallel session limit reached") || strings.Contains(r.Reason, "Ran out of ports") {
			return &CommandError{Command: command, Node: r.Node, Result: r.Result, Reason: r.Reason, Err: ErrOverloaded}
		}
		return &CommandError{Command: command, Node: r.Node, Result: r.Result, Reason: r.Reason, Err: ErrRejected}
	}
	return fmt.Errorf("%w: %s on %s: unknown result %q", ErrMalformedReply, command, r.Node, r.Result)
}
