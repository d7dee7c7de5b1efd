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
	if m := req.CSeq().MethodName; m != req.Method {
		return status.New(400, "CSeq Method Mismatch", fmt.Errorf("%w: CSeq method %s for %s", ErrMalformed, m, req.Method))
	}
	if cl := req.ContentLength(); cl != nil && int(*cl) != len(req.Body()) {
		return status.New(400, "Bad Content-Length", fmt.Errorf("%w: Content-Length %d, body %d bytes", ErrMalformed, int(*cl), len(req.Body())))
	}
	switch strings.ToLower(req.Recipient.Scheme) {
	case "sip", "sips":
	default:
		return status.New(416, "Unsupported URI Scheme", fmt.Errorf("%w: %q", ErrUnsupportedURI, req.Recipient.Scheme))
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
