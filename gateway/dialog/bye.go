package dialog

import (
	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/uac"
)

// Bye builds the BYE that ends d toward party p on behalf of the other
// party, with via as its Via and the next CSeq of the other party; nil when
// the proxy cannot reach p.
func (t *Table) Bye(d *Dialog, p Party, via *sip.ViaHeader, maxForwards int) *sip.Request {
	leg := d.Legs[p]
	if leg == nil {
		return nil
	}
	return uac.New(uac.Request{
		Method: sip.BYE, RURI: leg.RURI, Via: via, Routes: leg.Routes, From: leg.From, To: leg.To,
		CallID: d.Key.CallID, CSeq: t.NextCSeq(d, 1-p), MaxForwards: maxForwards,
	})
}
