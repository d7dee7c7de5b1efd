package wire

import (
	"bytes"
	"encoding/hex"
	"hash/fnv"
	"strconv"
)

// Reply builds a stateless response with code and reason to the request in
// msg from its raw octets, as Check does for the requests it refuses: every
// Via, From, To (with a To tag added when it has none), Call-ID and CSeq
// are copied as far as they can be found, and Content-Length is 0. It
// returns nil when msg has no Via (the answer could not be routed) or is an
// ACK. The TCP/TLS framing and the WebSocket edge can use it for answers of
// their own (e.g. 413 for an oversize message whose headers arrived).
func Reply(msg []byte, code int, reason string) []byte {
	m, _ := split(msg)
	defer m.release()
	if m.start == nil || isStatusLine(m.start) || bytes.HasPrefix(m.start, []byte("ACK ")) {
		return nil
	}
	return m.reply(code, reason)
}

// reply builds the response from the fields split found.
func (m *message) reply(code int, reason string) []byte {
	// Values that fail their own check are left out (a parser would drop
	// the whole answer for them), except the Vias: an answer needs one.
	var vias, rawVias [][]byte
	var from, to, callID, cseq []byte
	for i := range m.fields {
		f := &m.fields[i]
		switch f.key {
		case "via":
			v, _ := compact(f.value, true)
			rawVias = append(rawVias, v)
			if checkVia(v) == "" {
				vias = append(vias, v)
			}
		case "from", "to":
			v, space := compact(f.value, false)
			if space || checkAddress(v, false) != "" {
				continue
			}
			if f.key == "from" && from == nil {
				from = v
			} else if f.key == "to" && to == nil {
				to = v
			}
		case "call-id":
			if callID == nil && len(f.value) > 0 && !hasWSP(f.value) {
				callID = f.value
			}
		case "cseq":
			v, _ := compact(f.value, false)
			num, meth, ok := bytes.Cut(v, []byte(" "))
			if _, n := atoi(num, 1<<31-1); cseq == nil && ok && n && isToken(meth) {
				cseq = v
			}
		}
	}
	if len(vias) == 0 {
		vias = rawVias
	}
	if len(vias) == 0 {
		return nil
	}
	b := make([]byte, 0, 256+len(m.start))
	b = append(b, "SIP/2.0 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, reason...)
	b = append(b, crlf...)
	for _, v := range vias {
		b = appendHeader(b, "Via", v)
	}
	if from != nil {
		b = appendHeader(b, "From", from)
	}
	if to != nil {
		b = append(b, "To: "...)
		b = append(b, to...)
		if param(to, "tag") == nil {
			b = append(b, ";tag="...)
			b = append(b, toTag(vias[0], from, callID, cseq)...)
		}
		b = append(b, crlf...)
	}
	if callID != nil {
		b = appendHeader(b, "Call-ID", callID)
	}
	if cseq != nil {
		b = appendHeader(b, "CSeq", cseq)
	}
	b = append(b, "Content-Length: 0\r\n\r\n"...)
	return b
}

func appendHeader(b []byte, name string, v []byte) []byte {
	b = append(b, name...)
	b = append(b, ':', ' ')
	b = append(b, v...)
	return append(b, crlf...)
}

// toTag is the To tag of a stateless answer: a hash of what identifies the
// request, so that a retransmission gets the same tag (RFC 3261 §8.2.7)
// without any state kept.
func toTag(parts ...[]byte) []byte {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = h.Write(p)
		_, _ = h.Write([]byte{0})
	}
	var sum [8]byte
	return hex.AppendEncode(nil, h.Sum(sum[:0]))
}
