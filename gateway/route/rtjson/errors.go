package rtjson

import "errors"

// Sentinel errors of the routing API client.
var (
	// ErrDocument is an answer that is not a valid routing document.
	ErrDocument = errors.New("rtjson: bad routing document")
	// ErrService is a service that could not be asked or answered with
	// an HTTP status other than 200.
	ErrService = errors.New("rtjson: routing service failed")
)
