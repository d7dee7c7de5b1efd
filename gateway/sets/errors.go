package sets

import "errors"

// Sentinel errors of destination sets.
var (
	// ErrNoSet is a set name that is not configured.
	ErrNoSet = errors.New("sets: no such destination set")
	// ErrAllDown is a set whose every member is down, disabled or full.
	ErrAllDown = errors.New("sets: every member is down, disabled or full")
	// ErrNoMember is a member a set does not have.
	ErrNoMember = errors.New("sets: no such member in the set")
)
