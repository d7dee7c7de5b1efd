// Package auth is sipedge's digest authentication (RFC 3261 §22 with the
// RFC 2617/7616 computation, RFC 8760 for SHA-256).
//
// The gateway asks an Authenticator to Check the Authorization or
// Proxy-Authorization header of a request; on any error other than a
// replay it answers with Challenge, which builds a 401 or 407 carrying one
// challenge per configured algorithm. Nonces are self-validating
// (issue time, random bytes and an HMAC under a per-process key), so a
// restart simply makes old nonces fail as forged and clients re-challenge.
// Beside that, a bounded table remembers the highest nonce-count seen for
// each nonce in use, so a captured Authorization header cannot be replayed.
package auth
