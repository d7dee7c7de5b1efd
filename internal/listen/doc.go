// Package listen keeps sipedge's TCP listeners alive and bounded under a
// connection flood, and frames SIP over its stream transports.
//
// Two layers wrap a listener. Limit sits right on the TCP socket, under any
// TLS layer: its Accept never fails because of the system (EMFILE, ENFILE,
// ENOBUFS, ECONNABORTED...): it backs off (5 ms doubling to 1 s, as
// net/http's Server.Serve does) and tries again, so only closing the
// listener ends it; and it closes at once every connection beyond Caps (per
// source address and in all), before any TLS handshake or goroutine. ws
// uses Limit for its ws:// and wss:// listeners with its own caps.
//
// Streams adds, for tcp:// and tls:// SIP listeners, the layer sipgo reads
// from (above TLS): each connection is cut into SIP messages (headers up to
// CRLFCRLF, then Content-Length bytes of body; CRLF keepalives pass
// through), so that a started message must be complete within
// message_timeout, a connection without traffic is closed after
// idle_timeout, the TLS handshake is bounded too, and every message can go
// through a Filter before sipgo parses it. A message broken at framing
// level (bad or missing Content-Length, too large) is answered statelessly
// when it is a request with the headers to answer, and the connection is
// closed: the stream cannot be resynchronised.
//
// The package starts no goroutine: framing and deadlines run on the
// goroutine that reads the connection (sipgo's), and every log line about
// refusals, accept errors and cut connections is throttled to one a second
// per kind, with a count.
package listen
