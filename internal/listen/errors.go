package listen

import "errors"

// Framing errors: the connection they occur on is closed, after a stateless
// answer when one can be built.
var (
	// ErrHeaderTooLarge is a message whose headers do not end (CRLFCRLF)
	// within max_message_size bytes.
	ErrHeaderTooLarge = errors.New("listen: message headers too large")
	// ErrMessageTooLarge is a message whose headers plus Content-Length
	// exceed max_message_size.
	ErrMessageTooLarge = errors.New("listen: message too large")
	// ErrBadContentLength is a Content-Length that is not a number, or two
	// that disagree.
	ErrBadContentLength = errors.New("listen: bad Content-Length")
	// ErrNoContentLength is a message without Content-Length, which a
	// stream transport needs to find where the message ends (RFC 3261
	// §18.3).
	ErrNoContentLength = errors.New("listen: missing Content-Length")
)

// Reasons a connection is cut by a deadline; Read reports them as io.EOF
// to its caller after closing the connection, and logs them.
var (
	// ErrMessageTimeout is a message started and not completed within
	// message_timeout.
	ErrMessageTimeout = errors.New("listen: message timeout")
	// ErrIdleTimeout is a connection with no traffic for idle_timeout.
	ErrIdleTimeout = errors.New("listen: idle timeout")
	// ErrHandshakeTimeout is a TLS handshake not completed within
	// message_timeout.
	ErrHandshakeTimeout = errors.New("listen: tls handshake timeout")
)
