// Package ws is sipedge's SIP-over-WebSocket edge (RFC 7118) on
// github.com/coder/websocket.
//
// Server.ServeHTTP is an upgrade endpoint that can be mounted on any path of
// any http.Server (plain HTTP gives WS flows, HTTPS gives WSS flows). Before
// upgrading it checks the Host header, the Origin (allow-list), the offered
// subprotocol ("sip" is required) and the global and per-address connection
// caps; every refusal is answered with an HTTP status and logged.
//
// Each accepted connection is a Flow: an unguessable id, a remote address and
// a transport label ("WS" or "WSS"). A flow implements sip.Connection and
// feeds sipgo's transaction state machines directly ("Route C" in
// shared/reference/go-libraries.md §1.3):
//
//	WS message --parse--> label transport+source
//	  request  --> CANCEL? match the INVITE server tx (200 to the CANCEL, 487 to the INVITE)
//	           --> known server tx key? tx.Receive (retransmission, ACK for non-2xx)
//	           --> ACK (for a 2xx)? Handler.ServeSIP with a throw-away tx
//	           --> new sip.ServerTx, Handler.ServeSIP(req, tx) in its own goroutine
//	  response --> the flow's client tx with the same key (Flow.Request), else dropped
//
// Memory per idle flow is kept small: one reader goroutine per flow, no
// per-flow timers (one sweeper goroutine per Server sends pings and enforces
// the idle timeout), transaction maps allocated on first use.
package ws
