package hep

import "bytes"

// CallID returns the value of the Call-ID header (or its compact form
// "i") of a SIP message, or nil. It reads the header lines up to the first
// empty one, without parsing or allocating; the result aliases msg. It
// runs for every captured message, so a line is only looked into when it
// starts like the header's name.
func CallID(msg []byte) []byte {
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, msg = msg[:i], msg[i+1:]
		} else {
			msg = nil
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) == 0 {
			return nil // the end of the header section
		}
		if c := line[0] | 0x20; c != 'c' && c != 'i' {
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name := bytes.TrimRight(line[:colon], " \t")
		if bytes.EqualFold(name, []byte("Call-ID")) || bytes.EqualFold(name, []byte("i")) {
			return bytes.TrimSpace(line[colon+1:])
		}
	}
	return nil
}
