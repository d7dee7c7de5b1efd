// Package hep encodes SIP messages as HEPv3 packets and sends them to a
// capture server (Homer, heplify-server) over UDP or TCP.
//
// HEPv3 (sipcapture's "HEP3" format): the magic "HEP3", a 2-byte total
// length, then chunks of vendor (2 bytes, 0 = generic), type (2), length
// (2, the 6-byte chunk header included) and value, all big-endian. Encode
// writes the chunks Homer needs to index a SIP message: IP family and
// protocol, source and destination address and port, timestamp (seconds
// and microseconds), protocol type 1 (SIP), capture agent id, the optional
// auth key, the payload and the correlation id (the Call-ID).
//
// Sender owns one socket and one goroutine that writes packets queued by
// Send; Send never blocks (a full queue drops the packet and counts it).
package hep
