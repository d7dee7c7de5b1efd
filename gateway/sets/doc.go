// Package sets holds destination sets (config key `sets`, route target
// `set:NAME`): named lists of members (SIP hops or trunks) with a
// selection algorithm and a health state per member.
//
// When a request is routed to a set, Select orders the members that are
// up by the set's algorithm (hash of Call-ID, From, To or R-URI user,
// round-robin, weighted, priority, least active calls, lowest probe
// latency) into serial failover groups, or one parallel group; a member
// that is down is never offered. Members are probed with OPTIONS
// (interval, down_after, up_after, alive codes); the outcome of real
// calls counts too (a transport failure or fr_timer expiry is a failure).
// A Sets value is immutable apart from its health and load counters; a
// reload builds a new one, inheriting health, and closes the old one.
package sets
