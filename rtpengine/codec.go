package rtpengine

import (
	"bytes"
	"errors"
	"fmt"

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
	var buf bytes.Buffer
	buf.Grow(len(cookie) + 512)
	buf.WriteString(cookie)
	buf.WriteByte(' ')
	if err := bencode.NewEncoder(&buf).Encode(dict); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidParams, err)
	}
	return buf.Bytes(), nil
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
// decoder never allocates for a length that is not there) and bounds the
// nesting depth.
func scanValue(b []byte) (int, error) {
	i, depth := 0, 0
	for {
		if i >= len(b) {
			return 0, ErrIncomplete
		}
		switch c := b[i]; {
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
			if b[j] != 'e' || j == start || j-start > 19 {
				return 0, fmt.Errorf("%w: bad integer at %d", ErrMalformedReply, i)
			}
			i = j + 1
		case c >= '0' && c <= '9':
			n, j := 0, i
			for j < len(b) && b[j] >= '0' && b[j] <= '9' {
				if j-i >= 9 {
					return 0, fmt.Errorf("%w: string length too long at %d", ErrMalformedReply, i)
				}
				n = n*10 + int(b[j]-'0')
				j++
			}
			if j >= len(b) {
				return 0, ErrIncomplete
			}
			if b[j] != ':' {
				return 0, fmt.Errorf("%w: bad string at %d", ErrMalformedReply, i)
			}
			if len(b)-(j+1) < n {
				return 0, ErrIncomplete
			}
			i = j + 1 + n
		case c == 'l' || c == 'd':
			depth++
			if depth > maxDepth {
				return 0, fmt.Errorf("%w: nesting deeper than %d", ErrMalformedReply, maxDepth)
			}
			i++
			continue
		case c == 'e':
			if depth == 0 {
				return 0, fmt.Errorf("%w: unexpected end at %d", ErrMalformedReply, i)
			}
			depth--
			i++
		default:
			return 0, fmt.Errorf("%w: unexpected byte %q at %d", ErrMalformedReply, c, i)
		}
		if depth == 0 {
			return i, nil
		}
	}
}

// decodeDict decodes a scanned dictionary into v.
func decodeDict(dict []byte, v any) error {
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
	if err := bencode.DecodeBytes(dict, v); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformedReply, err)
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
	var h replyHead
	if err := decodeDict(dict, &h); err != nil {
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
