package listen

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
)

// replyStatus is the answer to a framing error: code and reason phrase.
func replyStatus(err error) (int, string) {
	switch {
	case errors.Is(err, ErrMessageTooLarge): // the body makes it too large
		return 413, "Request Entity Too Large"
	case errors.Is(err, ErrHeaderTooLarge):
		return 513, "Message Too Large"
	case errors.Is(err, ErrNoContentLength):
		return 400, "Missing Content-Length"
	default:
		return 400, "Bad Content-Length"
	}
}

// statelessReply builds the response code/reason to the request whose
// header block (start line to CRLFCRLF) is hdrs, copying its Via, From, To,
// Call-ID and CSeq headers and adding a To tag (RFC 3261 §8.2.6). It
// returns nil when hdrs is a response, an ACK, or lacks one of those
// headers: then there is no one to answer.
func statelessReply(hdrs []byte, code int, reason string) []byte {
	start, _, _ := bytes.Cut(hdrs, crlf)
	method, _, _ := bytes.Cut(start, []byte(" "))
	if len(method) == 0 || bytes.HasPrefix(start, []byte("SIP/")) || string(method) == "ACK" {
		return nil
	}
	var vias [][]byte
	var from, to, callID, cseq []byte
	for _, line := range headerLines(hdrs) {
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch string(bytes.ToLower(bytes.TrimRight(name, " \t"))) {
		case "via", "v":
			vias = append(vias, line)
		case "from", "f":
			from = line
		case "to", "t":
			to = line
		case "call-id", "i":
			callID = line
		case "cseq":
			cseq = line
		}
	}
	if len(vias) == 0 || from == nil || to == nil || callID == nil || cseq == nil {
		return nil
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	for _, v := range vias {
		b.Write(v)
		b.Write(crlf)
	}
	b.Write(from)
	b.Write(crlf)
	b.Write(to)
	if !bytes.Contains(bytes.ToLower(to), []byte(";tag=")) {
		h := fnv.New32a()
		h.Write(callID)
		h.Write(from)
		b.WriteString(";tag=se" + strconv.FormatUint(uint64(h.Sum32()), 16))
	}
	b.Write(crlf)
	b.Write(callID)
	b.Write(crlf)
	b.Write(cseq)
	b.WriteString("\r\nContent-Length: 0\r\n\r\n")
	return b.Bytes()
}
