package listen

import (
	"bytes"
)

// framer finds where the next SIP message (or CRLF keepalive) ends at the
// start of a stream buffer. It keeps how far it has searched so that a
// message arriving a byte at a time is scanned once, not once per byte.
type framer struct {
	max int // max_message_size

	scanned int // bytes of the buffer searched for CRLFCRLF so far
	need    int // total length of the current message once its headers are in; 0: not yet
}

// unit kinds returned by next.
const (
	unitNone      = iota // more bytes needed
	unitKeepalive        // CRLF or CRLFCRLF (RFC 5626 §3.5.1 pong, ping)
	unitMessage          // a whole SIP message
)

// next looks at buf, which starts at a message boundary, and returns the
// kind and length of the first unit in it, unitNone when more bytes are
// needed, or a framing error (the stream cannot be resynchronised). hdr is
// the length of the header block (start line to CRLFCRLF included) once
// known, for building an answer to a broken message.
func (f *framer) next(buf []byte) (kind, n, hdr int, err error) {
	if f.need == 0 && len(buf) > 0 && (buf[0] == '\r' || buf[0] == '\n') {
		switch {
		case bytes.HasPrefix(buf, crlfcrlf):
			return unitKeepalive, 4, 0, nil
		case bytes.HasPrefix(buf, crlf):
			return unitKeepalive, 2, 0, nil
		case buf[0] == '\n':
			return unitKeepalive, 1, 0, nil
		case len(buf) == 1: // a lone CR: wait for its LF
			return unitNone, 0, 0, nil
		default: // CR followed by something else: let the parser judge it
		}
	}
	if f.need == 0 {
		from := max(f.scanned-3, 0)
		i := bytes.Index(buf[from:], crlfcrlf)
		if i < 0 {
			f.scanned = len(buf)
			if len(buf) > f.max {
				return unitNone, 0, 0, ErrHeaderTooLarge
			}
			return unitNone, 0, 0, nil
		}
		hdr = from + i + 4
		if hdr > f.max {
			return unitNone, 0, hdr, ErrHeaderTooLarge
		}
		cl, err := contentLength(buf[:hdr], f.max)
		if err != nil {
			return unitNone, 0, hdr, err
		}
		if hdr+cl > f.max {
			return unitNone, 0, hdr, ErrMessageTooLarge
		}
		f.need = hdr + cl
	}
	if len(buf) < f.need {
		return unitNone, 0, 0, nil
	}
	n = f.need
	f.reset()
	return unitMessage, n, 0, nil
}

// reset prepares f for the next message.
func (f *framer) reset() { f.scanned, f.need = 0, 0 }

var (
	crlf     = []byte("\r\n")
	crlfcrlf = []byte("\r\n\r\n")
)

// contentLength returns the body length announced in a header block (start
// line and headers up to CRLFCRLF). Every Content-Length (or compact "l")
// header must be a number, and all must agree; one is required. It scans
// in place: a folded value (continuation lines) is rare, and is joined only
// then.
func contentLength(hdrs []byte, max int) (int, error) {
	found, n := false, 0
	_, rest, _ := bytes.Cut(hdrs, crlf) // the start line
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, crlf)
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(name) == 0 || name[0] == ' ' || name[0] == '\t' {
			continue
		}
		name = bytes.TrimRight(name, " \t")
		if !bytes.EqualFold(name, []byte("Content-Length")) && !bytes.EqualFold(name, []byte("l")) {
			continue
		}
		for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') { // folded
			var more []byte
			more, rest, _ = bytes.Cut(rest, crlf)
			value = append(append(bytes.Clone(value), ' '), more...)
		}
		v, ok := parseLength(bytes.Trim(value, " \t"), max)
		if !ok || (found && v != n) {
			return 0, ErrBadContentLength
		}
		found, n = true, v
	}
	if !found {
		return 0, ErrNoContentLength
	}
	return n, nil
}

// parseLength parses a decimal length; anything above max is reported as
// max+1 (too large, and no overflow).
func parseLength(b []byte, max int) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n <= max {
			n = n*10 + int(c-'0')
		}
	}
	return min(n, max+1), true
}

// headerLines splits a header block into its header lines, folded
// continuation lines (starting with space or tab) joined to the header they
// continue; the start line is left out.
func headerLines(hdrs []byte) [][]byte {
	var out [][]byte
	first := true
	for len(hdrs) > 0 {
		line, rest, _ := bytes.Cut(hdrs, crlf)
		hdrs = rest
		switch {
		case first:
			first = false
		case len(line) == 0:
		case (line[0] == ' ' || line[0] == '\t') && len(out) > 0:
			out[len(out)-1] = append(append(bytes.Clone(out[len(out)-1]), ' '), bytes.TrimLeft(line, " \t")...)
		default:
			out = append(out, line)
		}
	}
	return out
}
