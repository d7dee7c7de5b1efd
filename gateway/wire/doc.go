// Package wire checks one raw SIP message before sipgo's parser sees it.
//
// sipedge receives SIP as whole messages: a UDP datagram, a WebSocket
// message, or a message the TCP/TLS framing cut out of a stream. Check takes
// such a message and does three things, in this order, with pure functions
// (no goroutines, no state):
//
//  1. Normalise what RFC 3261 allows but sipgo's parser (v1.7.2) cannot
//     take: header line folding is unfolded (§7.3.1: a recipient may replace
//     folding with one SP), linear whitespace around the separators of the
//     headers sipgo parses (";", "=", ",", and "/" and ":" in Via) is
//     removed, CRLFs before the start line are skipped and octets after the
//     Content-Length body of a datagram are cut (§18.3). Headers sipgo does
//     not parse are kept byte-exact (except unfolding), the start line is
//     never rewritten, the body is never touched.
//  2. Validate what a proxy must refuse (§16.3, RFC 4475): a SIP version
//     other than 2.0 (505), a malformed Request-Line or Request-URI, header
//     line, Via, From, To, Contact, Route, CSeq, Call-ID, Max-Forwards or
//     Content-Length, missing or repeated mandatory headers, a CSeq method
//     that is not the request's (400; 501 when the request's method is one
//     nobody knows), and a Request-URI scheme other than sip or sips (416).
//  3. For a refused request, build a stateless error response from the raw
//     bytes (Via, From, To with a tag added, Call-ID and CSeq copied as far
//     as they can be found). An ACK, a request without any Via and every
//     broken response get no answer: they are dropped.
//
// What passes Check is what sipgo's parser accepts (FuzzCheck holds it to
// that), so a message that reaches the proxy core was either normalised and
// parsed, or answered here.
package wire
