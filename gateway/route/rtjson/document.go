package rtjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/wire"
)

// MaxBody is the largest answer read from the service.
const MaxBody = 256 << 10

// maxRoutes bounds the routes of one document (each becomes a branch).
const maxRoutes = 32

// Document is a routing service's answer, as sent. Fields rtjson does not
// know are ignored, as Kamailio does.
type Document struct {
	Version string  `json:"version"`
	Routing string  `json:"routing"`
	Routes  []Route `json:"routes"`
	Reject  *Reject `json:"reject"`
}

// Route is one destination of a Document (rtjson's route object).
type Route struct {
	// URI is the new Request-URI ("" keeps the request's).
	URI string `json:"uri"`
	// DstURI is the next hop (outbound proxy); "" sends to URI.
	DstURI string `json:"dst_uri"`
	// Path is a list of Route URIs to push, comma-separated
	// ("<sip:a;lr>,<sip:b;lr>").
	Path    string  `json:"path"`
	Socket  string  `json:"socket"` // accepted, ignored: we choose the listener
	Headers Headers `json:"headers"`
	// BranchFlags are Kamailio branch flags: accepted, ignored.
	BranchFlags int `json:"branch_flags"`
	// FRTimer is the branch timer in milliseconds (0: the route's).
	FRTimer int `json:"fr_timer"`
	// FRInvTimer is the INVITE timeout after a provisional answer, in
	// milliseconds (0: invite_timeout).
	FRInvTimer int `json:"fr_inv_timer"`
}

// Headers are the header changes of a route.
type Headers struct {
	From  *NameAddr `json:"from"`
	To    *NameAddr `json:"to"`
	Extra string    `json:"extra"` // raw header lines "X-A: b\r\n"
}

// NameAddr replaces the display name and URI of From or To (tags stay).
type NameAddr struct {
	Display *string `json:"display"`
	URI     string  `json:"uri"`
}

// Reject is a refusal: the request is answered with Code and Reason.
type Reject struct {
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

// Decision is a checked Document, ready to forward.
type Decision struct {
	// Reject, if set, is the answer to send instead of forwarding.
	Reject *Reject
	// Parallel forks to every branch at once; else they are tried in
	// order (serial failover).
	Parallel bool
	Branches []Branch
}

// Branch is one checked route.
type Branch struct {
	RURI       *sip.Uri // nil: keep the request's
	Dst        *sip.Uri // where to send: DstURI, else RURI; nil: the request's R-URI
	Path       []sip.Uri
	From, To   *NameAddrChange
	Extra      []sip.Header
	FRTimer    time.Duration
	FRInvTimer time.Duration
}

// NameAddrChange is a checked From/To change.
type NameAddrChange struct {
	Display *string
	URI     sip.Uri
}

// Parse reads and checks a routing document. Any problem refuses the
// whole document (ErrDocument with the detail).
func Parse(b []byte) (*Decision, error) {
	if len(b) > MaxBody {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrDocument, len(b), MaxBody)
	}
	var d Document
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDocument, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the document", ErrDocument)
	}
	if r := d.Reject; r != nil {
		if r.Code < 400 || r.Code > 699 {
			return nil, fmt.Errorf("%w: reject.code %d must be 400..699", ErrDocument, r.Code)
		}
		if err := clean("reject.reason", r.Reason); err != nil {
			return nil, err
		}
		if r.Reason == "" {
			r.Reason = "Rejected"
		}
		return &Decision{Reject: r}, nil
	}
	switch d.Version {
	case "1.0", "1":
	default:
		return nil, fmt.Errorf("%w: version %.16q not supported (1.0)", ErrDocument, d.Version)
	}
	out := &Decision{}
	switch d.Routing {
	case "", "serial":
	case "parallel":
		out.Parallel = true
	default:
		return nil, fmt.Errorf("%w: routing %.16q (serial, parallel)", ErrDocument, d.Routing)
	}
	if len(d.Routes) == 0 {
		return nil, fmt.Errorf("%w: no routes and no reject", ErrDocument)
	}
	if len(d.Routes) > maxRoutes {
		return nil, fmt.Errorf("%w: %d routes, at most %d", ErrDocument, len(d.Routes), maxRoutes)
	}
	for i, r := range d.Routes {
		br, err := r.check()
		if err != nil {
			return nil, fmt.Errorf("routes[%d]: %w", i, err)
		}
		out.Branches = append(out.Branches, br)
	}
	return out, nil
}

// check turns a route into a branch.
func (r Route) check() (Branch, error) {
	var b Branch
	var err error
	if r.URI != "" {
		if b.RURI, err = sipURI("uri", r.URI); err != nil {
			return b, err
		}
	}
	if r.DstURI != "" {
		if b.Dst, err = sipURI("dst_uri", r.DstURI); err != nil {
			return b, err
		}
	} else {
		b.Dst = b.RURI
	}
	if r.Path != "" {
		for _, p := range strings.Split(r.Path, ",") {
			p = strings.TrimSpace(p)
			p = strings.TrimSuffix(strings.TrimPrefix(p, "<"), ">")
			u, err := sipURI("path", p)
			if err != nil {
				return b, err
			}
			b.Path = append(b.Path, *u)
		}
	}
	if err := clean("socket", r.Socket); err != nil {
		return b, err
	}
	for name, na := range map[string]*NameAddr{"from": r.Headers.From, "to": r.Headers.To} {
		if na == nil {
			continue
		}
		if na.Display != nil {
			if err := clean("headers."+name+".display", *na.Display); err != nil {
				return b, err
			}
			if strings.ContainsAny(*na.Display, `"\`) {
				return b, fmt.Errorf("%w: headers.%s.display must not contain '\"' or '\\'", ErrDocument, name)
			}
		}
		c := &NameAddrChange{Display: na.Display}
		if na.URI != "" {
			u, err := sipURI("headers."+name+".uri", na.URI)
			if err != nil {
				return b, err
			}
			c.URI = *u
		} else {
			return b, fmt.Errorf("%w: headers.%s.uri is required", ErrDocument, name)
		}
		if name == "from" {
			b.From = c
		} else {
			b.To = c
		}
	}
	if b.Extra, err = parseExtra(r.Headers.Extra); err != nil {
		return b, err
	}
	if r.FRTimer < 0 || r.FRTimer > 32000 || r.FRInvTimer < 0 || r.FRInvTimer > 300000 {
		return b, fmt.Errorf("%w: fr_timer %d (0..32000) or fr_inv_timer %d (0..300000) out of range", ErrDocument, r.FRTimer, r.FRInvTimer)
	}
	b.FRTimer = time.Duration(r.FRTimer) * time.Millisecond
	b.FRInvTimer = time.Duration(r.FRInvTimer) * time.Millisecond
	return b, nil
}

// sipURI parses a sip: or sips: URI with a host and without CR, LF, NUL.
func sipURI(field, s string) (*sip.Uri, error) {
	if err := clean(field, s); err != nil {
		return nil, err
	}
	if strings.ContainsAny(s, " \t<>\"") {
		return nil, fmt.Errorf("%w: %s %.64q: a bare SIP URI without spaces or brackets", ErrDocument, field, s)
	}
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		return nil, fmt.Errorf("%w: %s %.64q: %w", ErrDocument, field, s, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "sip", "sips":
	default:
		return nil, fmt.Errorf("%w: %s %.64q: scheme must be sip or sips", ErrDocument, field, s)
	}
	if u.Host == "" || strings.HasSuffix(strings.ToLower(u.Host), ".invalid") {
		return nil, fmt.Errorf("%w: %s %.64q: needs a resolvable host", ErrDocument, field, s)
	}
	return &u, nil
}

// clean refuses CR, LF, NUL and other control characters.
func clean(field, s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return fmt.Errorf("%w: %s has control character 0x%02x", ErrDocument, field, c)
		}
	}
	return nil
}

// forbidden are headers the service may not add: the proxy owns them.
var forbidden = map[string]bool{ //nolint:gochecknoglobals // constant table
	"via": true, "v": true, "call-id": true, "i": true, "cseq": true, "from": true, "f": true, "to": true, "t": true,
	"content-length": true, "l": true, "content-type": true, "c": true, "max-forwards": true, "route": true,
	"record-route": true, "contact": true, "m": true,
}

// parseExtra reads raw header lines "Name: value\r\n..." (rtjson's
// extra), each a token name and a value without control characters.
func parseExtra(s string) ([]sip.Header, error) {
	if s == "" {
		return nil, nil
	}
	s = strings.TrimSuffix(s, "\r\n")
	var out []sip.Header
	for _, line := range strings.Split(s, "\r\n") {
		name, value, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		value = strings.TrimSpace(value)
		if !ok || !wire.IsToken(name) {
			return nil, fmt.Errorf("%w: headers.extra line %.64q is not \"Name: value\"", ErrDocument, line)
		}
		if err := clean("headers.extra "+name, value); err != nil {
			return nil, err
		}
		if forbidden[strings.ToLower(name)] {
			return nil, fmt.Errorf("%w: headers.extra may not set %s", ErrDocument, name)
		}
		out = append(out, sip.NewHeader(name, value))
	}
	if len(out) > 32 {
		return nil, fmt.Errorf("%w: headers.extra has %d lines, at most 32", ErrDocument, len(out))
	}
	return out, nil
}
