package gateway

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/registrar"
)

// register is the registrar (RFC 3261 §10.3): authenticate, check that the
// authenticated user owns the address of record, apply the bindings and
// answer 200 listing every current binding with its remaining expiry.
func (g *Gateway) register(req *sip.Request, tx sip.ServerTransaction) error {
	if !g.self.isLocal(req.Recipient.Host) {
		return status(403, "Forbidden", fmt.Errorf("%w: %s is not our domain", ErrForbidden, req.Recipient.Host))
	}
	user, err := g.authenticate(req, false)
	if err != nil {
		return err
	}
	to := req.To().Address
	if !g.self.isLocal(to.Host) {
		return status(403, "Forbidden", fmt.Errorf("%w: To domain %s is not ours", ErrForbidden, to.Host))
	}
	if to.User != user {
		return status(403, "Forbidden", fmt.Errorf("%w: %s may not register %s", ErrForbidden, user, to.User))
	}
	aor := g.aor(to.User, to.Host)
	src := registrar.Source{Addr: req.Source(), Transport: strings.ToLower(req.Transport())}
	now := time.Now()
	bindings, err := g.reg.Register(req, aor, src, now)
	if err != nil {
		return registrarStatus(err)
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	for _, b := range bindings {
		res.AppendHeader(contactWithExpires(b, now))
	}
	res.AppendHeader(sip.NewHeader("Date", now.UTC().Format(time.RFC1123)))
	return tx.Respond(res)
}

// contactWithExpires renders a binding's Contact as registered, with the
// expires parameter set to the remaining lifetime.
func contactWithExpires(b registrar.Binding, now time.Time) sip.Header {
	var u sip.Uri
	params := sip.NewParams()
	name, err := sip.ParseAddressValue(b.RawContact, &u, &params)
	if err != nil {
		u, name = b.Contact, ""
	}
	params.Add("expires", strconv.Itoa(registrar.ExpiresFor(b, now)))
	return &sip.ContactHeader{DisplayName: name, Address: u, Params: params}
}

// registrarStatus maps the registrar's refusals to SIP responses.
func registrarStatus(err error) error {
	var ie *registrar.IntervalError
	switch {
	case errors.As(err, &ie):
		return status(423, "Interval Too Brief", fmt.Errorf("%w: %w", ErrRegistrar, err),
			sip.NewHeader("Min-Expires", strconv.Itoa(int(ie.MinExpires/time.Second))))
	case errors.Is(err, registrar.ErrOutOfOrder):
		return status(500, "Server Internal Error", fmt.Errorf("%w: %w", ErrRegistrar, err), sip.NewHeader("Retry-After", "1"))
	case errors.Is(err, registrar.ErrTooManyContacts):
		return status(403, "Too Many Contacts", fmt.Errorf("%w: %w", ErrRegistrar, err))
	case errors.Is(err, registrar.ErrBadContact):
		return status(400, "Bad Contact", fmt.Errorf("%w: %w", ErrRegistrar, err))
	}
	return status(500, "Server Internal Error", fmt.Errorf("%w: %w", ErrRegistrar, err))
}

// lookup turns the bindings of aor into fork targets: the registered
// Contact as Request-URI, sent to the binding's real source over its
// transport (or along its Path).
func (g *Gateway) lookup(aor string) group {
	bs := g.reg.Lookup(aor, time.Now())
	out := make(group, 0, len(bs))
	for _, b := range bs {
		ruri := b.Contact
		t := target{ruri: &ruri, transport: b.Source.Transport, addr: b.Source.Addr}
		if len(b.Path) > 0 {
			for _, p := range b.Path {
				var u sip.Uri
				if _, err := sip.ParseAddressValue(p, &u, nil); err == nil {
					t.route = append(t.route, u)
				}
			}
			if len(t.route) > 0 {
				if pt, err := uriTarget(t.route[0]); err == nil {
					t.transport, t.addr = pt.transport, pt.addr
				}
			}
		}
		switch t.transport {
		case "udp", "tcp", "tls":
			out = append(out, t)
		}
	}
	return out
}
