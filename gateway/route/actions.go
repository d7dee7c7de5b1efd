package route

import (
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/internal/field"
)

// Actions change a request before it is forwarded, in this order: Strip,
// Prefix, Remove, Add.
type Actions struct {
	// Strip removes this many characters from the front of the
	// Request-URI user (a dialling prefix). Default 0.
	Strip int `yaml:"strip"`
	// Prefix is put in front of the Request-URI user (after Strip), e.g.
	// "+44". Digits, '+', '*' and '#'.
	Prefix string `yaml:"prefix"`
	// Remove lists headers taken out (X-Internal). The headers the proxy
	// relies on (Via, From, To, Call-ID, CSeq, Contact, Route,
	// Record-Route, Max-Forwards, Content-*) cannot be removed.
	Remove []string `yaml:"remove_headers"`
	// Add lists header lines added, "Name: value".
	Add []string `yaml:"add_headers"`
}

func (a Actions) empty() bool {
	return a.Strip == 0 && a.Prefix == "" && len(a.Remove) == 0 && len(a.Add) == 0
}

// protected are headers actions may neither add nor remove.
var protected = map[string]bool{ //nolint:gochecknoglobals // constant table
	"via": true, "v": true, "from": true, "f": true, "to": true, "t": true, "call-id": true, "i": true,
	"cseq": true, "contact": true, "m": true, "route": true, "record-route": true, "max-forwards": true,
	"content-length": true, "l": true, "content-type": true, "c": true, "content-encoding": true, "e": true,
}

// Apply carries the actions out on r, a working copy whose Request-URI
// is its own (headers are removed from or added to its list, never
// changed in place).
func (a *Actions) Apply(r *sip.Request) {
	if a == nil {
		return
	}
	if a.Strip > 0 || a.Prefix != "" {
		u := r.Recipient.User
		if a.Strip >= len(u) {
			u = ""
		} else {
			u = u[a.Strip:]
		}
		r.Recipient.User = a.Prefix + u
	}
	for _, name := range a.Remove {
		var found []string
		for _, h := range r.Headers() {
			if strings.EqualFold(h.Name(), name) {
				found = append(found, h.Name())
			}
		}
		for _, n := range found {
			r.RemoveHeader(n)
		}
	}
	for _, line := range a.Add {
		name, value, _ := strings.Cut(line, ":")
		r.AppendHeader(sip.NewHeader(strings.TrimSpace(name), strings.TrimSpace(value)))
	}
}

// Validate reports every problem of the actions, with field paths
// relative to them.
func (a Actions) Validate() error {
	var l field.List
	if a.Strip < 0 || a.Strip > 32 {
		l.Add("strip", a.Strip, "must be 0..32")
	}
	for _, c := range a.Prefix {
		if !strings.ContainsRune("0123456789+*#", c) {
			l.Add("prefix", a.Prefix, "may hold only digits, '+', '*' and '#'")
			break
		}
	}
	for i, name := range a.Remove {
		switch {
		case !isHeaderName(name):
			l.Add(fmt.Sprintf("remove_headers[%d]", i), name, "must be a header name")
		case protected[strings.ToLower(name)]:
			l.Add(fmt.Sprintf("remove_headers[%d]", i), name, "the proxy needs this header")
		}
	}
	for i, line := range a.Add {
		p := fmt.Sprintf("add_headers[%d]", i)
		name, value, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		switch {
		case !ok || !isHeaderName(name):
			l.Add(p, line, `must be "Name: value"`)
		case protected[strings.ToLower(name)]:
			l.Add(p, line, "the proxy sets this header itself")
		case strings.ContainsAny(value, "\r\n\x00"):
			l.Add(p, line, "must not contain CR, LF or NUL")
		}
	}
	return l.Err()
}
