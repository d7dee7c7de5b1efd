// Package rtpecho is a classic SIP user agent over UDP with plain RTP media
// for sipedge's end-to-end tests: the "phone or trunk" side of a call.
//
// Media is one RTP endpoint on 127.0.0.1: it answers or makes plain
// RTP/AVP SDP, echoes every RTP packet it receives back to the packet's
// source (symmetric RTP) and can send its own recognizable stream; it counts
// packets both ways.
//
// UA is a sipgo server and client on 127.0.0.1 UDP. As UAS it answers
// every INVITE with 200 and a Media's SDP answer, handles ACK, BYE, CANCEL
// and re-INVITEs (hold/resume: same port, direction mirrored from the
// offer). As UAC (Call) it sends an INVITE with a plain RTP offer through a
// proxy address, ACKs the 2xx, and hangs up with BYE on demand. Calls are
// reported on a channel so tests can wait for them without sleeping.
package rtpecho
