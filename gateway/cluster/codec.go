package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/registrar"
)

// ErrCorrupt is a stored value that does not decode: it is logged, counted
// and treated as absent.
var ErrCorrupt = errors.New("cluster: corrupt stored value")

// wireBinding is a registrar.Binding as stored in Redis (JSON): URIs as
// strings, times as Unix milliseconds.
type wireBinding struct {
	Contact     string      `json:"contact"`
	RawContact  string      `json:"raw,omitempty"`
	DisplayName string      `json:"name,omitempty"`
	Params      [][2]string `json:"params,omitempty"`
	Q           float64     `json:"q"`
	Expires     int64       `json:"exp"`
	Registered  int64       `json:"reg"`
	CallID      string      `json:"callid"`
	CSeq        uint32      `json:"cseq"`
	Addr        string      `json:"addr"`
	Transport   string      `json:"transport"`
	FlowID      string      `json:"flow,omitempty"`
	NAT         bool        `json:"nat,omitempty"`
	Instance    string      `json:"instance,omitempty"`
	RegID       int         `json:"regid,omitempty"`
	Path        []string    `json:"path,omitempty"`
	UserAgent   string      `json:"ua,omitempty"`
	Node        string      `json:"node,omitempty"`
}

// encode serialises the bindings of one AOR.
func encode(bs []registrar.Binding) ([]byte, error) {
	ws := make([]wireBinding, len(bs))
	for i, b := range bs {
		w := wireBinding{
			Contact: b.Contact.String(), RawContact: b.RawContact, DisplayName: b.DisplayName,
			Q: b.Q, Expires: b.Expires.UnixMilli(), Registered: b.Registered.UnixMilli(),
			CallID: b.CallID, CSeq: b.CSeq, Addr: b.Source.Addr, Transport: b.Source.Transport,
			FlowID: b.Source.FlowID, NAT: b.Source.NAT, Instance: b.Instance, RegID: b.RegID,
			Path: b.Path, UserAgent: b.UserAgent, Node: b.Node,
		}
		for _, kv := range b.Params {
			w.Params = append(w.Params, [2]string{kv.K, kv.V})
		}
		ws[i] = w
	}
	return json.Marshal(ws)
}

// decode parses what encode wrote for aor.
func decode(aor string, data []byte) ([]registrar.Binding, error) {
	var ws []wireBinding
	if err := json.Unmarshal(data, &ws); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, aor, err)
	}
	bs := make([]registrar.Binding, 0, len(ws))
	for _, w := range ws {
		b := registrar.Binding{
			AOR: aor, RawContact: w.RawContact, DisplayName: w.DisplayName, Q: w.Q,
			Expires: time.UnixMilli(w.Expires), Registered: time.UnixMilli(w.Registered),
			CallID: w.CallID, CSeq: w.CSeq,
			Source:   registrar.Source{Addr: w.Addr, Transport: w.Transport, FlowID: w.FlowID, NAT: w.NAT},
			Instance: w.Instance, RegID: w.RegID, Path: w.Path, UserAgent: w.UserAgent, Node: w.Node,
		}
		if err := sip.ParseUri(w.Contact, &b.Contact); err != nil || b.Contact.Host == "" {
			return nil, fmt.Errorf("%w: %s: contact %q: %v", ErrCorrupt, aor, w.Contact, err)
		}
		if len(w.Params) > 0 {
			b.Params = make(sip.HeaderParams, 0, len(w.Params))
			for _, kv := range w.Params {
				b.Params = append(b.Params, sip.HeaderKV{K: kv[0], V: kv[1]})
			}
		}
		bs = append(bs, b)
	}
	return bs, nil
}
