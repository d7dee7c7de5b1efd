package rtpengine

import "strings"

// RestoreBundle returns answerSDP with the offer's "a=group:BUNDLE" line
// restored. rtpengine 10.5 drops the BUNDLE group from an answer going to a
// browser, and a browser using bundlePolicy max-bundle refuses such an
// answer (reference chromium-rtpengine.md §3).
//
// The restored group lists the offer's BUNDLE mids, in the offer's order,
// that the answer accepts (an a=mid in a media section whose port is not
// 0). The answer is returned unchanged when it already has a BUNDLE group,
// when the offer has none, or when no offered mid is accepted. The line
// goes before the first m= line, with the answer's line ending.
func RestoreBundle(offerSDP, answerSDP string) string {
	if hasBundle(answerSDP) {
		return answerSDP
	}
	offered := bundleMids(offerSDP)
	if len(offered) == 0 {
		return answerSDP
	}
	accepted := acceptedMids(answerSDP)
	var keep []string
	for _, mid := range offered {
		for _, a := range accepted {
			if a == mid {
				keep = append(keep, mid)
				break
			}
		}
	}
	if len(keep) == 0 {
		return answerSDP
	}
	firstM := strings.Index(answerSDP, "\nm=")
	if firstM < 0 {
		return answerSDP
	}
	eol := "\n"
	if firstM > 0 && answerSDP[firstM-1] == '\r' {
		eol = "\r\n"
	}
	at := firstM + 1
	return answerSDP[:at] + "a=group:BUNDLE " + strings.Join(keep, " ") + eol + answerSDP[at:]
}

// hasBundle reports whether sdp has a session-level BUNDLE group.
func hasBundle(sdp string) bool {
	found := false
	eachLine(sdp, func(l string) bool {
		if strings.HasPrefix(l, "m=") {
			return false
		}
		if strings.HasPrefix(l, "a=group:BUNDLE") {
			found = true
			return false
		}
		return true
	})
	return found
}

// bundleMids returns the mids of the first session-level BUNDLE group.
func bundleMids(sdp string) []string {
	var mids []string
	eachLine(sdp, func(l string) bool {
		if strings.HasPrefix(l, "m=") {
			return false
		}
		if v, ok := strings.CutPrefix(l, "a=group:BUNDLE"); ok && (v == "" || v[0] == ' ') {
			mids = strings.Fields(v)
			return false
		}
		return true
	})
	return mids
}

// acceptedMids returns the a=mid values of media sections with a non-zero
// port.
func acceptedMids(sdp string) []string {
	var mids []string
	active := false
	eachLine(sdp, func(l string) bool {
		if rest, ok := strings.CutPrefix(l, "m="); ok {
			f := strings.Fields(rest)
			active = len(f) >= 2 && f[1] != "0" && !strings.HasPrefix(f[1], "0/")
			return true
		}
		if v, ok := strings.CutPrefix(l, "a=mid:"); ok && active {
			if v = strings.TrimSpace(v); v != "" {
				mids = append(mids, v)
			}
		}
		return true
	})
	return mids
}

// eachLine calls f with every line of sdp (without its line ending) until
// f returns false.
func eachLine(sdp string, f func(string) bool) {
	for len(sdp) > 0 {
		line := sdp
		if i := strings.IndexByte(sdp, '\n'); i >= 0 {
			line, sdp = sdp[:i], sdp[i+1:]
		} else {
			sdp = ""
		}
		if !f(strings.TrimSuffix(line, "\r")) {
			return
		}
	}
}
