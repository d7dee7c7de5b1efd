// Package nat holds sipedge's NAT traversal helpers for signalling, and a
// STUN responder.
//
//   - Detect tells whether a request comes from behind a NAT by comparing its
//     top Via sent-by and its Contact with the address it really came from
//     (like Kamailio's nat_uac_test); the gateway then routes to the source
//     address instead of the Contact.
//   - SetReceived writes RFC 3261 §18.2.1 "received" and RFC 3581 "rport"
//     into a Via (sipgo only does it for a Via with an empty rport, and only
//     in responses it builds itself).
//   - Keepalive sends a packet (CRLF or OPTIONS, via a send func) to NATed
//     UDP contacts at a fixed interval, keeping their NAT bindings open.
//   - STUNServer answers STUN Binding requests (RFC 8489) with
//     XOR-MAPPED-ADDRESS, so browsers learn their server-reflexive address.
package nat
