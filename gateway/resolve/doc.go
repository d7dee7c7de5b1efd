// Package resolve finds where a SIP URI's requests go, as RFC 3263 §4
// says, with every fallback a proxy needs (sipgo itself uses the first
// address of the first SRV record only).
//
// Lookup turns a sip: or sips: URI into hops in failover order: an IP
// literal is the one hop; a name with a port is its A/AAAA addresses; a
// name with a transport is its SRV records for that transport, else its
// addresses; a bare name is its NAPTR records (SIP+D2U, SIP+D2T,
// SIPS+D2T, by order and preference), else the SRV records of each
// transport, else its addresses on UDP (TLS for sips). SRV records are
// ordered by priority and, within one, by a weighted random draw (RFC
// 2782); each target's addresses follow in turn. Answers (and names that
// do not exist) are cached for their TTL, bounded below and above.
package resolve
