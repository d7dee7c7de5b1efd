// Package wsua is a small SIP-over-WebSocket user agent for sipedge's
// tests: what JsSIP does in a browser, in Go.
//
// A UA dials ws:// or wss:// (subprotocol "sip") with coder/websocket and
// owns one reader goroutine that parses every message with sipgo's parser:
// responses go to the request waiting for them (matched by Via branch),
// requests (INVITE, ACK, BYE, OPTIONS) are answered by the UA. Messages are
// built with sipgo types and written as one WebSocket text message each.
// The transport is reliable, so nothing is retransmitted.
//
// Like JsSIP it uses a random "<x>.invalid" host in Via and Contact, Via
// transport WSS (or WS) with rport, and for REGISTER a Contact with
// ";transport=ws", +sip.instance and reg-id=1 (RFC 5626).
//
// Register answers a 401/407 digest challenge. Invite sends an INVITE with
// an SDP offer, answers a 407/401 challenge by re-sending it with CSeq+1,
// collects provisional responses, ACKs the 2xx along its Record-Route set
// and returns the Call; Call.Bye hangs up. Incoming INVITEs are answered
// 180 then 200 with the SDP that Config.Answer returns for the offer; the
// ACK and a later BYE are recorded on the Call (WaitCall returns it).
package wsua
