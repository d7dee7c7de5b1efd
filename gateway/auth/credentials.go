package auth

import (
	"fmt"
	"strings"
)

// maxHeaderLen bounds the credentials header we are willing to parse.
const maxHeaderLen = 4096

// credentials are the digest parameters of one Authorization or
// Proxy-Authorization header value, unquoted.
type credentials struct {
	username  string
	realm     string
	nonce     string
	uri       string
	response  string
	algorithm string
	qop       string
	nc        string
	cnonce    string
	opaque    string
}

// parseCredentials parses a `Digest k=v, k="v", ...` header value. Parameter
// names are case-insensitive; unknown parameters are ignored; a repeated
// known parameter, an unterminated quoted string or a scheme other than
// Digest is an error wrapping ErrMalformed.
func parseCredentials(s string) (credentials, error) {
	var c credentials
	if len(s) > maxHeaderLen {
		return c, fmt.Errorf("%w: header longer than %d bytes", ErrMalformed, maxHeaderLen)
	}
	s = trimLWS(s)
	sp := strings.IndexAny(s, " \t")
	if sp < 0 || !strings.EqualFold(s[:sp], "Digest") {
		return c, errNotDigest
	}
	s = s[sp:]
	var seen uint16
	for {
		s = trimLWS(s)
		if s == "" {
			break
		}
		// key
		i := 0
		for i < len(s) && isTokenChar(s[i]) {
			i++
		}
		if i == 0 {
			return c, fmt.Errorf("%w: expected a parameter name at %q", ErrMalformed, clip(s))
		}
		key := s[:i]
		s = trimLWS(s[i:])
		if s == "" || s[0] != '=' {
			return c, fmt.Errorf("%w: parameter %q has no value", ErrMalformed, key)
		}
		s = trimLWS(s[1:])
		var val string
		var err error
		val, s, err = readValue(s)
		if err != nil {
			return c, fmt.Errorf("%w: parameter %q: %w", ErrMalformed, key, err)
		}
		if dst, bit := c.field(key); dst != nil {
			if seen&bit != 0 {
				return c, fmt.Errorf("%w: parameter %q repeated", ErrMalformed, key)
			}
			seen |= bit
			*dst = val
		}
		s = trimLWS(s)
		if s == "" {
			break
		}
		if s[0] != ',' {
			return c, fmt.Errorf("%w: expected ',' at %q", ErrMalformed, clip(s))
		}
		s = s[1:]
	}
	return c, nil
}

// field returns where the value of parameter key goes and its bit in the
// seen-set, or nil for a parameter we ignore.
func (c *credentials) field(key string) (*string, uint16) {
	switch {
	case strings.EqualFold(key, "username"):
		return &c.username, 1 << 0
	case strings.EqualFold(key, "realm"):
		return &c.realm, 1 << 1
	case strings.EqualFold(key, "nonce"):
		return &c.nonce, 1 << 2
	case strings.EqualFold(key, "uri"):
		return &c.uri, 1 << 3
	case strings.EqualFold(key, "response"):
		return &c.response, 1 << 4
	case strings.EqualFold(key, "algorithm"):
		return &c.algorithm, 1 << 5
	case strings.EqualFold(key, "qop"):
		return &c.qop, 1 << 6
	case strings.EqualFold(key, "nc"):
		return &c.nc, 1 << 7
	case strings.EqualFold(key, "cnonce"):
		return &c.cnonce, 1 << 8
	case strings.EqualFold(key, "opaque"):
		return &c.opaque, 1 << 9
	}
	return nil, 0
}

// readValue reads a token or a quoted-string (RFC 3261 §25.1) from the start
// of s and returns it unquoted with the rest of s.
func readValue(s string) (val, rest string, err error) {
	if s == "" {
		return "", s, fmt.Errorf("empty value")
	}
	if s[0] != '"' {
		i := 0
		for i < len(s) && s[i] != ',' && s[i] != ' ' && s[i] != '\t' {
			if s[i] == '"' || s[i] < 0x21 || s[i] == 0x7f {
				return "", s, fmt.Errorf("bad character in token")
			}
			i++
		}
		if i == 0 {
			return "", s, fmt.Errorf("empty value")
		}
		return s[:i], s[i:], nil
	}
	var b *strings.Builder
	start := 1
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) {
				return "", s, fmt.Errorf("unterminated quoted string")
			}
			if b == nil {
				b = &strings.Builder{}
			}
			b.WriteString(s[start:i])
			b.WriteByte(s[i+1])
			i++
			start = i + 1
		case '"':
			if b == nil {
				return s[1:i], s[i+1:], nil
			}
			b.WriteString(s[start:i])
			return b.String(), s[i+1:], nil
		case '\r', '\n':
			return "", s, fmt.Errorf("line break in quoted string")
		}
	}
	return "", s, fmt.Errorf("unterminated quoted string")
}

// isTokenChar reports whether b may appear in an RFC 3261 token.
func isTokenChar(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	return strings.IndexByte("-.!%*_+`'~", b) >= 0
}

// trimLWS drops leading spaces, tabs and line folds.
func trimLWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n') {
		s = s[1:]
	}
	return s
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 24 {
		return s[:24] + "..."
	}
	return s
}
