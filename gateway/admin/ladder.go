package admin

import (
	"bytes"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/sipedge/sipedge/gateway/cdr"
	"github.com/sipedge/sipedge/gateway/hep"
	"github.com/sipedge/sipedge/gateway/wire"
)

// Ring keeps the SIP messages of the last calls in memory for the
// call-ladder page: at most maxCalls calls (Call-IDs that began with an
// INVITE) (the oldest is forgotten
// first), at most maxMessagesPerCall messages each, each message cut at
// maxMessageBytes. It implements wire.Tap and cdr.Recorder (a call's
// record is shown with its ladder). Safe for concurrent use.
type Ring struct {
	maxCalls int

	mu    sync.Mutex
	calls map[string]*ringCall
	order []string // Call-IDs, oldest first
}

const (
	maxMessagesPerCall = 200
	maxMessageBytes    = 16 << 10
)

type ringCall struct {
	msgs   []ringMessage
	record *cdr.Record
}

// ringMessage is a captured message as the I/O path stores it: one copy
// (text) and nothing formatted; LadderMessage is made when the page asks.
type ringMessage struct {
	at        time.Time
	transport string
	src, dst  netip.AddrPort
	sent, cut bool
	lineLen   int // of the first line, in text
	text      string
}

func (m *ringMessage) ladder() LadderMessage {
	return LadderMessage{Time: m.at, Transport: m.transport, Src: m.src.String(), Dst: m.dst.String(), Sent: m.sent,
		FirstLine: m.text[:m.lineLen], Text: m.text, Truncated: m.cut}
}

// LadderMessage is one captured message.
type LadderMessage struct {
	Time      time.Time `json:"time"`
	Transport string    `json:"transport"`
	Src       string    `json:"src"`
	Dst       string    `json:"dst"`
	Sent      bool      `json:"sent"` // sent by sipedge (else received)
	FirstLine string    `json:"first_line"`
	Text      string    `json:"text"`
	Truncated bool      `json:"truncated,omitempty"`
}

// NewRing returns a ring for the last maxCalls calls (at least 1).
func NewRing(maxCalls int) *Ring {
	return &Ring{maxCalls: max(maxCalls, 1), calls: map[string]*ringCall{}}
}

// Tap implements wire.Tap: the message is copied into its call's entry.
// Only an INVITE request starts an entry (a call); the messages of other
// Call-IDs (REGISTER, OPTIONS, SUBSCRIBE, MESSAGE...) are not kept, so
// that registration refreshes and probes neither push calls out of the
// ring nor cost a copy each.
func (r *Ring) Tap(m wire.Tapped) {
	id := hep.CallID(m.Data)
	if len(id) == 0 {
		return // keepalives and messages without a Call-ID have no ladder
	}
	invite := bytes.HasPrefix(m.Data, []byte("INVITE "))
	if !invite {
		r.mu.Lock()
		_, known := r.calls[string(id)]
		r.mu.Unlock()
		if !known {
			return
		}
	}
	data, cut := m.Data, false
	if len(data) > maxMessageBytes {
		data, cut = data[:maxMessageBytes], true
	}
	lineLen := bytes.Index(data, []byte("\r\n"))
	if lineLen < 0 {
		lineLen = len(data)
	}
	text := string(data) // copied before the lock
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls[string(id)] // no allocation for a call already there
	if c == nil {
		if !invite {
			return // forgotten meanwhile
		}
		c = r.call(string(id))
	}
	if len(c.msgs) < maxMessagesPerCall {
		c.msgs = append(c.msgs, ringMessage{at: m.Time, transport: m.Transport, src: m.Src, dst: m.Dst, sent: m.Sent,
			cut: cut, lineLen: lineLen, text: text})
	}
}

// Record implements cdr.Recorder: the call's record is kept with its
// messages.
func (r *Ring) Record(rec *cdr.Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.call(rec.CallID).record = rec
}

// call returns the entry of id, making it (and forgetting the oldest) if
// needed. r.mu must be held.
func (r *Ring) call(id string) *ringCall {
	if c := r.calls[id]; c != nil {
		return c
	}
	for len(r.order) >= r.maxCalls {
		delete(r.calls, r.order[0])
		r.order = r.order[1:]
	}
	c := &ringCall{}
	r.calls[id] = c
	r.order = append(r.order, id)
	return c
}

// CallSummary is one call of the ring's list.
type CallSummary struct {
	CallID      string    `json:"call_id"`
	Start       time.Time `json:"start"`
	FirstLine   string    `json:"first_line"`
	Messages    int       `json:"messages"`
	Disposition string    `json:"disposition,omitempty"`
	Code        int       `json:"sip_code,omitempty"`
}

// Calls returns the calls in the ring, newest first.
func (r *Ring) Calls() []CallSummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]CallSummary, 0, len(r.order))
	for i := len(r.order) - 1; i >= 0; i-- {
		id := r.order[i]
		c := r.calls[id]
		s := CallSummary{CallID: id, Messages: len(c.msgs)}
		if len(c.msgs) > 0 {
			s.Start, s.FirstLine = c.msgs[0].at, c.msgs[0].text[:c.msgs[0].lineLen]
		}
		if c.record != nil {
			s.Disposition, s.Code = c.record.Disposition, c.record.Code
		}
		out = append(out, s)
	}
	return out
}

// Ladder is one call's messages, the columns of its diagram, and its
// record when the call has ended.
type Ladder struct {
	CallID   string          `json:"call_id"`
	Columns  []LadderColumn  `json:"columns"`
	Messages []LadderMessage `json:"messages"`
	Record   *cdr.Record     `json:"record,omitempty"`
}

// LadderColumn is one party of the diagram: sipedge (all its own
// addresses) or a peer address.
type LadderColumn struct {
	Name  string   `json:"name"`
	Addrs []string `json:"addrs"`
}

// Call returns the ladder of callID, ok false when the ring has no such
// call. The columns are the first peer (the caller, normally), sipedge
// (all its own addresses), then the other peers in order of appearance.
func (r *Ring) Call(callID string) (Ladder, bool) {
	r.mu.Lock()
	c := r.calls[callID]
	var l Ladder
	if c != nil {
		l = Ladder{CallID: callID, Messages: make([]LadderMessage, len(c.msgs)), Record: c.record}
		for i := range c.msgs {
			l.Messages[i] = c.msgs[i].ladder()
		}
	}
	r.mu.Unlock()
	if c == nil {
		return Ladder{}, false
	}
	self := map[string]bool{}
	var peers []string
	seen := map[string]bool{}
	for _, m := range l.Messages {
		mine, peer := m.Dst, m.Src
		if m.Sent {
			mine, peer = m.Src, m.Dst
		}
		self[mine] = true
		if !seen[peer] {
			seen[peer] = true
			peers = append(peers, peer)
		}
	}
	ours := make([]string, 0, len(self))
	for a := range self {
		ours = append(ours, a)
	}
	sort.Strings(ours)
	gw := LadderColumn{Name: "sipedge", Addrs: ours}
	l.Columns = []LadderColumn{gw}
	for i, p := range peers {
		col := LadderColumn{Name: p, Addrs: []string{p}}
		if i == 0 {
			l.Columns = append([]LadderColumn{col}, l.Columns...)
		} else {
			l.Columns = append(l.Columns, col)
		}
	}
	return l, true
}
