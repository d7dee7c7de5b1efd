package trunk

import (
	"net/url"
	"strings"
)

// checkTLSName accepts one entry of tls_names: a URI with a scheme and a
// host or opaque part (sip:carrier.example, spiffe://carrier/edge), a DNS
// host name, or "*." and one.
func checkTLSName(n string) error {
	if strings.Contains(n, ":") {
		u, err := url.Parse(n)
		if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "") || strings.ContainsAny(n, " <>") {
			return ErrTLSName
		}
		return nil
	}
	host := strings.TrimPrefix(n, "*.")
	if host == "" || len(host) > 253 || strings.Contains(host, "*") {
		return ErrTLSName
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return ErrTLSName
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return ErrTLSName
			}
		}
	}
	return nil
}

// MatchTLSName reports whether pattern, an entry of tls_names, matches
// san, one subject alternative name of a verified client certificate: a
// URI entry the same URI, a DNS entry the same name, a *.domain entry a
// name of one more label; all without case (a trailing dot of a DNS name
// ignored).
func MatchTLSName(pattern, san string) bool {
	pattern, san = strings.ToLower(pattern), strings.ToLower(san)
	if strings.Contains(pattern, ":") || strings.Contains(san, ":") {
		return pattern == san
	}
	san = strings.TrimSuffix(san, ".")
	if rest, ok := strings.CutPrefix(pattern, "*."); ok {
		_, tail, ok := strings.Cut(san, ".")
		return ok && tail == rest
	}
	return pattern == san
}
