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
	return insertBundle(answerSDP, keep)
}

// EnsureBundle returns sdp with an "a=group:BUNDLE" line listing every
// accepted mid (a=mid of a media section whose port is not 0), when sdp
// has no BUNDLE group. Use it on an offer going to a browser: rtpengine
// 10.5 writes a=mid (generate-mid) but no BUNDLE group, and a peer using
// bundlePolicy max-bundle rejects every m= line outside a BUNDLE group
// (pion/webrtc answers them with port 0). sdp is returned unchanged when
// it has a group already or no accepted mid.
func EnsureBundle(sdp string) string {
	if hasBundle(sdp) {
		return sdp
	}
	return insertBundle(sdp, acceptedMids(sdp))
}

// insertBundle adds "a=group:BUNDLE mids" before the first m= line, with
// sdp's line ending; no mids or no m= line leave sdp unchanged.
func insertBundle(sdp string, mids []string) string {
	if len(mids) == 0 {
		return sdp
	}
	firstM := strings.Index(sdp, "\nm=")
	if firstM < 0 {
		return sdp
	}
	eol := "\n"
	if firstM > 0 && sdp[firstM-1] == '\r' {
		eol = "\r\n"
	}
	at := firstM + 1
	return sdp[:at] + "a=group:BUNDLE " + strings.Join(mids, " ") + eol + sdp[at:]
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
