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
	out = make([]byte, 0, len(v))
	var quoted, escaped, angle bool
	pendingSpace := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case quoted:
			out = append(out, c)
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
			out = append(out, c)
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
			if len(out) > 0 && !isSep(out[len(out)-1], via) && !isSep(c, via) {
				out = append(out, ' ')
			}
		}
		out = append(out, c)
		switch c {
		case '"':
			quoted = true
		case '<':
			angle = true
		}
	}
	return out, spaceInAngle
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
