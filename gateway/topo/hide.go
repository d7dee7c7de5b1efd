package topo

import (
	"slices"

	"github.com/emiago/sipgo/sip"
)

// ContactParam is the URI parameter of a hidden Contact: the sealed
// original URI.
const ContactParam = "thc"

// RouteParam is the URI parameter of sipedge's external Record-Route
// entry: the sealed entries on its inside, in the order the outside
// party's route set lists them.
const RouteParam = "th"

// Message is what sip.Request and sip.Response share for editing headers.
type Message interface {
	GetHeaders(name string) []sip.Header
	RemoveHeader(name string) bool
	PrependHeader(headers ...sip.Header)
	AppendHeader(header sip.Header)
}

// HideContacts replaces every Contact URI of m by self (sipedge's address
// toward the outside) carrying the original URI sealed. Header parameters
// (expires, +sip.instance) stay; display names go; a "*" Contact stays.
// The headers are replaced, never edited: m may share them.
func (h *Hider) HideContacts(m Message, self sip.Uri) {
	cs := m.GetHeaders("Contact")
	if len(cs) == 0 {
		return
	}
	out := make([]sip.Header, 0, len(cs))
	for _, hd := range cs {
		c, ok := hd.(*sip.ContactHeader)
		if !ok || c.Address.Wildcard {
			out = append(out, hd)
			continue
		}
		nc := &sip.ContactHeader{Address: *self.Clone(), Params: c.Params.Clone()}
		nc.Address.UriParams = append(nc.Address.UriParams, sip.HeaderKV{K: ContactParam, V: h.Seal([]string{c.Address.String()})})
		out = append(out, nc)
	}
	replace(m, "Contact", out, false)
}

// HideRecordRoutes seals the Record-Route entries on the inside of
// sipedge's external entry (the first one isExt accepts) into that entry.
// In a request the inside entries are below it; in a response (toward the
// party that sent the request) above it. Entries on the outside of it stay
// as they are. Without an external entry every Record-Route is removed.
func (h *Hider) HideRecordRoutes(m Message, isExt func(sip.Uri) bool, response bool) {
	rrs := m.GetHeaders("Record-Route")
	if len(rrs) == 0 {
		return
	}
	ext := -1
	for i, hd := range rrs {
		if rr, ok := hd.(*sip.RecordRouteHeader); ok && isExt(rr.Address) {
			ext = i
			break
		}
	}
	if ext < 0 {
		replace(m, "Record-Route", nil, false)
		return
	}
	var hidden, keep []sip.Header
	if response {
		hidden, keep = slices.Clone(rrs[:ext]), rrs[ext+1:]
		slices.Reverse(hidden) // the caller's route set runs bottom-up
	} else {
		hidden, keep = rrs[ext+1:], rrs[:ext]
	}
	if len(hidden) == 0 && !response {
		return
	}
	vals := make([]string, 0, len(hidden))
	for _, hd := range hidden {
		if rr, ok := hd.(*sip.RecordRouteHeader); ok {
			vals = append(vals, rr.Address.String())
		}
	}
	e := rrs[ext].(*sip.RecordRouteHeader)
	ne := &sip.RecordRouteHeader{Address: *e.Address.Clone()}
	if len(vals) > 0 {
		ne.Address.UriParams = append(ne.Address.UriParams, sip.HeaderKV{K: RouteParam, V: h.Seal(vals)})
	}
	var out []sip.Header
	if response {
		out = append(append(out, ne), keep...)
	} else {
		out = append(append(out, keep...), ne)
	}
	replace(m, "Record-Route", out, false)
}

// StripVias removes every Via of m but the top one (sipedge's own) and
// returns the removed ones, for RestoreVias on the responses.
func StripVias(m Message) []sip.Header {
	vs := m.GetHeaders("Via")
	if len(vs) < 2 {
		return nil
	}
	replace(m, "Via", vs[:1:1], true)
	return vs[1:]
}

// RestoreVias puts vias back below m's Vias (a response relayed toward
// the inside).
func RestoreVias(m Message, vias []sip.Header) {
	if len(vias) == 0 {
		return
	}
	vs := m.GetHeaders("Via")
	replace(m, "Via", append(slices.Clone(vs), vias...), true)
}

// Restore undoes the hiding in a request from outside: a Request-URI that
// is a hidden Contact becomes the original, and sipedge's Route entry with
// sealed inside entries gets them back below it. It reports whether it
// found anything sealed by this Hider (so the request is for a dialog
// sipedge routes). Tokens that do not authenticate are left as they are.
func (h *Hider) Restore(req *sip.Request) bool {
	found := false
	if tok, ok := req.Recipient.UriParams.Get(ContactParam); ok {
		if vals, err := h.Open(tok); err == nil && len(vals) == 1 {
			var u sip.Uri
			if sip.ParseUri(vals[0], &u) == nil {
				req.Recipient = u
				found = true
			}
		}
	}
	rs := req.GetHeaders("Route")
	if len(rs) == 0 {
		return found
	}
	top, ok := rs[0].(*sip.RouteHeader)
	if !ok {
		return found
	}
	tok, ok := top.Address.UriParams.Get(RouteParam)
	if !ok {
		return found
	}
	vals, err := h.Open(tok)
	if err != nil {
		return found
	}
	out := make([]sip.Header, 0, len(rs)+len(vals))
	out = append(out, &sip.RouteHeader{Address: withoutParam(top.Address, RouteParam)})
	for _, v := range vals {
		var u sip.Uri
		if sip.ParseUri(v, &u) == nil {
			out = append(out, &sip.RouteHeader{Address: u})
		}
	}
	out = append(out, rs[1:]...)
	replace(req, "Route", out, true)
	return true
}

// RestoreRecordRoutes undoes HideRecordRoutes of a request in the
// response relayed back toward the inside: each entry with sealed inside
// entries is followed by them again.
func (h *Hider) RestoreRecordRoutes(m Message) {
	rrs := m.GetHeaders("Record-Route")
	sealed := false
	for _, hd := range rrs {
		if rr, ok := hd.(*sip.RecordRouteHeader); ok && rr.Address.UriParams.Has(RouteParam) {
			sealed = true
			break
		}
	}
	if !sealed {
		return
	}
	out := make([]sip.Header, 0, len(rrs)+2)
	for _, hd := range rrs {
		rr, ok := hd.(*sip.RecordRouteHeader)
		tok, has := "", false
		if ok {
			tok, has = rr.Address.UriParams.Get(RouteParam)
		}
		vals, err := h.Open(tok)
		if !has || err != nil {
			out = append(out, hd)
			continue
		}
		out = append(out, &sip.RecordRouteHeader{Address: withoutParam(rr.Address, RouteParam)})
		for _, v := range vals {
			var u sip.Uri
			if sip.ParseUri(v, &u) == nil {
				out = append(out, &sip.RecordRouteHeader{Address: u})
			}
		}
	}
	replace(m, "Record-Route", out, false)
}

// withoutParam is a copy of u without URI parameter k.
func withoutParam(u sip.Uri, k string) sip.Uri {
	c := *u.Clone()
	ps := make(sip.HeaderParams, 0, len(c.UriParams))
	for _, kv := range c.UriParams {
		if kv.K != k {
			ps = append(ps, kv)
		}
	}
	c.UriParams = ps
	return c
}

// replace puts hs in place of every header called name: on top (Via,
// Route: their order is the message's) or at the end.
func replace(m Message, name string, hs []sip.Header, top bool) {
	for m.RemoveHeader(name) {
	}
	if len(hs) == 0 {
		return
	}
	if top {
		m.PrependHeader(hs...)
		return
	}
	for _, h := range hs {
		m.AppendHeader(h)
	}
}
