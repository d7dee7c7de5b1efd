package gateway

import (
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/status"
)

// knownMethods are the methods the proxy handles or forwards out of dialog;
// anything else gets 501 unless it is in a dialog.
var knownMethods = map[sip.RequestMethod]bool{ //nolint:gochecknoglobals // constant table
	sip.INVITE: true, sip.ACK: true, sip.CANCEL: true, sip.BYE: true, sip.REGISTER: true,
	sip.OPTIONS: true, sip.SUBSCRIBE: true, sip.NOTIFY: true, sip.PUBLISH: true, sip.INFO: true,
	sip.REFER: true, sip.MESSAGE: true, sip.UPDATE: true, sip.PRACK: true,
}

// sanity applies RFC 3261 §16.3 request validation. It returns a
// *status.Error for requests that must be refused.
func sanity(req *sip.Request) error {
	missing := func(h string) error {
		return status.New(400, "Missing "+h, fmt.Errorf("%w: no %s header", ErrMalformed, h))
	}
	switch {
	case req.Via() == nil:
		return missing("Via")
	case req.From() == nil:
		return missing("From")
	case req.To() == nil:
		return missing("To")
	case req.CallID() == nil || callID(req) == "":
		return missing("Call-ID")
	case req.CSeq() == nil:
		return missing("CSeq")
	}
	if !strings.EqualFold(req.SipVersion, "SIP/2.0") {
		return status.New(505, "Version Not Supported", fmt.Errorf("%w: %.16q", ErrVersion, req.SipVersion))
	}
	if m := req.CSeq().MethodName; m != req.Method {
		if !knownMethods[req.Method] {
			// RFC 4475 §3.1.2.18: 501 rather than 400 for an unknown method.
			return status.New(501, "Not Implemented", fmt.Errorf("%w: %.32s with CSeq method %.32s", ErrUnknownMethod, req.Method, m))
		}
		return status.New(400, "CSeq Method Mismatch", fmt.Errorf("%w: CSeq method %.32s for %s", ErrMalformed, m, req.Method))
	}
	if cl := req.ContentLength(); cl != nil && int(*cl) != len(req.Body()) {
		return status.New(400, "Bad Content-Length", fmt.Errorf("%w: Content-Length %d, body %d bytes", ErrMalformed, int(*cl), len(req.Body())))
	}
	switch strings.ToLower(req.Recipient.Scheme) {
	case "sip", "sips":
	default:
		return status.New(416, "Unsupported URI Scheme", fmt.Errorf("%w: %q", ErrUnsupportedURI, req.Recipient.Scheme))
	}
	if to := req.To().Address.Scheme; req.Method == sip.REGISTER && !strings.EqualFold(to, "sip") && !strings.EqualFold(to, "sips") {
		// RFC 3261 §10.3 step 5, RFC 4475 §3.3.4: an address of record
		// is a SIP or SIPS URI.
		return status.New(400, "Bad To: AOR must be a SIP URI", fmt.Errorf("%w: To scheme %.16q in a REGISTER", ErrMalformed, to))
	}
	if req.Recipient.Host == "" {
		return status.New(400, "Bad Request-URI", fmt.Errorf("%w: Request-URI has no host", ErrMalformed))
	}
	if h := req.GetHeaders("Proxy-Require"); len(h) > 0 && !req.IsAck() && !req.IsCancel() {
		vals := make([]string, 0, len(h))
		for _, x := range h {
			vals = append(vals, x.Value())
		}
		list := strings.Join(vals, ", ")
		return status.New(420, "Bad Extension", fmt.Errorf("%w: %s", ErrBadExtension, list), sip.NewHeader("Unsupported", list))
	}
	return nil
}

// restoreMethod undoes sipgo's upper-casing of the Request-Line method
// (sip.parseRequestLine in v1.7.2): methods are case-sensitive (RFC 3261
// §7.1), so "!interesting-Method" must be forwarded as written. The CSeq
// method keeps the case of the wire, and wire.Check has already refused a
// request whose two methods differ in any octet, so an upper-cased method
// that only equals the CSeq method case-insensitively is restored from it.
// A standard method (INVITE) is left alone: "INVITE" with "CSeq: 1 invite"
// stays a mismatch for sanity.
func restoreMethod(req *sip.Request) {
	c := req.CSeq()
	if c == nil || c.MethodName == req.Method || knownMethods[req.Method] {
		return
	}
	if strings.EqualFold(string(c.MethodName), string(req.Method)) {
		req.Method = c.MethodName
	}
}
