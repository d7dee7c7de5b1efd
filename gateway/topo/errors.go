package topo

import "errors"

// ErrToken is returned for a token that does not decode or authenticate.
var ErrToken = errors.New("topo: bad token")

// ErrSecret is returned by New for a secret that is too short.
var ErrSecret = errors.New("topo: secret too short")
