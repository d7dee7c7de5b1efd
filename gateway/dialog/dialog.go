package dialog

import (
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
)

// Key identifies a dialog: the Call-ID, the caller's tag (From of the
// INVITE) and the callee's tag (To of its 2xx).
type Key struct {
	CallID    string
	CallerTag string
	CalleeTag string
}

// Leg is what the proxy needs to send a request to one party on its own
// (RFC 3261 §12.2.1.1): where to send it, the remote target, the route set,
// and the dialog's From and To as that party expects them.
type Leg struct {
	Target route.Target
	RURI   sip.Uri
	Routes []sip.Uri
	From   *sip.FromHeader // the other party, as seen by this one
	To     *sip.ToHeader   // this party
}

// Party indexes the two ends of a dialog.
type Party int

// The two parties of a dialog.
const (
	Caller Party = 0
	Callee Party = 1
)

// Dialog is one confirmed call. Its fields are set before Add and not
// changed afterwards, except the CSeq counters, which the Table owns.
type Dialog struct {
	Key     Key
	Started time.Time // when the 2xx confirmed it (answer)
	// Invited is when the initial INVITE arrived (zero: unknown).
	Invited time.Time
	// Anchored is set when rtpengine relays the call's media.
	Anchored bool
	// Flows are the WebSocket flows the call depends on.
	Flows []string
	// Legs[p] is how to reach party p.
	Legs [2]*Leg
	// RecordOnly is set for a classic-to-classic call tracked only for
	// its call record (no flow, no media, no CSeq shift): its expiry
	// writes the record and sends no BYE.
	RecordOnly bool

	cseq [2]uint32 // highest CSeq party p sent; owned by the Table
	// shift is added to the CSeq of the caller's requests toward the
	// callee: the proxy answered a digest challenge on the caller's behalf
	// with a new CSeq (RFC 3261 §22.2); owned by the Table.
	shift uint32
}

// New returns a dialog with the CSeq of the caller's INVITE recorded.
func New(k Key, inviteCSeq uint32, started time.Time) *Dialog {
	d := &Dialog{Key: k, Started: started}
	d.cseq[Caller] = inviteCSeq
	return d
}

// DependsOn reports whether the call runs over flow.
func (d *Dialog) DependsOn(flow string) bool {
	for _, f := range d.Flows {
		if f == flow {
			return true
		}
	}
	return false
}

// partyOf tells which party sent a request with fromTag.
func (d *Dialog) partyOf(fromTag string) (Party, bool) {
	switch fromTag {
	case d.Key.CallerTag:
		return Caller, true
	case d.Key.CalleeTag:
		return Callee, true
	}
	return 0, false
}

// Info is one confirmed call as the admin API lists it.
type Info struct {
	CallID    string    `json:"call_id"`
	CallerTag string    `json:"caller_tag"`
	CalleeTag string    `json:"callee_tag"`
	Caller    string    `json:"caller"` // the caller's URI (From of the INVITE)
	Callee    string    `json:"callee"` // the callee's URI (To of the INVITE)
	Started   time.Time `json:"started"`
	Anchored  bool      `json:"anchored"`            // rtpengine relays the media
	Node      string    `json:"rtpengine,omitempty"` // rtpengine node of the call
}
