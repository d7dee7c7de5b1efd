package tls

import "errors"

// Errors reported by this package.
var (
	// ErrNoCertificate is returned when a PEM file holds no certificate.
	ErrNoCertificate = errors.New("tls: no PEM certificate")
	// ErrBadName is a server name that is neither a host name nor a
	// one-label wildcard (*.example.org).
	ErrBadName = errors.New("must be a host name (sip.example.com) or a wildcard for one label (*.example.org)")
)
