package auth

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// hashHex returns the lower-case hex digest (MD5 or SHA-256) of the
// concatenation of parts.
func hashHex(alg string, parts ...string) string {
	var buf [512]byte
	msg := buf[:0]
	for _, p := range parts {
		msg = append(msg, p...)
	}
	if alg == SHA256 {
		sum := sha256.Sum256(msg)
		return hex.EncodeToString(sum[:])
	}
	sum := md5.Sum(msg)
	return hex.EncodeToString(sum[:])
}

// digestHex writes the lower-case hex digest (MD5 or SHA-256) of msg into
// dst and returns it.
func digestHex(dst *[sha256.Size * 2]byte, alg string, msg []byte) []byte {
	if alg == SHA256 {
		sum := sha256.Sum256(msg)
		return dst[:hex.Encode(dst[:], sum[:])]
	}
	sum := md5.Sum(msg)
	return dst[:hex.Encode(dst[:], sum[:])]
}

// hexEqualFold compares a client's hex response with want (lower case)
// in time that depends only on their lengths; the client may write hex
// digits in upper case.
func hexEqualFold(got string, want []byte) bool {
	if len(got) != len(want) {
		return false
	}
	var d byte
	for i := 0; i < len(want); i++ {
		c := got[i]
		if c >= 'A' && c <= 'F' {
			c += 'a' - 'A'
		}
		d |= c ^ want[i]
	}
	return d == 0
}

// isHex reports whether s consists of hex digits only.
func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// uriMatches reports whether the digest uri parameter names the same
// resource as the Request-URI: identical text, or equal per RFC 3261
// §19.1.4 in scheme, user, password, host (case-insensitive), port and URI
// parameters.
func uriMatches(param string, ruri *sip.Uri) bool {
	if param == ruri.String() {
		return true
	}
	var u sip.Uri
	if err := sip.ParseUri(param, &u); err != nil {
		return false
	}
	scheme := func(s string) string {
		if s == "" {
			return "sip"
		}
		return strings.ToLower(s)
	}
	if scheme(u.Scheme) != scheme(ruri.Scheme) || u.User != ruri.User || u.Password != ruri.Password ||
		!strings.EqualFold(u.Host, ruri.Host) || u.Port != ruri.Port || u.Raw() != ruri.Raw() {
		return false
	}
	return sameParams(u.UriParams, ruri.UriParams)
}

// isSIPURI reports whether s parses as a sip: or sips: URI with a host.
func isSIPURI(s string) bool {
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Scheme, "sip") || strings.EqualFold(u.Scheme, "sips")
}

// sameParams compares URI parameters as sets, names and values
// case-insensitively.
func sameParams(a, b sip.HeaderParams) bool {
	if len(a) != len(b) {
		return false
	}
	for _, kv := range a {
		found := false
		for _, kw := range b {
			if strings.EqualFold(kv.K, kw.K) {
				found = strings.EqualFold(kv.V, kw.V)
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
