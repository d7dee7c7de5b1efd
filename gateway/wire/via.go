package wire

import (
	"bytes"
	"net/netip"
	"strconv"
)

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

// maxStamp is the most stampVia adds to a Via: ";received=" and the
// longest IPv6 address (39 octets), and "=65535" after an rport.
const maxStamp = len(";received=") + 39 + len("=65535")

// stampSource records src in the top Via of a request that passed the
// checks (see CheckFrom).
func (m *message) stampSource(src netip.AddrPort) {
	for i := range m.fields {
		if f := &m.fields[i]; f.key == "via" {
			f.setValue(stampVia(f.value, src))
			return
		}
	}
}

// stampVia returns the compacted Via value v (which passed checkVia) with
// received and rport set in its first via-parm from src, per CheckFrom; v
// itself when nothing changes.
func stampVia(v []byte, src netip.AddrPort) []byte {
	top, rest := v, []byte(nil)
	if end := bytes.IndexByte(v, ','); end >= 0 {
		top, rest = v[:end], v[end:]
	}
	sp := bytes.IndexByte(top, ' ')
	if sp < 0 {
		return v
	}
	head, params := top, []byte(nil) // head: sent-protocol SP sent-by
	if semi := bytes.IndexByte(top[sp:], ';'); semi >= 0 {
		head, params = top[:sp+semi], top[sp+semi:]
	}
	ip := src.Addr().Unmap().WithZone("")
	var rport, received bool
	for p := params; len(p) > 0; {
		name, next := viaParam(p)
		rport = rport || bytes.EqualFold(name, []byte("rport"))
		received = received || bytes.EqualFold(name, []byte("received"))
		p = next
	}
	if !rport && !received && sentByIs(head[sp+1:], ip) {
		return v
	}
	ipText := ip.String()
	out := make([]byte, 0, len(v)+maxStamp)
	out = append(out, head...)
	var wroteRport, wroteReceived bool
	for p := params; len(p) > 0; {
		name, next := viaParam(p)
		switch {
		case bytes.EqualFold(name, []byte("rport")):
			if !wroteRport {
				out = strconv.AppendUint(append(out, ";rport="...), uint64(src.Port()), 10)
				wroteRport = true
			}
		case bytes.EqualFold(name, []byte("received")):
			if !wroteReceived {
				out = append(append(out, ";received="...), ipText...)
				wroteReceived = true
			}
		default:
			out = append(out, p[:len(p)-len(next)]...)
		}
		p = next
	}
	if !wroteReceived {
		out = append(append(out, ";received="...), ipText...)
	}
	out = append(out, rest...)
	if bytes.Equal(out, v) {
		return v
	}
	return out
}

// viaParam splits the first ";name[=value]" off p (which starts with ';')
// and returns its name and what follows it.
func viaParam(p []byte) (name, next []byte) {
	end := bytes.IndexByte(p[1:], ';')
	if end < 0 {
		end = len(p) - 1
	}
	name, _, _ = bytes.Cut(p[1:1+end], []byte("="))
	return name, p[1+end:]
}

// sentByIs reports whether the host of sent-by (host [":" port]) is ip.
func sentByIs(sentBy []byte, ip netip.Addr) bool {
	host := sentBy
	if len(host) > 0 && host[0] == '[' {
		if end := bytes.IndexByte(host, ']'); end > 0 {
			host = host[1:end]
		}
	} else if colon := bytes.IndexByte(host, ':'); colon >= 0 {
		host = host[:colon]
	}
	a, err := netip.ParseAddr(string(host))
	return err == nil && a.Unmap() == ip
}
