package wire

import "bytes"

// magicCookie starts every RFC 3261 branch (§8.1.1.7).
const magicCookie = "z9hG4bK"

// checkVia validates a Via value (one or more via-parms separated by
// commas) after compact: sent-protocol SP sent-by *( ";" via-params ).
func checkVia(v []byte) string {
	for {
		end := bytes.IndexByte(v, ',')
		if end < 0 {
			end = len(v)
		}
		if p := checkViaParm(v[:end]); p != "" {
			return p
		}
		if end == len(v) {
			return ""
		}
		v = v[end+1:]
	}
}

func checkViaParm(v []byte) string {
	sp := bytes.IndexByte(v, ' ')
	if sp < 0 {
		return "no sent-by"
	}
	proto := bytes.Split(v[:sp], []byte("/"))
	if len(proto) != 3 || !isToken(proto[0]) || !isToken(proto[1]) || !isToken(proto[2]) {
		return "bad sent-protocol"
	}
	rest := v[sp+1:]
	end := bytes.IndexByte(rest, ';')
	if end < 0 {
		end = len(rest)
	}
	if p := checkSentBy(rest[:end]); p != "" {
		return p
	}
	params := rest[end:]
	for len(params) > 0 {
		params = params[1:] // the ';'
		end := bytes.IndexByte(params, ';')
		if end < 0 {
			end = len(params)
		}
		name, value, hasValue := bytes.Cut(params[:end], []byte("="))
		if !isToken(name) {
			return "empty or bad parameter name"
		}
		if hasValue {
			if len(value) == 0 {
				return "empty parameter value"
			}
			for _, c := range value {
				if !isTokenChar(c) && c != ':' && c != '[' && c != ']' {
					return "bad parameter value"
				}
			}
			if bytes.EqualFold(name, []byte("branch")) && string(value) == magicCookie {
				return "branch is the bare magic cookie"
			}
		}
		params = params[end:]
	}
	return ""
}

// checkSentBy validates host [ ":" port ].
func checkSentBy(b []byte) string {
	if len(b) == 0 {
		return "no sent-by"
	}
	if b[0] == '[' {
		end := bytes.IndexByte(b, ']')
		if end <= 1 {
			return "bad IPv6 reference"
		}
		for _, c := range b[1:end] {
			if !isHex(c) && c != ':' && c != '.' {
				return "bad IPv6 reference"
			}
		}
		b = b[end+1:]
		if len(b) == 0 {
			return ""
		}
		if b[0] != ':' {
			return "junk after the IPv6 reference"
		}
		if _, ok := atoi(b[1:], 65535); !ok {
			return "bad port"
		}
		return ""
	}
	host, port, hasPort := bytes.Cut(b, []byte(":"))
	if len(host) == 0 {
		return "no host"
	}
	for _, c := range host {
		if !isHostChar(c) {
			return "bad host"
		}
	}
	if hasPort {
		if _, ok := atoi(port, 65535); !ok {
			return "bad port"
		}
	}
	return ""
}
