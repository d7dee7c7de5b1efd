package webrtcpeer

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// BrowserLikeSDP rewrites pion's SDP the way Chromium writes it: each
// media section's c= line and m= port name its first host candidate
// instead of pion's "c=IN IP4 0.0.0.0" and port 9. rtpengine 10.5 reads a
// 0.0.0.0 connection address as the old RFC 2543 hold and sends the other
// side a=sendonly with c=0.0.0.0, so a pion SDP must not reach it as is.
// Sections without a candidate are left unchanged.
func BrowserLikeSDP(sdp string) string {
	eol := "\n"
	if strings.Contains(sdp, "\r\n") {
		eol = "\r\n"
	}
	lines := strings.Split(strings.TrimRight(sdp, "\r\n"), eol)
	// Find, per media section, the first candidate's address and port.
	type hostPort struct{ host, port string }
	var sections []hostPort
	for _, l := range lines {
		if strings.HasPrefix(l, "m=") {
			sections = append(sections, hostPort{})
			continue
		}
		if v, ok := strings.CutPrefix(l, "a=candidate:"); ok && len(sections) > 0 && sections[len(sections)-1].host == "" {
			f := strings.Fields(v) // foundation component transport priority address port typ ...
			if len(f) >= 6 && f[1] == "1" && !strings.Contains(f[4], ":") {
				sections[len(sections)-1] = hostPort{f[4], f[5]}
			}
		}
	}
	sec := -1
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "m="):
			sec++
			if hp := sections[sec]; hp.host != "" {
				if f := strings.SplitN(l, " ", 3); len(f) == 3 && f[1] != "0" {
					lines[i] = f[0] + " " + hp.port + " " + f[2]
				}
			}
		case sec >= 0 && l == "c=IN IP4 0.0.0.0":
			if hp := sections[sec]; hp.host != "" {
				lines[i] = "c=IN IP4 " + hp.host
			}
		}
	}
	return strings.Join(lines, eol) + eol
}

// ErrNotBrowserSDP is returned by SetAnswer and AcceptOffer for a remote
// SDP that Chromium with bundlePolicy max-bundle and rtcp-mux required
// would refuse (pion alone accepts it; see Config.Lenient).
var ErrNotBrowserSDP = errors.New("webrtcpeer: remote SDP refused as Chromium (max-bundle) would")

// CheckChromiumRules reports why Chromium (max-bundle, rtcp-mux require)
// would refuse a remote SDP: every active m= line must have a=rtcp-mux and
// an a=mid listed in a session-level a=group:BUNDLE.
func CheckChromiumRules(sdp string) error {
	var bundle []string
	var problems []string
	section, active, mux, mid := -1, false, false, ""
	flush := func() {
		if section < 0 || !active {
			return
		}
		if !mux {
			problems = append(problems, fmt.Sprintf("m= line %d lacks a=rtcp-mux (RTCP-MUX is not enabled when it is required)", section))
		}
		if mid == "" || !slices.Contains(bundle, mid) {
			problems = append(problems, fmt.Sprintf("m= line %d (mid %q) is not in a=group:BUNDLE %v (max-bundle)", section, mid, bundle))
		}
	}
	for _, l := range strings.Split(sdp, "\n") {
		l = strings.TrimRight(l, "\r")
		switch {
		case strings.HasPrefix(l, "m="):
			flush()
			section++
			f := strings.Fields(l)
			active, mux, mid = len(f) >= 2 && f[1] != "0", false, ""
		case section < 0 && strings.HasPrefix(l, "a=group:BUNDLE "):
			bundle = strings.Fields(strings.TrimPrefix(l, "a=group:BUNDLE "))
		case l == "a=rtcp-mux":
			mux = true
		case strings.HasPrefix(l, "a=mid:"):
			mid = strings.TrimSpace(strings.TrimPrefix(l, "a=mid:"))
		}
	}
	flush()
	if section < 0 {
		problems = append(problems, "no m= line")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrNotBrowserSDP, strings.Join(problems, "; "))
	}
	return nil
}
