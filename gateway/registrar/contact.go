package registrar

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// contact is one validated Contact of a REGISTER.
type contact struct {
	// uri, params, raw and display are copies owned by the contact: the
	// request may change after Register returns.
	uri      sip.Uri
	params   sip.HeaderParams
	raw      string
	display  string
	q        float64
	expires  time.Duration // after defaults and limits; 0 removes
	instance string
	regID    int
}

// register is what the registrar needs from a REGISTER request.
type register struct {
	callID    string
	cseq      uint32
	wildcard  bool
	contacts  []contact
	path      []string
	userAgent string
}

// parseRegister validates req against the rules of RFC 3261 §10.3 steps 6-7
// without touching any binding.
func (r *Registrar) parseRegister(req *sip.Request) (register, error) {
	var reg register
	cid := req.CallID()
	cseq := req.CSeq()
	if cid == nil || cid.Value() == "" || cseq == nil {
		return reg, fmt.Errorf("%w: Call-ID and CSeq are required", ErrBadRequest)
	}
	reg.callID = cid.Value()
	reg.cseq = cseq.SeqNo

	// One pass over the headers: sipgo's GetHeader(s) lower-cases names
	// and allocates on every call.
	headerExpires := int64(-1)
	var hdrBuf [4]sip.Header
	hdrs := hdrBuf[:0]
	for _, h := range req.Headers() {
		switch name := h.Name(); {
		case strings.EqualFold(name, "Contact") || name == "m":
			hdrs = append(hdrs, h)
		case strings.EqualFold(name, "Expires"):
			if headerExpires >= 0 {
				continue // first one wins
			}
			v, err := parseSeconds(h.Value())
			if err != nil {
				return reg, fmt.Errorf("%w: Expires header %q", ErrBadRequest, h.Value())
			}
			headerExpires = v
		case strings.EqualFold(name, "User-Agent"):
			if reg.userAgent == "" {
				reg.userAgent = h.Value()
			}
		case strings.EqualFold(name, "Path"):
			reg.path = appendPath(reg.path, h.Value())
		}
	}
	if len(hdrs) > 0 {
		reg.contacts = make([]contact, 0, len(hdrs))
	}
	for _, h := range hdrs {
		ch, ok := h.(*sip.ContactHeader)
		if !ok {
			ch = &sip.ContactHeader{}
			var err error
			if ch.DisplayName, err = sip.ParseAddressValue(h.Value(), &ch.Address, &ch.Params); err != nil {
				return reg, fmt.Errorf("%w: %q: %w", ErrBadContact, h.Value(), err)
			}
		}
		if ch.Address.Wildcard {
			reg.wildcard = true
			continue
		}
		c, err := r.parseContact(ch, headerExpires)
		if err != nil {
			return reg, err
		}
		reg.contacts = append(reg.contacts, c)
	}
	if reg.wildcard {
		if len(hdrs) != 1 {
			return reg, fmt.Errorf("%w: \"*\" must be the only contact", ErrBadContact)
		}
		if headerExpires != 0 {
			return reg, fmt.Errorf("%w: \"*\" needs Expires: 0", ErrBadContact)
		}
	}
	return reg, nil
}

// parseContact validates one contact and computes its expiry:
// expires parameter, else Expires header, else DefaultExpires; a non-zero
// value below MinExpires is an *IntervalError, above MaxExpires is cut.
func (r *Registrar) parseContact(ch *sip.ContactHeader, headerExpires int64) (contact, error) {
	c := contact{q: 1}
	u := &ch.Address
	if (u.Scheme != "sip" && u.Scheme != "sips") || u.Host == "" {
		return c, fmt.Errorf("%w: %q is not a SIP URI", ErrBadContact, u.String())
	}
	exp := headerExpires
	regID := 0
	for _, kv := range ch.Params {
		switch strings.ToLower(kv.K) {
		case "q":
			q, err := strconv.ParseFloat(kv.V, 64)
			if err != nil || !(q >= 0 && q <= 1) {
				return c, fmt.Errorf("%w: q=%q", ErrBadContact, kv.V)
			}
			c.q = q
		case "expires":
			v, err := parseSeconds(kv.V)
			if err != nil {
				return c, fmt.Errorf("%w: expires=%q", ErrBadContact, kv.V)
			}
			exp = v
		case "+sip.instance":
			c.instance = strings.Trim(kv.V, `"`)
		case "reg-id":
			v, err := strconv.Atoi(kv.V)
			if err != nil || v < 1 {
				return c, fmt.Errorf("%w: reg-id=%q", ErrBadContact, kv.V)
			}
			regID = v
		}
	}
	if c.instance != "" {
		c.regID = regID // RFC 5626: reg-id without an instance is ignored
	}
	switch {
	case exp < 0:
		c.expires = r.cfg.DefaultExpires
	case exp == 0:
		c.expires = 0
	case exp < int64(r.cfg.MinExpires/time.Second):
		return c, &IntervalError{MinExpires: r.cfg.MinExpires}
	case exp > int64(r.cfg.MaxExpires/time.Second):
		c.expires = r.cfg.MaxExpires
	default:
		c.expires = time.Duration(exp) * time.Second
	}
	c.uri = *u
	c.uri.UriParams = u.UriParams.Clone()
	c.uri.Headers = u.Headers.Clone()
	c.params = ch.Params.Clone()
	c.raw = ch.Value()
	c.display = ch.DisplayName
	return c, nil
}

// parseSeconds parses a delta-seconds value; values beyond 2^32-1 are
// taken as 2^32-1 (RFC 3261 §20.19).
func parseSeconds(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 20 {
		return 0, strconv.ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v > math.MaxUint32 {
		return math.MaxUint32, nil
	}
	return int64(v), nil
}

// appendPath splits a Path header value at the commas between entries
// (not those inside <> or quotes) and appends the trimmed entries.
func appendPath(out []string, v string) []string {
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
			// inside a quoted string: nothing separates
		case c == '<':
			depth++
		case c == '>' && depth > 0:
			depth--
		case c == ',' && depth == 0:
			if e := strings.TrimSpace(v[start:i]); e != "" {
				out = append(out, e)
			}
			start = i + 1
		}
	}
	if e := strings.TrimSpace(v[start:]); e != "" {
		out = append(out, e)
	}
	return out
}
