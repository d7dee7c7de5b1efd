package rtpengine

import "net/netip"

// Values of Options.ICE.
const (
	ICERemove     = "remove"      // strip ICE attributes (toward plain RTP)
	ICEForce      = "force"       // add rtpengine's own ICE (toward a browser)
	ICEDefault    = "default"     // keep ICE if the peer offered it
	ICEForceRelay = "force-relay" // rtpengine's candidates only, as relay
	ICEOptional   = "optional"    // add ICE only if the offer had it
)

// Values of Options.DTLS and Options.DTLSReverse.
const (
	DTLSOff     = "off"
	DTLSPassive = "passive"
	DTLSActive  = "active"
)

// Values of Options.TransportProtocol.
const (
	ProtoRTPAVP         = "RTP/AVP"
	ProtoRTPAVPF        = "RTP/AVPF"
	ProtoRTPSAVP        = "RTP/SAVP"
	ProtoRTPSAVPF       = "RTP/SAVPF"
	ProtoUDPTLSRTPSAVP  = "UDP/TLS/RTP/SAVP"
	ProtoUDPTLSRTPSAVPF = "UDP/TLS/RTP/SAVPF"
)

// Options are the typed ng keys that shape how rtpengine rewrites an SDP.
// Empty fields are not sent. See reference kamailio-rtpengine.md §1.4.
type Options struct {
	// ICE is one of the ICE* constants.
	ICE string
	// DTLS is DTLSOff, DTLSPassive or DTLSActive: rtpengine's DTLS role on
	// the side the SDP goes to.
	DTLS string
	// DTLSReverse is rtpengine's DTLS role on the side the SDP comes from.
	// Toward plain RTP it must be DTLSPassive, or the browser's DTLS
	// handshake never completes (reference chromium-rtpengine.md §1).
	DTLSReverse string
	// SDES lists SDES options, e.g. ["off"].
	SDES []string
	// RTCPMux lists rtcp-mux options: offer, require, demux, accept, reject.
	RTCPMux []string
	// TransportProtocol is the m= line protocol to produce (Proto*), or
	// "accept" in an answer.
	TransportProtocol string
	// Replace lists SDP parts to rewrite: origin, session-connection, ...
	Replace []string
	// Flags are boolean ng flags, e.g. generate-mid, trust-address,
	// SIP-source-address, strict-source, record-call.
	Flags []string
	// Direction names the two logical interfaces (from, to) for an offer.
	Direction []string
	// ReceivedFrom is the SIP source address of the message carrying the
	// SDP, used when the SDP's own address is not trusted.
	ReceivedFrom netip.Addr
	// Label names this party for statistics and later selection.
	Label string
	// Codec holds codec manipulation; nil sends none.
	Codec *Codec
	// Extra holds any other ng keys verbatim. Values must be strings,
	// integers, []string, []any or map[string]any (no floats).
	Extra map[string]any
}

// Codec is the ng "codec" dictionary. Each list holds codec names as
// rtpengine writes them (e.g. "opus", "PCMU", "all").
type Codec struct {
	Strip     []string
	Offer     []string
	Transcode []string
	Mask      []string
	Consume   []string
	Accept    []string
	Except    []string
	Set       []string
}

// ToBrowser returns the options for an SDP that goes toward a browser
// (WebRTC): ICE forced, DTLS passive, no SDES, rtcp-mux offered and
// required, a=mid generated, UDP/TLS/RTP/SAVPF. Use it for the offer toward
// a browser callee and for the answer toward a browser caller. rtpengine
// 10.5 does not know the "WebRTC" shortcut, so every flag is spelled out.
func ToBrowser() Options {
	return Options{
		ICE:               ICEForce,
		DTLS:              DTLSPassive,
		SDES:              []string{"off"},
		RTCPMux:           []string{"offer", "require"},
		Flags:             []string{"generate-mid"},
		TransportProtocol: ProtoUDPTLSRTPSAVPF,
		Replace:           []string{"origin", "session-connection"},
	}
}

// ToPlainRTP returns the options for an SDP that goes toward a classic SIP
// endpoint: ICE removed, DTLS off (and DTLS-reverse passive toward the
// browser side), no SDES, RTCP demultiplexed, RTP/AVP.
func ToPlainRTP() Options {
	return Options{
		ICE:               ICERemove,
		DTLS:              DTLSOff,
		DTLSReverse:       DTLSPassive,
		SDES:              []string{"off"},
		RTCPMux:           []string{"demux"},
		TransportProtocol: ProtoRTPAVP,
		Replace:           []string{"origin", "session-connection"},
	}
}

// apply writes the options into an ng dictionary.
func (o *Options) apply(d map[string]any) {
	setStr(d, "ICE", o.ICE)
	setStr(d, "DTLS", o.DTLS)
	setStr(d, "DTLS-reverse", o.DTLSReverse)
	setList(d, "SDES", o.SDES)
	setList(d, "rtcp-mux", o.RTCPMux)
	setStr(d, "transport-protocol", o.TransportProtocol)
	setList(d, "replace", o.Replace)
	setList(d, "flags", o.Flags)
	setList(d, "direction", o.Direction)
	setStr(d, "label", o.Label)
	if o.ReceivedFrom.IsValid() {
		fam := "IP4"
		a := o.ReceivedFrom.Unmap()
		if a.Is6() {
			fam = "IP6"
		}
		d["received-from"] = []string{fam, a.String()}
	}
	if c := o.Codec; c != nil {
		cd := map[string]any{}
		setList(cd, "strip", c.Strip)
		setList(cd, "offer", c.Offer)
		setList(cd, "transcode", c.Transcode)
		setList(cd, "mask", c.Mask)
		setList(cd, "consume", c.Consume)
		setList(cd, "accept", c.Accept)
		setList(cd, "except", c.Except)
		setList(cd, "set", c.Set)
		if len(cd) > 0 {
			d["codec"] = cd
		}
	}
	for k, v := range o.Extra {
		if _, taken := d[k]; !taken && v != nil {
			d[k] = v
		}
	}
}

func setStr(d map[string]any, k, v string) {
	if v != "" {
		d[k] = v
	}
}

func setList(d map[string]any, k string, v []string) {
	if len(v) > 0 {
		d[k] = v
	}
}

// addFlag appends a flag to d["flags"] unless it is there already.
func addFlag(d map[string]any, flag string) {
	fl, _ := d["flags"].([]string)
	for _, f := range fl {
		if f == flag {
			return
		}
	}
	d["flags"] = append(append([]string(nil), fl...), flag)
}
