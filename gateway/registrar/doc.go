// Package registrar is sipedge's location service (RFC 3261 §10) with
// RFC 3327 Path and RFC 5626 flow awareness.
//
// The gateway authenticates a REGISTER, then calls Register with the
// canonical address of record (see AOR) and the real Source of the request
// (address, transport and, for TCP/TLS/WS/WSS, the flow id of the
// connection). Register validates every Contact first and then applies all
// of them atomically: either the whole request takes effect or none of it.
// It returns the bindings for the 200 OK (see ResponseContact); a failure is
// an error that StatusCode maps to the SIP answer.
//
// Routing calls Lookup; the transport layer calls RemoveFlow when a
// connection closes; a goroutine owned by the gateway calls Run to sweep
// expired bindings. All state lives in a Store: NewMemoryStore is the
// embedded default, a shared store can be plugged in for several nodes.
package registrar
