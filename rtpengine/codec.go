package rtpengine

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/zeebo/bencode"
)

// Limits of the ng framing. A cookie is a short token without spaces; the
// nesting limit keeps hostile replies from costing deep recursion.
const (
	maxCookieLen = 64
	maxDepth     = 32
)

// replyHead holds the keys every ng reply may carry.
type replyHead struct {
	Result      string `bencode:"result"`
	ErrorReason string `bencode:"error-reason"`
	Warning     string `bencode:"warning"`
	Message     string `bencode:"message"`
	SDP         string `bencode:"sdp"`
}

// encodeMessage returns "cookie SP bencode(dict)".
func encodeMessage(cookie string, dict map[string]any) ([]byte, error) {
	size := len(cookie) + 256
	if sdp, ok := dict["sdp"].(string); ok {
		size += len(sdp)
	}
	buf := make([]byte, 0, size)
	buf = append(append(buf, cookie...), ' ')
	buf, err := appendValue(buf, dict)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidParams, err)
	}
	return buf, nil
}

// SplitMessage splits one complete ng message "cookie SP bencode-dict" into
// its cookie and dictionary bytes, checking that the dictionary is
// well-formed bencode (lengths, nesting) and that nothing follows it. It is
// exported for rtpenginetest and tools.
func SplitMessage(b []byte) (cookie string, dict []byte, err error) {
	n, err := MessageLen(b)
	if err != nil {
		return "", nil, err
	}
	if n != len(b) {
		return "", nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformedReply, len(b)-n)
	}
	sp := bytes.IndexByte(b, ' ')
	return string(b[:sp]), b[sp+1:], nil
}

// MessageLen returns the length of the first complete ng message at the
// start of b (TCP-ng frames messages only by where the bencode dictionary
// ends). It returns ErrIncomplete when b holds only the
// start of a message, and ErrMalformedReply when b can never become one.
func MessageLen(b []byte) (int, error) {
	sp := bytes.IndexByte(b, ' ')
	if sp < 0 {
		if len(b) > maxCookieLen {
			return 0, fmt.Errorf("%w: no cookie", ErrMalformedReply)
		}
		return 0, ErrIncomplete
	}
	if sp == 0 || sp > maxCookieLen {
		return 0, fmt.Errorf("%w: bad cookie length %d", ErrMalformedReply, sp)
	}
	rest := b[sp+1:]
	if len(rest) == 0 {
		return 0, ErrIncomplete
	}
	if rest[0] != 'd' {
		return 0, fmt.Errorf("%w: not a bencode dictionary", ErrMalformedReply)
	}
	n, err := scanValue(rest)
	if err != nil {
		return 0, err
	}
	return sp + 1 + n, nil
}

// scanValue returns the length of the bencode value at the start of b
// without allocating. It checks string lengths against the data (so the
// decoder never allocates for a length that is not there), integer ranges,
// that dictionary keys are strings with values, and bounds the nesting.
func scanValue(b []byte) (int, error) {
	var isDict, wantKey [maxDepth + 1]bool
	i, depth := 0, 0
	for {
		if i >= len(b) {
			return 0, ErrIncomplete
		}
		c := b[i]
		if isDict[depth] && wantKey[depth] && c != 'e' && (c < '0' || c > '9') {
			return 0, fmt.Errorf("%w: dictionary key is not a string at %d", ErrMalformedReply, i)
		}
		switch {
		case c == 'i':
			j := i + 1
			if j < len(b) && b[j] == '-' {
				j++
			}
			start := j
			for j < len(b) && b[j] >= '0' && b[j] <= '9' && j-start <= 20 {
				j++
			}
			if j >= len(b) {
				return 0, ErrIncomplete
			}
			if b[j] != 'e' || j == start {
				return 0, fmt.Errorf("%w: bad integer at %d", ErrMalformedReply, i)
			}
			if _, err := strconv.ParseInt(string(b[i+1:j]), 10, 64); err != nil {
				return 0, fmt.Errorf("%w: integer out of range at %d", ErrMalformedReply, i)
			}
			i = j + 1
		case c >= '0' && c <= '9':
			n, j, err := stringHeader(b[i:])
			if err != nil {
				return 0, err
			}
			if len(b)-(i+j) < n {
				return 0, ErrIncomplete
			}
			i += j + n
		case c == 'l' || c == 'd':
			depth++
			if depth > maxDepth {
				return 0, fmt.Errorf("%w: nesting deeper than %d", ErrMalformedReply, maxDepth)
			}
			isDict[depth], wantKey[depth] = c == 'd', true
			i++
			continue
		case c == 'e':
			if depth == 0 {
				return 0, fmt.Errorf("%w: unexpected end at %d", ErrMalformedReply, i)
			}
			if isDict[depth] && !wantKey[depth] {
				return 0, fmt.Errorf("%w: dictionary key without value at %d", ErrMalformedReply, i)
			}
			depth--
			i++
		default:
			return 0, fmt.Errorf("%w: unexpected byte %q at %d", ErrMalformedReply, c, i)
		}
		if depth == 0 {
			return i, nil
		}
		if isDict[depth] {
			wantKey[depth] = !wantKey[depth]
		}
	}
}

// stringHeader parses "LEN:" at the start of b and returns LEN and the
// header's length; ErrIncomplete if the colon is not there yet.
func stringHeader(b []byte) (n, hdr int, err error) {
	j := 0
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		if j >= 9 {
			return 0, 0, fmt.Errorf("%w: string length too long", ErrMalformedReply)
		}
		n = n*10 + int(b[j]-'0')
		j++
	}
	if j >= len(b) {
		return 0, 0, ErrIncomplete
	}
	if b[j] != ':' || j == 0 {
		return 0, 0, fmt.Errorf("%w: bad string", ErrMalformedReply)
	}
	return n, j + 1, nil
}

// parseHead reads the common reply keys from a dictionary already checked
// by scanValue, without reflection.
func parseHead(dict []byte) (replyHead, error) {
	var h replyHead
	i := 1
	for i < len(dict) && dict[i] != 'e' {
		kn, kh, err := stringHeader(dict[i:])
		if err != nil {
			return h, fmt.Errorf("%w: bad key", ErrMalformedReply)
		}
		key := dict[i+kh : i+kh+kn]
		i += kh + kn
		vlen, err := scanValue(dict[i:])
		if err != nil {
			return h, fmt.Errorf("%w: bad value", ErrMalformedReply)
		}
		var dst *string
		switch string(key) {
		case "result":
			dst = &h.Result
		case "error-reason":
			dst = &h.ErrorReason
		case "warning":
			dst = &h.Warning
		case "message":
			dst = &h.Message
		case "sdp":
			dst = &h.SDP
		}
		if dst != nil {
			vn, vh, err := stringHeader(dict[i:])
			if err != nil {
				return h, fmt.Errorf("%w: %s is not a string", ErrMalformedReply, key)
			}
			*dst = string(dict[i+vh : i+vh+vn])
		}
		i += vlen
	}
	return h, nil
}

// appendValue appends the bencode of v. Strings, byte slices, integers,
// booleans, lists and string-keyed maps of those are encoded directly;
// anything else goes through the bencode package.
func appendValue(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		dst = strconv.AppendInt(dst, int64(len(x)), 10)
		return append(append(dst, ':'), x...), nil
	case []byte:
		dst = strconv.AppendInt(dst, int64(len(x)), 10)
		return append(append(dst, ':'), x...), nil
	case int:
		return append(strconv.AppendInt(append(dst, 'i'), int64(x), 10), 'e'), nil
	case int64:
		return append(strconv.AppendInt(append(dst, 'i'), x, 10), 'e'), nil
	case bool:
		if x {
			return append(dst, "i1e"...), nil
		}
		return append(dst, "i0e"...), nil
	case []string:
		dst = append(dst, 'l')
		for _, s := range x {
			dst, _ = appendValue(dst, s)
		}
		return append(dst, 'e'), nil
	case []any:
		dst = append(dst, 'l')
		for _, e := range x {
			var err error
			if dst, err = appendValue(dst, e); err != nil {
				return nil, err
			}
		}
		return append(dst, 'e'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k, e := range x {
			if e != nil {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		dst = append(dst, 'd')
		for _, k := range keys {
			dst, _ = appendValue(dst, k)
			var err error
			if dst, err = appendValue(dst, x[k]); err != nil {
				return nil, err
			}
		}
		return append(dst, 'e'), nil
	}
	b, err := bencode.EncodeBytes(v)
	if err != nil {
		return nil, err
	}
	if _, err := scanValue(b); err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

// decodeDict decodes a dictionary into v.
func decodeDict(dict []byte, v any) error {
	if err := checkDict(dict); err != nil {
		return err
	}
	if err := bencode.DecodeBytes(dict, v); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformedReply, err)
	}
	return nil
}

// checkDict checks that dict is exactly one well-formed bencode dictionary.
func checkDict(dict []byte) error {
	if len(dict) == 0 || dict[0] != 'd' {
		return fmt.Errorf("%w: not a bencode dictionary", ErrMalformedReply)
	}
	n, err := scanValue(dict)
	if err != nil {
		if errors.Is(err, ErrIncomplete) {
			return fmt.Errorf("%w: truncated", ErrMalformedReply)
		}
		return err
	}
	if n != len(dict) {
		return fmt.Errorf("%w: %d trailing bytes", ErrMalformedReply, len(dict)-n)
	}
	return nil
}

// DecodeReply decodes one complete reply datagram and returns its cookie and
// Reply. Bad input gives an error wrapping ErrMalformedReply, never a panic.
func DecodeReply(b []byte) (cookie string, r Reply, err error) {
	cookie, dict, err := SplitMessage(b)
	if err != nil {
		if errors.Is(err, ErrIncomplete) {
			err = fmt.Errorf("%w: truncated", ErrMalformedReply)
		}
		return "", Reply{}, err
	}
	r, err = parseReply(dict)
	return cookie, r, err
}

// parseReply decodes a reply dictionary's common keys.
func parseReply(dict []byte) (Reply, error) {
	if err := checkDict(dict); err != nil {
		return Reply{}, err
	}
	h, err := parseHead(dict)
	if err != nil {
		return Reply{}, err
	}
	if h.Result == "" {
		return Reply{}, fmt.Errorf("%w: no result", ErrMalformedReply)
	}
	return Reply{
		Result:  h.Result,
		Warning: h.Warning,
		Reason:  h.ErrorReason + h.Message,
		SDP:     h.SDP,
		Dict:    dict,
	}, nil
}
