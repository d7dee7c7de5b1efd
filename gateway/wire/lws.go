package wire

// compact removes the linear whitespace sipgo's header parsers cannot take
// from a structured header value: around ";", "=" and "," (and, with via,
// around "/" and ":"), and runs of SP/HTAB elsewhere become one SP. Quoted
// strings and <...> are copied as they are. It returns v itself when nothing
// changes. spaceInAngle reports whitespace inside <...> (never valid: a URI
// has no LWS, RFC 3261 §25.1 LAQUOT/RAQUOT allow it only outside).
func compact(v []byte, via bool) (out []byte, spaceInAngle bool) {
	if !hasWSP(v) {
		return v, false
	}
	w := cow{src: v}
	var quoted, escaped, angle bool
	pendingSpace := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case quoted:
			w.put(c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				quoted = false
			}
			continue
		case angle:
			if isWSP(c) {
				spaceInAngle = true
			}
			w.put(c)
			if c == '>' {
				angle = false
			}
			continue
		case isWSP(c):
			pendingSpace = true
			continue
		}
		if pendingSpace {
			pendingSpace = false
			if l, ok := w.last(); ok && !isSep(l, via) && !isSep(c, via) {
				w.put(' ')
			}
		}
		w.put(c)
		switch c {
		case '"':
			quoted = true
		case '<':
			angle = true
		}
	}
	return w.bytes(), spaceInAngle
}

// cow builds a rewrite of src that allocates only once it differs from
// src: until then the output is src[:n] (it never grows past what was read).
type cow struct {
	src []byte
	n   int    // output length while it is a prefix of src
	out []byte // the output once it differs
}

func (w *cow) put(c byte) {
	if w.out == nil {
		if w.src[w.n] == c {
			w.n++
			return
		}
		w.out = make([]byte, w.n, len(w.src))
		copy(w.out, w.src[:w.n])
	}
	w.out = append(w.out, c)
}

func (w *cow) last() (byte, bool) {
	switch {
	case w.out != nil:
		return w.out[len(w.out)-1], true
	case w.n > 0:
		return w.src[w.n-1], true
	}
	return 0, false
}

func (w *cow) bytes() []byte {
	if w.out == nil {
		return w.src[:w.n]
	}
	return w.out
}

// isSep reports whether whitespace next to c can go.
func isSep(c byte, via bool) bool {
	switch c {
	case ';', '=', ',':
		return true
	case '/', ':':
		return via
	}
	return false
}

func hasWSP(v []byte) bool {
	for _, c := range v {
		if isWSP(c) {
			return true
		}
	}
	return false
}

// lowerParams writes the header parameter names sipgo looks up with a
// case-sensitive Get (tag, branch, received, rport, expires, q) in lower
// case: parameter names are case-insensitive (RFC 3261 §7.3.1), sipgo's
// lookups are not. It returns v itself when nothing changes.
func lowerParams(v []byte) []byte {
	var out []byte
	for i := 0; ; {
		j := indexOutside(v[i:], ';')
		if j < 0 {
			break
		}
		i += j + 1
		end := i
		for end < len(v) && isTokenChar(v[end]) {
			end++
		}
		name := v[i:end]
		if !knownParam(name) || isLower(name) {
			continue
		}
		if out == nil {
			out = append([]byte(nil), v...)
		}
		for k := i; k < end; k++ {
			out[k] |= 0x20
		}
	}
	if out == nil {
		return v
	}
	return out
}

func knownParam(name []byte) bool {
	for _, k := range [...]string{"tag", "branch", "received", "rport", "expires", "q"} {
		if len(name) == len(k) && string(bytesToLower(name)) == k {
			return true
		}
	}
	return false
}

func isLower(b []byte) bool {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

func bytesToLower(b []byte) []byte {
	var buf [8]byte
	out := buf[:0]
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out = append(out, c)
	}
	return out
}
