package registrar

import (
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Source describes where a REGISTER came from.
type Source struct {
	// Addr is the real source "ip:port" of the request.
	Addr string
	// Transport is "udp", "tcp", "tls", "ws" or "wss".
	Transport string
	// FlowID identifies the connection (flow) for reliable transports; ""
	// for UDP.
	FlowID string
	// NAT records that the client registered from behind NAT: it is
	// reached at Addr rather than at its Contact.
	NAT bool
}

// Binding is one registered contact of an address of record. Bindings are
// values: the registrar never changes one in place, so slices returned to
// callers may be read freely (but not modified).
type Binding struct {
	// AOR is the canonical address of record, "user@domain".
	AOR string
	// Contact is the Contact URI as registered.
	Contact sip.Uri
	// RawContact is the Contact header value as received (name-addr with
	// parameters), re-serialised by sipgo's parser.
	RawContact string
	// DisplayName is the Contact display name, "" if none.
	DisplayName string
	// Params are the Contact header parameters as received (q, expires,
	// +sip.instance, reg-id, +sip.ice, ...).
	Params sip.HeaderParams
	// Q is the q-value, 0..1; 1.0 when absent.
	Q float64
	// Expires is when the binding lapses.
	Expires time.Time
	// Registered is when the binding was last added or refreshed.
	Registered time.Time
	// CallID and CSeq are those of the REGISTER that last refreshed it.
	CallID string
	CSeq   uint32
	// Source is the real source of that REGISTER.
	Source Source
	// Instance is the +sip.instance value without its double quotes
	// (e.g. "<urn:uuid:...>"), "" if none (RFC 5626).
	Instance string
	// RegID is the reg-id parameter, 0 if none or without Instance.
	RegID int
	// Path holds the Path header entries in order, one URI each
	// (RFC 3327), as received.
	Path []string
	// UserAgent is the User-Agent header of that REGISTER.
	UserAgent string
	// Node is the cluster node that took the REGISTER and holds its flow
	// ("" on a single node): a shared store stamps it when it writes.
	Node string
}

// AOR returns the canonical address of record of uri: "user@host" with the
// host in lower case ("host" alone when there is no user part).
func AOR(uri sip.Uri) string {
	host := strings.ToLower(uri.Host)
	if uri.User == "" {
		return host
	}
	return uri.User + "@" + host
}

// ExpiresFor returns the seconds left before b lapses, rounded to the
// nearest second and never below 0: the expires value for a 200 OK.
func ExpiresFor(b Binding, now time.Time) int {
	d := b.Expires.Sub(now)
	if d <= 0 {
		return 0
	}
	return int((d + time.Second/2) / time.Second)
}

// ResponseContact returns the Contact header for b in a 200 OK to REGISTER:
// the contact as received with its expires parameter set to the time left.
func ResponseContact(b Binding, now time.Time) *sip.ContactHeader {
	h := &sip.ContactHeader{DisplayName: b.DisplayName, Address: *b.Contact.Clone()}
	h.Params = make(sip.HeaderParams, 0, len(b.Params)+1)
	h.Params = append(h.Params, b.Params...)
	h.Params.Add("expires", strconv.Itoa(ExpiresFor(b, now)))
	return h
}

// sameURI compares two contact URIs following RFC 3261 §19.1.4: scheme and
// host case-insensitive, user and password exact, same port; the user, ttl,
// method, maddr and transport parameters must agree when either side has
// them; other parameters must agree when both sides have them.
func sameURI(a, b *sip.Uri) bool {
	if !strings.EqualFold(a.Scheme, b.Scheme) || a.User != b.User || a.Password != b.Password ||
		!strings.EqualFold(a.Host, b.Host) || a.Port != b.Port || a.Raw() != b.Raw() {
		return false
	}
	return paramsAgree(a.UriParams, b.UriParams) && paramsAgree(b.UriParams, a.UriParams)
}

// paramsAgree checks a's parameters against b (one direction).
func paramsAgree(a, b sip.HeaderParams) bool {
	for _, kv := range a {
		v, ok := getFold(b, kv.K)
		if !ok {
			switch strings.ToLower(kv.K) {
			case "user", "ttl", "method", "maddr", "transport":
				return false
			}
			continue
		}
		if !strings.EqualFold(v, kv.V) {
			return false
		}
	}
	return true
}

// getFold looks a parameter up by case-insensitive name.
func getFold(p sip.HeaderParams, key string) (string, bool) {
	for _, kv := range p {
		if strings.EqualFold(kv.K, key) {
			return kv.V, true
		}
	}
	return "", false
}
