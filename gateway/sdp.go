package gateway

import "strings"

// hasSDP reports whether a message body is an SDP session description.
func hasSDP(body []byte, contentType string) bool {
	if len(body) == 0 {
		return false
	}
	ct := strings.ToLower(strings.TrimSpace(contentType))
	return ct == "" || strings.HasPrefix(ct, "application/sdp")
}
