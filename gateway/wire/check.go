package wire

import (
	"bytes"
	"net/netip"
)

// Check validates one whole SIP message (a UDP datagram, a WebSocket
// message, or one message framed out of a TCP/TLS stream) and prepares it
// for sipgo's parser. It is safe for concurrent use and keeps no state.
//
//   - A message of only CR and LF octets is a keepalive: out, reply and err
//     are all nil (answering, if the transport wants to, is the caller's
//     job).
//   - A message that passes: out is the message to hand to sipgo, reply and
//     err are nil. out is msg itself when nothing needed normalising,
//     otherwise a new slice that is never longer than msg.
//   - A request that must be refused: out is nil, err is an *Error (Code,
//     Reason, and a cause wrapping one of the sentinels), and reply is the
//     stateless response to send back to the message's source, on the same
//     transport. reply is nil for an ACK and for a request without any Via,
//     which cannot be answered.
//   - A broken response: out and reply are nil, err is an *Error with Code
//     0. It is dropped, never answered.
//
// err's text never holds the message's own octets, so it may be logged as
// is; log it rate-limited, since anyone can send garbage.
//
// Over a stream (TCP, TLS) the framing has already found the message's end
// from its Content-Length; a Content-Length that cannot be parsed there is
// a framing error that closes the connection (RFC 4475 §3.1.2.4), which is
// the framing's business, not Check's.
func Check(msg []byte) (out []byte, reply []byte, err error) {
	return check(msg, netip.AddrPort{})
}

// CheckFrom is Check for a message received from src, the packet's source
// address (UDP) or the connection's remote address (TCP, TLS). A request
// that passes also gets its top Via stamped with src, as RFC 3261 §18.2.1
// and RFC 3581 §4 make the server transport do:
//
//   - "received=<src IP>" when the sent-by host is not that IP (a name, or
//     another address), when the Via asks for rport, and when the Via
//     carries a received already (its value is replaced, never trusted);
//   - "rport=<src port>" when the Via carries rport (empty, as clients
//     send it; any value is replaced).
//
// sipgo then sends the responses to received (and rport) without looking
// the sent-by name up in DNS, and responses copy the stamped Via (RFC 3581
// §4: the response carries both). Other Via hops, and responses, are never
// stamped. Stamping adds at most maxStamp octets, so out may be that much
// longer than msg. An invalid src stamps nothing: CheckFrom is Check.
func CheckFrom(msg []byte, src netip.AddrPort) (out []byte, reply []byte, err error) {
	return check(msg, src)
}

func check(msg []byte, src netip.AddrPort) (out []byte, reply []byte, err error) {
	if len(bytes.Trim(msg, "\r\n")) == 0 {
		return nil, nil, nil
	}
	m, serr := split(msg)
	defer m.release()
	if m.start == nil {
		return nil, nil, serr
	}
	if isStatusLine(m.start) {
		if e := checkResponse(m, serr); e != nil {
			e.Code, e.Reason = 0, ""
			return nil, nil, e
		}
		return m.assemble(msg), nil, nil
	}
	method, e := checkRequest(m, serr)
	if e != nil {
		if e.Code == 0 {
			return nil, nil, e
		}
		if string(method) == "ACK" {
			return nil, nil, e
		}
		return nil, m.reply(e.Code, e.Reason), e
	}
	if src.IsValid() {
		m.stampSource(src)
	}
	return m.assemble(msg), nil, nil
}

// knownMethods are the methods of RFC 3261 and its common extensions; a
// CSeq mismatch on any other method is answered 501 (RFC 4475 §3.1.2.18).
func knownMethod(m []byte) bool {
	switch string(m) {
	case "INVITE", "ACK", "CANCEL", "BYE", "REGISTER", "OPTIONS", "SUBSCRIBE", "NOTIFY",
		"PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE", "PRACK":
		return true
	}
	return false
}

// isSchemeRFC: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1).
func isSchemeRFC(s []byte) bool {
	for i, c := range s {
		alpha := 'a' <= c|0x20 && c|0x20 <= 'z'
		if !alpha && (i == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return len(s) > 0
}

func isStatusLine(l []byte) bool {
	return len(l) >= 4 && bytes.EqualFold(l[:4], []byte("SIP/"))
}

// checkRequestLine validates Method SP Request-URI SP SIP-Version (RFC 3261
// §7.1: single SPs, no LWS in the elements).
func checkRequestLine(l []byte) (method, uri []byte, e *Error) {
	parts := bytes.Fields(l)
	if len(parts) < 3 || !isToken(parts[0]) || !isStatusLine(parts[len(parts)-1]) {
		return nil, nil, &Error{Err: wrap(ErrNotSIP, "first line is not a Request-Line")}
	}
	method = parts[0]
	switch {
	case isWSP(l[len(l)-1]):
		return method, nil, bad("Bad Request-Line", ErrRequestLine, "whitespace after the SIP-Version")
	case bytes.IndexByte(l, '\t') >= 0 || bytes.Contains(l, []byte("  ")):
		return method, nil, bad("Bad Request-Line", ErrRequestLine, "elements not separated by single SPs")
	case len(parts) > 3:
		return method, nil, bad("Bad Request-URI", ErrRequestURI, "whitespace in the Request-URI")
	}
	uri = parts[1]
	if p := checkVersion(parts[2]); p != nil {
		return method, uri, p
	}
	if uri[0] == '<' || uri[len(uri)-1] == '>' {
		return method, uri, bad("Bad Request-URI", ErrRequestURI, "Request-URI enclosed in <>")
	}
	colon := bytes.IndexByte(uri, ':')
	if colon <= 0 || !isSchemeRFC(uri[:colon]) {
		return method, uri, bad("Bad Request-URI", ErrRequestURI, "no scheme")
	}
	if !isSIPScheme(uri[:colon]) {
		// Any other absoluteURI is opaque here: it gets 416 once the
		// headers have been checked.
		for _, c := range uri {
			if c <= ' ' || c == 0x7f {
				return method, uri, bad("Bad Request-URI", ErrRequestURI, "control character")
			}
		}
		return method, uri, nil
	}
	if _, p := checkURI(uri, false); p != "" {
		return method, uri, bad("Bad Request-URI", ErrRequestURI, "%s", p)
	}
	return method, uri, nil
}

// checkVersion: "SIP/" 1*DIGIT "." 1*DIGIT, and only 2.0 is served.
func checkVersion(v []byte) *Error {
	major, minor, ok := bytes.Cut(v[4:], []byte("."))
	if !ok || !isDigits(major) || !isDigits(minor) {
		return bad("Bad SIP-Version", ErrVersion, "malformed SIP-Version")
	}
	if string(major) != "2" || string(minor) != "0" {
		return reject(505, "Version Not Supported", ErrVersion, "SIP/%s.%s", digitsOnly(major), digitsOnly(minor))
	}
	return nil
}

// digitsOnly caps attacker-chosen digits quoted in an error.
func digitsOnly(b []byte) string {
	if len(b) > 6 {
		return string(b[:6]) + "..."
	}
	return string(b)
}

// checkStatusLine validates SIP-Version SP Status-Code SP Reason-Phrase.
func checkStatusLine(l []byte) *Error {
	parts := bytes.SplitN(l, []byte(" "), 3)
	if len(parts) != 3 {
		return &Error{Err: wrap(ErrStatusLine, "no reason phrase separator")}
	}
	if !bytes.EqualFold(parts[0], []byte("SIP/2.0")) {
		return &Error{Err: wrap(ErrVersion, "response version is not SIP/2.0")}
	}
	code, ok := atoi(parts[1], 699)
	if len(parts[1]) != 3 || !ok || code < 100 {
		return &Error{Err: wrap(ErrStatusLine, "status code is not 100..699")}
	}
	return nil
}

func checkResponse(m *message, serr *Error) *Error {
	if e := checkStatusLine(m.start); e != nil {
		return e
	}
	if serr != nil {
		return serr
	}
	if _, e := m.checkHeaders(nil); e != nil {
		return e
	}
	return m.checkEnd()
}

// checkRequest runs every check on a request; the first problem wins.
func checkRequest(m *message, serr *Error) ([]byte, *Error) {
	method, uri, e := checkRequestLine(m.start)
	if e != nil {
		return method, e
	}
	if serr != nil {
		return method, serr
	}
	if _, e := m.checkHeaders(method); e != nil {
		return method, e
	}
	if e := m.checkEnd(); e != nil {
		return method, e
	}
	if colon := bytes.IndexByte(uri, ':'); !isSIPScheme(uri[:colon]) {
		return method, reject(416, "Unsupported URI Scheme", ErrScheme, "only sip and sips are routed")
	}
	return method, nil
}

// checkEnd checks the empty line and the body length.
func (m *message) checkEnd() *Error {
	if m.noEnd {
		return bad("Missing Empty Line", ErrHeaderLine, "no empty line after the headers")
	}
	cl := m.contentLength
	switch {
	case cl < 0:
	case cl > len(m.body):
		return bad("Bad Content-Length", ErrContentLength, "Content-Length %d exceeds the %d-byte body", cl, len(m.body))
	case cl < len(m.body):
		// RFC 3261 §18.3: octets past Content-Length in a datagram are
		// discarded.
		m.body = m.body[:cl]
		m.cut = true
	}
	return nil
}

// header display names for reason phrases.
func display(key string) string {
	switch key {
	case "via":
		return "Via"
	case "from":
		return "From"
	case "to":
		return "To"
	case "call-id":
		return "Call-ID"
	case "cseq":
		return "CSeq"
	case "max-forwards":
		return "Max-Forwards"
	case "content-length":
		return "Content-Length"
	case "content-type":
		return "Content-Type"
	case "contact":
		return "Contact"
	case "route":
		return "Route"
	case "record-route":
		return "Record-Route"
	case "refer-to":
		return "Refer-To"
	case "referred-by":
		return "Referred-By"
	}
	return key
}

// single are the headers that appear at most once (RFC 3261 §7.3.1: only
// comma-separated list headers may repeat).
var single = [...]string{"from", "to", "call-id", "cseq", "max-forwards", "content-length", "content-type"} //nolint:gochecknoglobals // constant

// checkHeaders validates and normalises the known headers; method is nil for
// a response. It returns the CSeq method.
func (m *message) checkHeaders(method []byte) ([]byte, *Error) {
	var counts [len(single)]int
	vias := 0
	var cseqMethod []byte
	m.contentLength = -1
	for i := range m.fields {
		f := &m.fields[i]
		if f.key == "" {
			continue
		}
		for j, k := range single {
			if f.key == k {
				counts[j]++
				if counts[j] > 1 {
					return nil, bad("Multiple "+display(k), ErrRepeated, "%s appears more than once", display(k))
				}
			}
		}
		badH := func(sentinel error, p string) *Error {
			return bad("Bad "+display(f.key), sentinel, "%s: %s", display(f.key), p)
		}
		switch f.key {
		case "via":
			vias++
			v, _ := compact(f.value, true)
			f.setValue(lowerParams(v))
			if p := checkVia(f.value); p != "" {
				return nil, badH(ErrVia, p)
			}
		case "from", "to", "refer-to", "referred-by":
			v, space := compact(f.value, false)
			f.setValue(lowerParams(v))
			if space {
				return nil, badH(ErrAddress, "whitespace inside <>")
			}
			if p := checkAddress(f.value, false); p != "" {
				return nil, badH(ErrAddress, p)
			}
		case "contact", "route", "record-route":
			v, space := compact(f.value, false)
			f.setValue(lowerParams(v))
			if space {
				return nil, badH(ErrAddress, "whitespace inside <>")
			}
			if p := checkAddressList(f.value, f.key == "contact", f.key != "contact"); p != "" {
				return nil, badH(ErrAddress, p)
			}
		case "cseq":
			v, _ := compact(f.value, false)
			f.setValue(v)
			num, meth, ok := bytes.Cut(f.value, []byte(" "))
			if !ok || !isToken(meth) {
				return nil, badH(ErrCSeq, "not a number and a method")
			}
			if _, ok := atoi(num, 1<<31-1); !ok {
				return nil, badH(ErrCSeq, "sequence number is not 0..2**31-1")
			}
			cseqMethod = meth
		case "call-id":
			if len(f.value) == 0 || hasWSP(f.value) {
				return nil, badH(ErrCallID, "empty or contains whitespace")
			}
		case "max-forwards":
			if _, ok := atoi(f.value, 255); !ok {
				return nil, badH(ErrMaxForwards, "not 0..255")
			}
		case "content-length":
			n, ok := atoi(f.value, 1<<31-1)
			if !ok {
				return nil, badH(ErrContentLength, "not a non-negative number")
			}
			m.contentLength = int(n)
		case "content-type":
			if len(f.value) == 0 {
				return nil, badH(ErrContentType, "empty")
			}
		}
	}
	missing := func(name string) *Error {
		return bad("Missing "+name, ErrMissing, "no %s header", name)
	}
	switch {
	case vias == 0:
		return nil, missing("Via")
	case counts[0] == 0:
		return nil, missing("From")
	case counts[1] == 0:
		return nil, missing("To")
	case counts[2] == 0:
		return nil, missing("Call-ID")
	case counts[3] == 0:
		return nil, missing("CSeq")
	}
	if method != nil && !bytes.Equal(method, cseqMethod) {
		if !knownMethod(method) {
			return cseqMethod, reject(501, "Not Implemented", ErrMethodMismatch, "unknown method, CSeq method differs")
		}
		return cseqMethod, bad("CSeq Method Mismatch", ErrMethodMismatch, "CSeq method differs from the Request-Line's")
	}
	if method != nil && string(method) != "ACK" && string(method) != "CANCEL" {
		if e := m.checkTags(); e != nil {
			return cseqMethod, e
		}
	}
	return cseqMethod, nil
}

// checkTags: a request whose top Via has no RFC 3261 branch is matched to
// its transaction by the RFC 2543 rules, which in sipgo v1.7.2 need a From
// tag; without either it cannot be handled (RFC 2543 requests without a
// From tag are not supported).
func (m *message) checkTags() *Error {
	var via, from []byte
	for i := range m.fields {
		switch f := &m.fields[i]; {
		case f.key == "via" && via == nil:
			via = f.value
		case f.key == "from" && from == nil:
			from = f.value
		}
	}
	if end := bytes.IndexByte(via, ','); end >= 0 {
		via = via[:end]
	}
	if branch := param(via, "branch"); len(branch) > len(magicCookie) && bytes.HasPrefix(branch, []byte(magicCookie)) {
		return nil
	}
	if param(from, "tag") == nil {
		return bad("Missing From Tag", ErrMissing, "neither an RFC 3261 branch nor a From tag (RFC 2543 request)")
	}
	return nil
}

// param returns the value of the header parameter name in a compacted
// value (after the URI's closing ">", if any), nil if absent.
func param(v []byte, name string) []byte {
	if gt := indexOutside(v, '>'); gt >= 0 {
		v = v[gt+1:]
	} else if lt := indexOutside(v, '<'); lt >= 0 {
		if gt := bytes.IndexByte(v[lt:], '>'); gt >= 0 {
			v = v[lt+gt+1:]
		}
	}
	for {
		i := indexOutside(v, ';')
		if i < 0 {
			return nil
		}
		v = v[i+1:]
		end := indexOutside(v, ';')
		if end < 0 {
			end = len(v)
		}
		k, val, _ := bytes.Cut(v[:end], []byte("="))
		if bytes.EqualFold(k, []byte(name)) {
			if val == nil {
				val = []byte{}
			}
			return val
		}
	}
}

// setValue replaces f's value with a compacted one.
func (f *field) setValue(v []byte) {
	if !bytes.Equal(v, f.value) || f.folded {
		f.changed = true
	}
	f.value = v
}

// assemble returns the normalised message: msg itself when nothing changed.
func (m *message) assemble(msg []byte) []byte {
	changed := m.skipped > 0 || m.cut
	for i := range m.fields {
		if m.fields[i].folded || m.fields[i].changed {
			changed = true
			break
		}
	}
	if !changed {
		return msg
	}
	out := make([]byte, 0, len(msg))
	out = append(out, m.start...)
	out = append(out, crlf...)
	for i := range m.fields {
		f := &m.fields[i]
		if f.folded || f.changed {
			out = append(out, f.name...)
			out = append(out, ':')
			// One SP after the colon where the field had whitespace there,
			// so that the message never grows.
			if c := bytes.IndexByte(f.raw, ':'); c+1 < len(f.raw) && isWSP(f.raw[c+1]) {
				out = append(out, ' ')
			}
			out = append(out, f.value...)
			out = append(out, crlf...)
			continue
		}
		out = append(out, f.raw...)
	}
	out = append(out, crlf...)
	return append(out, m.body...)
}
