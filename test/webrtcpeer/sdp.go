package webrtcpeer

import (
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
