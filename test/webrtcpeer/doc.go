// Package webrtcpeer is a browser-like WebRTC audio peer for sipedge's
// end-to-end media tests, built on pion/webrtc.
//
// A Peer behaves like a browser configured for the gateway: audio only,
// bundlePolicy max-bundle, rtcp-mux required, ICE + DTLS-SRTP, and no
// trickle (CreateOffer and AcceptOffer wait for ICE gathering, so the SDP
// carries the candidates). To keep every packet on loopback it gathers only
// host candidates on 127.0.0.1 over UDP4.
//
// Flow of a call:
//
//  1. NewPeer creates the PeerConnection and one sendrecv audio track.
//  2. CreateOffer + SetAnswer (caller) or AcceptOffer (callee) exchange SDP.
//  3. WaitConnected waits for ICE and DTLS to complete.
//  4. Send writes n RTP packets at 20 ms intervals whose payloads carry a
//     recognizable text with the sequence number; every received packet is
//     counted and compared with the set of sent payloads (echo check).
//  5. Stats reports the counters; Close releases everything and waits for
//     the peer's goroutines.
package webrtcpeer
