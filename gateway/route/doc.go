// Package route decides where an initial request goes and which answer
// goes back.
//
// A Table holds the operator's routes (config key `routes`): each Rule
// matches the Request-URI's user and domain with regular expressions and
// lists targets. A target is tried in order (serial failover) while the
// best answer so far is retryable; targets tried at the same time (the
// contacts of a user, parallel forking) form one Group. The proxy turns
// each Target into a client transaction; Best, Retryable and
// MergeChallenges are its rules for the answer it relays (RFC 3261 §16.7).
//
// Destination sets (`set:NAME`) and trunks (`trunk:NAME`) will plug in here
// as further target kinds.
package route
