package wire

import "bytes"

// checkURI validates a URI the way sipgo's ParseUri needs it, and for sip
// and sips URIs also that there is a host (RFC 3261 §19.1.1). It returns the
// scheme (as written) and, for a bad URI, what is wrong.
//
// sipgo takes only letters in a scheme (RFC 3261 also allows digits, "+",
// "-" and "."), so such a URI is refused here rather than lost in the
// parser.
func checkURI(u []byte, headersOK bool) (scheme []byte, problem string) {
	for _, c := range u {
		if c <= ' ' || c == 0x7f {
			return nil, "whitespace or control character"
		}
	}
	colon := bytes.IndexByte(u, ':')
	if colon <= 0 || len(u) < 3 {
		return nil, "no scheme"
	}
	scheme = u[:colon]
	for _, c := range scheme {
		if !('a' <= c|0x20 && c|0x20 <= 'z') {
			return scheme, "scheme is not letters only"
		}
	}
	if !isSIPScheme(scheme) {
		return scheme, ""
	}
	rest := bytes.TrimPrefix(u[colon+1:], []byte("//"))
	hostStart := 0
	if i := bytes.IndexAny(rest, "@["); i >= 0 {
		hostStart = i
		if rest[i] == '@' {
			hostStart++
		}
	}
	hp := rest[hostStart:]
	if len(hp) > 0 && hp[0] == '[' {
		end := bytes.IndexByte(hp[:min(len(hp), 42)], ']')
		if end <= 1 {
			return scheme, "bad IPv6 reference"
		}
		for _, c := range hp[1:end] {
			if !isHex(c) && c != ':' && c != '.' {
				return scheme, "bad IPv6 reference"
			}
		}
		hp = hp[end+1:]
		if len(hp) > 0 && hp[0] != ':' && hp[0] != ';' && hp[0] != '?' {
			return scheme, "bad IPv6 reference"
		}
	} else {
		end := bytes.IndexAny(hp, ":;?")
		if end < 0 {
			end = len(hp)
		}
		if end == 0 {
			return scheme, "no host"
		}
		for _, c := range hp[:end] {
			if !isHostChar(c) {
				return scheme, "bad host"
			}
		}
		hp = hp[end:]
	}
	if len(hp) > 0 && hp[0] == ':' {
		end := bytes.IndexAny(hp, ";?")
		if end < 0 {
			end = len(hp)
		}
		if _, ok := atoi(hp[1:end], 65535); !ok {
			return scheme, "bad port"
		}
		hp = hp[end:]
	}
	if !headersOK && bytes.IndexByte(hp, '?') >= 0 {
		return scheme, "headers not allowed"
	}
	return scheme, ""
}

func isSIPScheme(s []byte) bool {
	return bytes.EqualFold(s, []byte("sip")) || bytes.EqualFold(s, []byte("sips"))
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f'
}

func isHostChar(c byte) bool {
	return 'a' <= c|0x20 && c|0x20 <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_'
}
