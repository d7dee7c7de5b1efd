package dialog

import (
	"sync"
	"time"
)

// Table is the single owner of the tracked dialogs; safe for concurrent
// use.
type Table struct {
	mu     sync.Mutex
	byKey  map[Key]*Dialog
	byCall map[string]int // number of dialogs per Call-ID
}

// NewTable returns an empty table.
func NewTable() *Table {
	return &Table{byKey: map[Key]*Dialog{}, byCall: map[string]int{}}
}

// Add records d, replacing a dialog with the same key.
func (t *Table) Add(d *Dialog) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.byKey[d.Key]; !ok {
		t.byCall[d.Key.CallID]++
	}
	t.byKey[d.Key] = d
}

// find is the dialog of a request with these tags, either way round.
// t.mu must be held.
func (t *Table) find(callID, fromTag, toTag string) *Dialog {
	if d := t.byKey[Key{callID, fromTag, toTag}]; d != nil {
		return d
	}
	return t.byKey[Key{callID, toTag, fromTag}]
}

// Remove drops and returns the dialog that a request with callID, fromTag
// and toTag belongs to (nil if none), and whether other dialogs of the
// same Call-ID remain (the other branches of a forked call).
func (t *Table) Remove(callID, fromTag, toTag string) (d *Dialog, others bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d = t.find(callID, fromTag, toTag)
	if d == nil {
		return nil, t.byCall[callID] > 0
	}
	t.removeLocked(d)
	return d, t.byCall[callID] > 0
}

func (t *Table) removeLocked(d *Dialog) {
	delete(t.byKey, d.Key)
	if n := t.byCall[d.Key.CallID] - 1; n > 0 {
		t.byCall[d.Key.CallID] = n
	} else {
		delete(t.byCall, d.Key.CallID)
	}
}

// SawRequest records the CSeq of an in-dialog request, so that a BYE the
// proxy sends later on that party's behalf uses a higher one.
func (t *Table) SawRequest(callID, fromTag, toTag string, cseq uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.find(callID, fromTag, toTag)
	if d == nil {
		return
	}
	if p, ok := d.partyOf(fromTag); ok && cseq > d.cseq[p] {
		d.cseq[p] = cseq
	}
}

// CallerShift is what to add to the CSeq of a request of the dialog
// (callID, fromTag, toTag) toward the callee: 0 unless the request comes
// from the caller of a dialog whose requests the proxy re-sent with
// credentials.
func (t *Table) CallerShift(callID, fromTag, toTag string) uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.find(callID, fromTag, toTag)
	if d == nil || fromTag != d.Key.CallerTag {
		return 0
	}
	return d.shift
}

// AddCallerShift records that the proxy re-sent a request of the dialog
// (callID, fromTag, toTag) with a CSeq n higher (an answered digest
// challenge); only the caller's requests are shifted.
func (t *Table) AddCallerShift(callID, fromTag, toTag string, n uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if d := t.find(callID, fromTag, toTag); d != nil && fromTag == d.Key.CallerTag {
		d.shift += n
	}
}

// NextCSeq is the CSeq of a new request the proxy sends on behalf of
// party p, and records it.
func (t *Table) NextCSeq(d *Dialog, p Party) uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	d.cseq[p]++
	return d.cseq[p]
}

// TakeFlow removes and returns the dialogs that depend on flow.
func (t *Table) TakeFlow(flow string) []*Dialog {
	return t.take(func(d *Dialog) bool { return d.DependsOn(flow) })
}

// TakeExpired removes and returns the dialogs started before cutoff.
func (t *Table) TakeExpired(cutoff time.Time) []*Dialog {
	return t.take(func(d *Dialog) bool { return d.Started.Before(cutoff) })
}

// TakeAll removes and returns every dialog (shutdown).
func (t *Table) TakeAll() []*Dialog {
	return t.take(func(*Dialog) bool { return true })
}

func (t *Table) take(match func(*Dialog) bool) []*Dialog {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*Dialog
	for _, d := range t.byKey {
		if match(d) {
			out = append(out, d)
			t.removeLocked(d)
		}
	}
	return out
}

// Len is the number of tracked dialogs.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byKey)
}

// HasCall reports whether a dialog of callID is tracked.
func (t *Table) HasCall(callID string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byCall[callID] > 0
}

// TakeCall removes and returns the dialogs of callID (an operator ending
// the call).
func (t *Table) TakeCall(callID string) []*Dialog {
	return t.take(func(d *Dialog) bool { return d.Key.CallID == callID })
}

// Snapshot returns the tracked dialogs (for admin). Dialog fields but the
// CSeq counters are not changed after Add, so they may be read freely.
func (t *Table) Snapshot() []*Dialog {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*Dialog, 0, len(t.byKey))
	for _, d := range t.byKey {
		out = append(out, d)
	}
	return out
}
