package registrar

import "time"

// Store is the storage behind the registrar: bindings grouped by address of
// record, with an index from flow id to the AORs that have a binding on
// that flow. Implementations are safe for concurrent use.
//
// Bindings slices handed to a Store are owned by it and must never be
// modified in place, by the store or by anyone else: a change replaces the
// whole slice. That lets readers use a slice without copying it under a
// lock.
type Store interface {
	// Get returns the bindings of aor (expired ones included), nil if none.
	// The caller must not modify the slice.
	Get(aor string) []Binding
	// Update replaces the bindings of aor atomically with what fn returns
	// for the current ones; an empty result deletes the AOR. When fn fails
	// nothing changes and its error is returned. fn must be fast and pure:
	// no I/O, no locks, no logging; it must not keep or modify cur; it may
	// be called more than once (a shared store may retry on conflict).
	Update(aor string, fn func(cur []Binding) ([]Binding, error)) error
	// FlowAORs returns the AORs that hold a binding on flowID.
	FlowAORs(flowID string) []string
	// Expire drops every binding whose Expires is not after now and
	// returns how many it dropped.
	Expire(now time.Time) int
	// All returns every binding (a snapshot copy).
	All() []Binding
	// Each calls fn with every binding, expired ones not yet swept
	// included, until fn returns false; nothing is copied. fn runs under
	// the store's lock: it must be fast, must not call the store, and must
	// not keep or modify the binding.
	Each(fn func(b *Binding) bool)
}
