package trunk

import (
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/uac"
)

// registerRequest builds one REGISTER of a registration: the same Call-ID
// and From tag for its whole life (RFC 3261 §10.2.4), a new CSeq each time.
// The sender adds Via and sets transport and destination.
func (r *Registration) registerRequest(expires int, hop route.Target) *sip.Request {
	aor := sip.Uri{Scheme: "sip", User: r.cfg.Username, Host: r.domain}
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", r.tag)
	r.cseq++
	req := uac.New(uac.Request{
		Method: sip.REGISTER, RURI: sip.Uri{Scheme: "sip", Host: r.domain},
		From: from, To: &sip.ToHeader{Address: *aor.Clone(), Params: sip.NewParams()},
		CallID: r.callID, CSeq: r.cseq, MaxForwards: r.maxForwards,
	})
	r.bound = r.contact(hop)
	ct := &sip.ContactHeader{Address: *r.bound.Clone(), Params: sip.NewParams()}
	ct.Params.Add("expires", strconv.Itoa(expires))
	req.AppendHeader(ct)
	exp := sip.ExpiresHeader(uint32(expires))
	req.AppendHeader(&exp)
	return req
}

// granted is the lifetime the provider gave our binding in a 200: the
// expires parameter of our Contact, else the Expires header, else what
// was asked.
func (r *Registration) granted(res *sip.Response, asked int) time.Duration {
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok || !sameContact(c.Address, r.bound) {
			continue
		}
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				return time.Duration(n) * time.Second
			}
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil {
			return time.Duration(n) * time.Second
		}
	}
	return time.Duration(asked) * time.Second
}

func sameContact(a, b sip.Uri) bool {
	return a.User == b.User && strings.EqualFold(a.Host, b.Host) && a.Port == b.Port
}

// seconds reads a header holding delta-seconds (Retry-After, Min-Expires;
// a Retry-After comment or parameters are ignored); 0 when absent or bad.
func seconds(res *sip.Response, name string) int {
	h := res.GetHeader(name)
	if h == nil {
		return 0
	}
	v := strings.TrimSpace(h.Value())
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(v[:end])
	if err != nil || n < 0 {
		return 0
	}
	return n
}
