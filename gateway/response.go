package gateway

import (
	"encoding/hex"
	"math/rand/v2"
	"net"

	"github.com/emiago/sipgo/sip"
)

// newResponse builds the response to req that the gateway makes itself,
// with the headers RFC 3261 §8.2.6 copies (every Via, the top one with
// received and rport filled in when asked (RFC 3581), From, To with a tag,
// Call-ID, CSeq; Record-Route for the 18x and 2xx of a method that may
// start a dialog; Timestamp in a 100) and no body. It is what
// sip.NewResponseFromRequest does, in one walk over the headers without
// sipgo's per-name lookups (each lowers every header name it passes, an
// allocation apiece), with a To tag of 64 random bits instead of a UUID,
// and sharing with req the header values it does not change (the other
// Vias, Record-Route, From, Call-ID, CSeq, Timestamp): a local answer is
// sent as built, and neither message is edited in place afterwards
// (clone before changing).
func newResponse(req *sip.Request, code int, reason string) *sip.Response {
	res := sip.NewResponse(code, reason)
	res.SipVersion = req.SipVersion
	recordRoute := req.Method != sip.REGISTER && !req.IsAck() &&
		(code >= 180 && code < 190 || code >= 200 && code < 300 || req.IsInvite() && code > 100 && code < 200)
	top := true
	var from, to, callID, cseq sip.Header
	for _, h := range req.Headers() {
		switch h := h.(type) {
		case *sip.ViaHeader:
			if !top {
				res.AppendHeader(h)
				continue
			}
			top = false
			if val, ok := h.Params.Get("rport"); !ok || val != "" {
				res.AppendHeader(h)
				continue
			}
			v := h.Clone()
			host, port, _ := net.SplitHostPort(req.Source())
			v.Params.Add("rport", port)
			v.Params.Add("received", host)
			res.AppendHeader(v)
		case *sip.RecordRouteHeader:
			if recordRoute {
				res.AppendHeader(h)
			}
		case *sip.FromHeader:
			if from == nil {
				from = h
			}
		case *sip.ToHeader:
			if to == nil {
				t := h
				if code != 100 && !t.Params.Has("tag") {
					t = sip.HeaderClone(h).(*sip.ToHeader)
					t.Params.Add("tag", newTag())
				}
				to = t
			}
		case *sip.CallIDHeader:
			if callID == nil {
				callID = h
			}
		case *sip.CSeqHeader:
			if cseq == nil {
				cseq = h
			}
		default:
			if code == 100 && len(h.Name()) == len("Timestamp") && sip.HeaderToLower(h.Name()) == "timestamp" {
				res.AppendHeader(h)
			}
		}
	}
	for _, h := range [...]sip.Header{from, to, callID, cseq} {
		if h != nil {
			res.AppendHeader(h)
		}
	}
	res.SetBody(nil) // Content-Length: 0
	res.SetTransport(req.Transport())
	res.SetDestination(req.Source())
	return res
}

// newTag returns a To tag: 64 random bits in hex (RFC 3261 §19.3 asks
// for at least 32).
func newTag() string {
	var b [8]byte
	u := rand.Uint64()
	for i := range b {
		b[i] = byte(u >> (8 * i))
	}
	return hex.EncodeToString(b[:])
}
