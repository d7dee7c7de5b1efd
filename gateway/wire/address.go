package wire

import "bytes"

// checkAddressList validates a comma-separated list of name-addr/addr-spec
// values (Contact, Route, Record-Route). star allows Contact's "*";
// nameAddr requires the <...> form (Route, Record-Route).
func checkAddressList(v []byte, star, nameAddr bool) string {
	if star && string(v) == "*" {
		return ""
	}
	if len(v) == 0 {
		return "empty value"
	}
	for len(v) > 0 {
		end := indexOutside(v, ',')
		if end < 0 {
			end = len(v)
		}
		if p := checkAddress(v[:end], nameAddr); p != "" {
			return p
		}
		if end == len(v) {
			break
		}
		v = v[end+1:]
		if len(v) == 0 {
			return "empty value after comma"
		}
	}
	return ""
}

// checkAddress validates one name-addr or addr-spec with its header
// parameters (RFC 3261 §20.10, §25.1), after compact.
func checkAddress(v []byte, nameAddr bool) string {
	if len(v) == 0 {
		return "empty value"
	}
	var uri, params []byte
	lt := indexOutside(v, '<')
	switch {
	case v[0] == '"':
		end := closingQuote(v)
		if end < 0 {
			return "unterminated quoted string"
		}
		rest := bytes.TrimLeft(v[end+1:], " ")
		if len(rest) == 0 || rest[0] != '<' {
			return "display name without <URI>"
		}
		v = rest
		lt = 0
	case lt > 0:
		for _, c := range v[:lt] {
			if !isTokenChar(c) && c != ' ' {
				return "display name is neither tokens nor a quoted string"
			}
		}
	}
	if lt >= 0 {
		gt := bytes.IndexByte(v[lt:], '>')
		if gt < 0 {
			return "no closing >"
		}
		uri, params = v[lt+1:lt+gt], v[lt+gt+1:]
		if _, p := checkURI(uri, true); p != "" {
			return "URI: " + p
		}
	} else {
		if nameAddr {
			return "URI not enclosed in <>"
		}
		end := bytes.IndexByte(v, ';')
		if end < 0 {
			end = len(v)
		}
		uri, params = v[:end], v[end:]
		if bytes.ContainsAny(uri, "?,\"<>") {
			return "URI with headers or commas must be enclosed in <>"
		}
		if string(uri) == "*" {
			return "* is not an address"
		}
		if _, p := checkURI(uri, false); p != "" {
			return "URI: " + p
		}
	}
	return checkParams(params)
}

// checkParams validates *( ";" name [ "=" value ] ), after compact.
func checkParams(p []byte) string {
	for len(p) > 0 {
		if p[0] != ';' {
			return "junk after the address"
		}
		p = p[1:]
		end := indexOutside(p, ';')
		if end < 0 {
			end = len(p)
		}
		name, value, hasValue := bytes.Cut(p[:end], []byte("="))
		if !isToken(name) {
			return "empty or bad parameter name"
		}
		// Values are not held to gen-value: phones send unquoted URNs and
		// the like, and nothing downstream breaks on them; a quoted string
		// must end, though.
		if hasValue && len(value) > 0 && value[0] == '"' {
			if closingQuote(value) != len(value)-1 {
				return "unterminated quoted string in a parameter"
			}
		} else if bytes.ContainsAny(value, "=\"<>") {
			return "bad parameter value"
		}
		p = p[end:]
	}
	return ""
}

// closingQuote returns the index of the quote that ends the quoted string
// starting at v[0], or -1.
func closingQuote(v []byte) int {
	for i := 1; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// indexOutside returns the index of the first c outside quoted strings and
// <...>, or -1.
func indexOutside(v []byte, c byte) int {
	var quoted, angle bool
	for i := 0; i < len(v); i++ {
		b := v[i]
		switch {
		case quoted:
			if b == '\\' {
				i++
			} else if b == '"' {
				quoted = false
			}
			continue
		case angle:
			if b == '>' {
				angle = false
			}
			continue
		case b == c:
			return i
		case b == '"':
			quoted = true
		case b == '<':
			angle = true
		}
	}
	return -1
}
