package gateway

import (
	"strings"
)

// restoreBundle puts "a=group:BUNDLE <mids>" back into an SDP answer
// toward a browser when the browser's offer grouped its media and
// rtpengine (10.5) dropped the group: browsers using max-bundle refuse an
// answer without it. The mids are the answer's own a=mid values, in order.
func restoreBundle(answer, offer string) string {
	if !strings.Contains(offer, "a=group:BUNDLE") || strings.Contains(answer, "a=group:BUNDLE") {
		return answer
	}
	eol := "\r\n"
	if !strings.Contains(answer, "\r\n") {
		eol = "\n"
	}
	lines := strings.Split(answer, eol)
	var mids []string
	tLine := -1
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "a=mid:"):
			mids = append(mids, strings.TrimSpace(strings.TrimPrefix(l, "a=mid:")))
		case strings.HasPrefix(l, "t=") && tLine < 0:
			tLine = i
		}
	}
	if len(mids) == 0 || tLine < 0 {
		return answer
	}
	group := "a=group:BUNDLE " + strings.Join(mids, " ")
	out := make([]string, 0, len(lines)+1)
	out = append(out, lines[:tLine+1]...)
	out = append(out, group)
	out = append(out, lines[tLine+1:]...)
	return strings.Join(out, eol)
}

// hasSDP reports whether a message body is an SDP session description.
func hasSDP(body []byte, contentType string) bool {
	if len(body) == 0 {
		return false
	}
	ct := strings.ToLower(strings.TrimSpace(contentType))
	return ct == "" || strings.HasPrefix(ct, "application/sdp")
}
