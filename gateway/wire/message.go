package wire

import (
	"bytes"
	"sync"
)

// field is one header field as received.
type field struct {
	name    []byte // as written, whitespace before the colon removed
	key     string // canonical lower-case long name for known headers, else ""
	value   []byte // value with folding replaced by SP, outer LWS trimmed
	raw     []byte // the whole field as received, continuation lines and CRLFs included
	folded  bool
	changed bool // value differs from the received one (written anew)
}

// message is a SIP message split into its parts. Every slice points into
// the bytes given to split, except field values that were unfolded.
type message struct {
	start   []byte  // start line without CRLF
	fields  []field // header fields in order
	body    []byte  // everything after the empty line
	skipped int     // CRLFs before the start line
	noEnd   bool    // no empty line ends the headers
	cut     bool    // octets after Content-Length were cut from body

	contentLength int // -1: no Content-Length
}

// split cuts msg into start line, fields and body. It stops at the first
// structural problem and returns what it found so far with the error, so
// that an answer can still be built from the fields before it.
func split(msg []byte) (*message, *Error) {
	m := messages.Get().(*message)
	for len(msg) >= 2 && msg[0] == '\r' && msg[1] == '\n' {
		msg = msg[2:]
		m.skipped += 2
	}
	line, rest, ok := cutLine(msg)
	if !ok {
		return m, &Error{Err: wrap(ErrNotSIP, "no CRLF after the start line")}
	}
	if i := bytes.IndexAny(line, "\r\n"); i >= 0 {
		return m, &Error{Err: wrap(ErrNotSIP, "bare CR or LF in the start line")}
	}
	m.start = line
	for {
		if len(rest) == 0 {
			m.noEnd = true
			return m, nil
		}
		begin := rest
		line, rest, ok = cutLine(rest)
		if !ok {
			// The last line has no CRLF: the headers never end.
			m.noEnd = true
			return m, bad("Bad Header Line", ErrHeaderLine, "header line %d without CRLF", len(m.fields)+1)
		}
		if len(line) == 0 {
			m.body = rest
			return m, nil
		}
		if bytes.IndexByte(line, '\n') >= 0 || bytes.IndexByte(line, '\r') >= 0 {
			return m, bad("Bad Line Ending", ErrHeaderLine, "bare CR or LF in header line %d", len(m.fields)+1)
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(m.fields) == 0 {
				return m, bad("Bad Header Line", ErrHeaderLine, "continuation line before the first header")
			}
			f := &m.fields[len(m.fields)-1]
			f.value = unfold(f, trimLWS(line))
			f.raw = f.raw[:len(f.raw)+len(line)+2]
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			return m, bad("Bad Header Line", ErrHeaderLine, "header line %d has no colon", len(m.fields)+1)
		}
		name := trimRightWSP(line[:colon])
		if !isToken(name) {
			return m, bad("Bad Header Name", ErrHeaderLine, "header line %d: name is not a token", len(m.fields)+1)
		}
		m.fields = append(m.fields, field{
			name:  name,
			key:   canonical(name),
			value: trimLWS(line[colon+1:]),
			raw:   begin[:len(line)+2],
		})
	}
}

// messages recycles the split of a message once Check or Reply is done
// with it: the field table (16 fields, ~2 KB) was the largest allocation of
// every datagram. Nothing Check or Reply returns points into it.
var messages = sync.Pool{New: func() any { return &message{fields: make([]field, 0, 16)} }} //nolint:gochecknoglobals // a pool

// release returns m to the pool, cleared (it points into the caller's
// bytes); a table grown past 64 fields is left to the collector.
func (m *message) release() {
	clear(m.fields)
	if cap(m.fields) > 64 {
		return
	}
	*m = message{fields: m.fields[:0]}
	messages.Put(m)
}

// unfold appends a continuation line to f's value with one SP between.
func unfold(f *field, cont []byte) []byte {
	if !f.folded {
		f.folded = true
		f.value = append([]byte(nil), f.value...)
	}
	if len(cont) == 0 {
		return f.value
	}
	if len(f.value) == 0 {
		return append(f.value, cont...)
	}
	v := append(f.value, ' ')
	return append(v, cont...)
}

// cutLine returns the bytes before the first CRLF and the bytes after it.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.Index(b, crlf)
	if i < 0 {
		return b, nil, false
	}
	return b[:i], b[i+2:], true
}

var crlf = []byte("\r\n") //nolint:gochecknoglobals // constant

// compactNames maps the compact forms of RFC 3261 §7.3.3 (and the common
// extensions) to the long names.
func canonical(name []byte) string {
	if len(name) == 1 {
		switch name[0] | 0x20 {
		case 'i':
			return "call-id"
		case 'm':
			return "contact"
		case 'l':
			return "content-length"
		case 'c':
			return "content-type"
		case 'f':
			return "from"
		case 't':
			return "to"
		case 'v':
			return "via"
		case 'r':
			return "refer-to"
		case 'b':
			return "referred-by"
		}
		return ""
	}
	var buf [20]byte
	if len(name) > len(buf) {
		return ""
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	switch string(buf[:len(name)]) {
	case "via":
		return "via"
	case "from":
		return "from"
	case "to":
		return "to"
	case "call-id":
		return "call-id"
	case "cseq":
		return "cseq"
	case "max-forwards":
		return "max-forwards"
	case "content-length":
		return "content-length"
	case "content-type":
		return "content-type"
	case "contact":
		return "contact"
	case "route":
		return "route"
	case "record-route":
		return "record-route"
	case "refer-to":
		return "refer-to"
	case "referred-by":
		return "referred-by"
	}
	return ""
}

func isWSP(c byte) bool { return c == ' ' || c == '\t' }

func trimLWS(b []byte) []byte {
	for len(b) > 0 && isWSP(b[0]) {
		b = b[1:]
	}
	return trimRightWSP(b)
}

func trimRightWSP(b []byte) []byte {
	for len(b) > 0 && isWSP(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// isTokenChar reports whether c may appear in an RFC 3261 token.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '!', '%', '*', '_', '+', '`', '\'', '~':
		return true
	}
	return false
}

// IsToken reports whether s is an RFC 3261 token (a method, a header
// name): one or more of letters, digits and -.!%*_+`'~.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isTokenChar(c) {
			return false
		}
	}
	return true
}

func isDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// atoi parses digits, leading zeros allowed; ok is false past max.
func atoi(b []byte, max uint64) (uint64, bool) {
	if !isDigits(b) {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		n = n*10 + uint64(c-'0')
		if n > max {
			return 0, false
		}
	}
	return n, true
}
