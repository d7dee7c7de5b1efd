// Package trunk is sipedge's side of SIP trunks: the providers it
// registers with, calls out through and takes calls from.
//
// A Config is one trunk as the operator writes it (its URIs, digest
// credentials, DIDs, call cap). A Registration keeps one trunk's
// registration with its provider alive: a state machine on its own
// goroutine that refreshes before the granted expiry, answers each digest
// challenge once per nonce, backs off with jitter on failure, honours
// Retry-After and Min-Expires, is slow to retry a 403/404, re-registers at
// once when its connection is lost and unregisters (expires=0) on Close.
// Every Registration of a Manager draws from one token bucket, so a
// restart with many trunks sends no more than the configured REGISTERs per
// second. Manager.Update follows a reloaded trunk list: removed trunks
// unregister, added ones register, changed ones register again (a
// credentials change as a refresh of the same registration), unchanged
// ones are not touched. The clock is injected, so the policy is tested in
// fake time.
//
// Credentials answer a provider's 401/407 to any request sent toward the
// trunk (REGISTER, INVITE, in-dialog requests) with github.com/icholy/digest.
package trunk
