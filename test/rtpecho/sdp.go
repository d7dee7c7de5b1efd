package rtpecho

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pion/sdp/v3"
)

// ErrNoAudio is returned for an SDP without a usable audio stream.
var ErrNoAudio = errors.New("rtpecho: sdp has no usable audio m= line")

// Direction values of an SDP audio stream.
const (
	SendRecv = "sendrecv"
	SendOnly = "sendonly"
	RecvOnly = "recvonly"
	Inactive = "inactive"
)

// Remote is what an SDP says about the far end's audio stream.
type Remote struct {
	// Addr is the RTP address (c= and m= port); invalid when the port is 0.
	Addr netip.AddrPort
	// Payloads are the payload types of the m= line, in order.
	Payloads []uint8
	// Direction is the stream's direction attribute (sendrecv by default).
	Direction string
	// Proto is the m= line's transport protocol, e.g. RTP/AVP.
	Proto string
}

// ParseRemote reads the first audio stream of an SDP.
func ParseRemote(body string) (Remote, error) {
	var s sdp.SessionDescription
	if err := s.UnmarshalString(body); err != nil {
		return Remote{}, fmt.Errorf("rtpecho: parse sdp: %w", err)
	}
	for _, m := range s.MediaDescriptions {
		if m.MediaName.Media != "audio" {
			continue
		}
		r := Remote{Direction: SendRecv, Proto: strings.Join(m.MediaName.Protos, "/")}
		for _, f := range m.MediaName.Formats {
			pt, err := strconv.ParseUint(f, 10, 7)
			if err != nil {
				return Remote{}, fmt.Errorf("%w: payload %q", ErrNoAudio, f)
			}
			r.Payloads = append(r.Payloads, uint8(pt))
		}
		direction(s.Attributes, &r.Direction)
		direction(m.Attributes, &r.Direction)
		host := ""
		if m.ConnectionInformation != nil && m.ConnectionInformation.Address != nil {
			host = m.ConnectionInformation.Address.Address
		} else if s.ConnectionInformation != nil && s.ConnectionInformation.Address != nil {
			host = s.ConnectionInformation.Address.Address
		}
		if m.MediaName.Port.Value != 0 {
			ip, err := netip.ParseAddr(host)
			if err != nil {
				return Remote{}, fmt.Errorf("%w: connection address %q", ErrNoAudio, host)
			}
			r.Addr = netip.AddrPortFrom(ip, uint16(m.MediaName.Port.Value))
		}
		if len(r.Payloads) == 0 {
			return Remote{}, ErrNoAudio
		}
		return r, nil
	}
	return Remote{}, ErrNoAudio
}

func direction(attrs []sdp.Attribute, dir *string) {
	for _, a := range attrs {
		switch a.Key {
		case SendRecv, SendOnly, RecvOnly, Inactive:
			*dir = a.Key
		}
	}
}

// answerDirection mirrors an offered direction (RFC 3264 §6.1).
func answerDirection(offered string) string {
	switch offered {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	case Inactive:
		return Inactive
	}
	return SendRecv
}

var rtpmaps = map[uint8]string{0: "PCMU/8000", 8: "PCMA/8000", 9: "G722/8000", 18: "G729/8000"}

// buildSDP writes a plain RTP/AVP audio SDP for 127.0.0.1:port.
func buildSDP(sessID uint64, version int, port int, payloads []uint8, extra map[uint8]string, dir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=rtpecho %d %d IN IP4 127.0.0.1\r\ns=rtpecho\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n", sessID, version)
	fmt.Fprintf(&b, "m=audio %d RTP/AVP", port)
	for _, pt := range payloads {
		fmt.Fprintf(&b, " %d", pt)
	}
	b.WriteString("\r\n")
	for _, pt := range payloads {
		if m, ok := rtpmaps[pt]; ok {
			fmt.Fprintf(&b, "a=rtpmap:%d %s\r\n", pt, m)
		} else if m, ok := extra[pt]; ok {
			fmt.Fprintf(&b, "a=rtpmap:%d %s\r\n", pt, m)
			if strings.HasPrefix(strings.ToLower(m), "telephone-event/") {
				fmt.Fprintf(&b, "a=fmtp:%d 0-16\r\n", pt)
			}
		}
	}
	fmt.Fprintf(&b, "a=ptime:20\r\na=%s\r\n", dir)
	return b.String()
}

// choosePayload picks PCMU when offered, else PCMA, else the first offered
// static payload type, else the first one.
func choosePayload(offered []uint8) uint8 {
	for _, want := range []uint8{0, 8} {
		if slices.Contains(offered, want) {
			return want
		}
	}
	for _, pt := range offered {
		if pt < 96 {
			return pt
		}
	}
	return offered[0]
}

// rtpmapOf returns the "a=rtpmap:PT X" value of pt in body, if any.
func rtpmapOf(body string, pt uint8) string {
	prefix := fmt.Sprintf("a=rtpmap:%d ", pt)
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimRight(l, "\r"), prefix); ok {
			return v
		}
	}
	return ""
}

func sessionID() uint64 { return uint64(time.Now().UnixNano()) & 0xffffffffff }
