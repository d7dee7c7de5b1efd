package cdr

import "time"

// Record is one call.
type Record struct {
	CallID   string    `json:"call_id"`
	Start    time.Time `json:"start"`            // the initial INVITE arrived
	Answer   time.Time `json:"answer,omitzero"`  // the first 2xx was relayed
	End      time.Time `json:"end"`              // the call ended or failed
	Duration float64   `json:"duration_seconds"` // from Answer to End; 0 unanswered
	Setup    float64   `json:"setup_seconds"`    // from Start to Answer, or to End

	Caller      string `json:"caller"`      // From URI of the INVITE
	Callee      string `json:"callee"`      // To URI of the INVITE
	Direction   string `json:"direction"`   // Outbound, Inbound, Internal, Transit
	Destination string `json:"destination"` // where the call went: host:port or ws flow

	Disposition string `json:"disposition"` // Answered, Busy, NoAnswer, Canceled, Failed
	Code        int    `json:"sip_code"`    // the final response to the INVITE
	HungUp      string `json:"hung_up_by"`  // Caller, Callee, Operator, ConnectionLost, Expired, Shutdown; "" unanswered

	// Media is the quality per leg, from rtpengine; nil when it did not
	// relay the media or did not answer.
	Media *Media `json:"media,omitempty"`
}

// Directions: from a browser or a local user's device toward the classic
// side, the other way round, browser to browser, classic to classic.
const (
	Outbound = "outbound"
	Inbound  = "inbound"
	Internal = "internal"
	Transit  = "transit"
)

// Dispositions.
const (
	Answered = "answered"
	Busy     = "busy"
	NoAnswer = "no_answer"
	Canceled = "canceled"
	Failed   = "failed"
)

// Who ended an answered call.
const (
	ByCaller         = "caller"
	ByCallee         = "callee"
	ByOperator       = "operator"
	ByConnectionLost = "connection_lost"
	ByExpiry         = "expired"
)

// DispositionOf names the outcome of a final response code.
func DispositionOf(code int) string {
	switch {
	case code >= 200 && code < 300:
		return Answered
	case code == 486 || code == 600 || code == 603:
		return Busy
	case code == 408 || code == 480:
		return NoAnswer
	case code == 487:
		return Canceled
	}
	return Failed
}

// Media is the quality of both legs.
type Media struct {
	Node   string `json:"rtpengine,omitempty"`
	Caller *Leg   `json:"caller,omitempty"`
	Callee *Leg   `json:"callee,omitempty"`
}

// Leg is what rtpengine received from one party (its RTP and RTCP
// streams), and the quality figures rtpengine derived from RTCP when the
// party sent any (nil otherwise).
type Leg struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
	Errors  uint64 `json:"errors"`
	Codec   string `json:"codec,omitempty"`
	// MOS is rtpengine's average MOS (1.0..4.5).
	MOS *float64 `json:"mos,omitempty"`
	// JitterMS is the average jitter, in milliseconds.
	JitterMS *float64 `json:"jitter_ms,omitempty"`
	// LossPercent is the average packet loss, in percent.
	LossPercent *float64 `json:"loss_percent,omitempty"`
}

// Recorder receives every finished call record. The gateway calls it
// from background work: it may take a moment, but should not block for
// long.
type Recorder interface {
	Record(r *Record)
}

// Recorders fans a record out to several recorders, in order.
type Recorders []Recorder

// Record implements Recorder.
func (rs Recorders) Record(r *Record) {
	for _, x := range rs {
		x.Record(r)
	}
}
