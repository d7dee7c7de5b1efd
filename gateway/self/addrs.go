// Package self knows this proxy's own addresses: whether a URI or a Via
// is us, the Via and Record-Route we add on each transport (the Via branch
// carries the loop hash of RFC 3261 §16.6 step 8), and loop detection.
package self

import (
	"math/rand/v2"
	"net"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/dialog"
)

// Local is one bound listener as peers see it.
type Local struct {
	Transport    string // lower-case: udp, tcp, tls
	ViaTransport string // upper-case, as Via writes it
	Host         string // advertised host
	Port         int
	Bound        string // ip:port actually bound
}

// Addrs answers "is this URI us?" and "which address do we show on
// transport t?". It is immutable once built.
type Addrs struct {
	byTransport map[string]Local
	hosts       map[string]bool
	ports       map[int]bool
	domains     map[string]bool
}

// Listener is one bound listener: its transport (lower case) and the
// host:port it is bound to.
type Listener struct {
	Transport string
	Addr      string
}

// New builds the addresses of listeners bound, shown as advertise when set,
// serving domains.
func New(advertise string, domains []string, bound []Listener) Addrs {
	s := Addrs{
		byTransport: map[string]Local{},
		hosts:       map[string]bool{},
		ports:       map[int]bool{},
		domains:     map[string]bool{},
	}
	for _, d := range domains {
		s.domains[strings.ToLower(d)] = true
	}
	for _, b := range bound {
		host, p, _ := net.SplitHostPort(b.Addr)
		port, _ := strconv.Atoi(p)
		adv := host
		if advertise != "" {
			adv = advertise
		}
		if _, ok := s.byTransport[b.Transport]; !ok {
			s.byTransport[b.Transport] = Local{Transport: b.Transport, ViaTransport: strings.ToUpper(b.Transport), Host: adv, Port: port, Bound: b.Addr}
		}
		s.hosts[strings.ToLower(adv)] = true
		s.hosts[host] = true
		s.ports[port] = true
	}
	return s
}

// IsSelf reports whether u addresses this proxy (host and port of one of
// our listeners; a URI without port means the transport's default port).
func (s Addrs) IsSelf(u sip.Uri) bool {
	if !s.hosts[strings.ToLower(strings.Trim(u.Host, "[]"))] {
		return false
	}
	port := u.Port
	if port == 0 {
		port = 5060
		if u.IsEncrypted() {
			port = 5061
		}
		if t, ok := u.UriParams.Get("transport"); ok && strings.EqualFold(t, "tls") {
			port = 5061
		}
	}
	return s.ports[port]
}

// IsLocal reports whether host is one of our domains or our own address:
// a Request-URI with such a host is looked up in the location service.
func (s Addrs) IsLocal(host string) bool {
	h := strings.ToLower(strings.Trim(host, "[]"))
	return s.domains[h] || s.hosts[h]
}

// RecordRoute builds our Record-Route entry for transport t. On the
// WebSocket side it names transport=ws (also for WSS, as browsers expect)
// and carries the flow id so in-dialog requests find the connection.
func (s Addrs) RecordRoute(t, flow string) (*sip.RecordRouteHeader, bool) {
	l, ok := s.byTransport[t]
	if !ok {
		return nil, false
	}
	tp := t
	if t == "wss" {
		tp = "ws"
	}
	params := sip.HeaderParams{{K: "transport", V: tp}, {K: "lr", V: ""}}
	if flow != "" {
		params = params.Add(FlowParam, flow)
	}
	return &sip.RecordRouteHeader{Address: sip.Uri{Scheme: "sip", Host: l.Host, Port: l.Port, UriParams: params}}, true
}

// BranchMagic prefixes the branches we generate, after RFC 3261's cookie;
// the loop hash follows it.
const BranchMagic = "z9hG4bK-se-"

// Via builds our Via for transport t with a branch that embeds loopHash.
func (s Addrs) Via(t, loopHash string) (*sip.ViaHeader, bool) {
	l, ok := s.byTransport[t]
	if !ok {
		return nil, false
	}
	// The branch only has to be unique (RFC 3261 §8.1.1.7), not secret:
	// 48 bits of the runtime's per-thread generator, no system call.
	var b [len(BranchMagic) + 16 + 1 + 12]byte
	br := append(b[:0], BranchMagic...)
	br = append(br, loopHash...)
	br = append(br, '.')
	rnd := rand.Uint64()
	for i := 0; i < 12; i++ {
		br = append(br, hexDigits[rnd&0xf])
		rnd >>= 4
	}
	v := &sip.ViaHeader{
		ProtocolName:    "SIP",
		ProtocolVersion: "2.0",
		Transport:       l.ViaTransport,
		Host:            l.Host,
		Port:            l.Port,
		Params:          sip.HeaderParams{{K: "branch", V: string(br)}},
	}
	return v, true
}

const hexDigits = "0123456789abcdef"

// LoopHash hashes what identifies a request's path through us (RFC 3261
// §16.6 step 8): a request that comes back with the same hash in one of our
// Via branches is looping; a spiral (changed Request-URI) is not.
func LoopHash(req *sip.Request) string {
	h := fnv64a(fnvOffset64)
	req.Recipient.StringWrite(&h)
	if f := req.From(); f != nil {
		t, _ := f.Params.Get("tag")
		_, _ = h.WriteString(t)
	}
	if to := req.To(); to != nil {
		t, _ := to.Params.Get("tag")
		_, _ = h.WriteString(t)
	}
	if c := req.CallID(); c != nil {
		_, _ = h.WriteString(c.Value())
	}
	if c := req.CSeq(); c != nil {
		var n [10]byte
		h.write(strconv.AppendUint(n[:0], uint64(c.SeqNo), 10))
	}
	if r := dialog.TopRoute(req); r != nil {
		r.Address.StringWrite(&h)
	}
	return strconv.FormatUint(uint64(h)&0xffffffff, 16)
}

// fnv64a is FNV-1a (hash/fnv's New64a) over strings written to it, without
// converting them to byte slices.
type fnv64a uint64

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

func (h *fnv64a) WriteString(s string) (int, error) {
	x := *h
	for i := 0; i < len(s); i++ {
		x ^= fnv64a(s[i])
		x *= fnvPrime64
	}
	*h = x
	return len(s), nil
}

func (h *fnv64a) write(b []byte) {
	x := *h
	for _, c := range b {
		x ^= fnv64a(c)
		x *= fnvPrime64
	}
	*h = x
}

// Looping reports whether one of req's Via entries is ours with the same
// loop hash.
func (s Addrs) Looping(req *sip.Request, hash string) bool {
	for _, hdr := range req.GetHeaders("Via") {
		v, ok := hdr.(*sip.ViaHeader)
		if !ok || !s.hosts[strings.ToLower(v.Host)] || !s.ports[v.Port] {
			continue
		}
		b, _ := v.Params.Get("branch")
		rest, ok := strings.CutPrefix(b, BranchMagic)
		if !ok {
			continue
		}
		if h, _, _ := strings.Cut(rest, "."); h == hash {
			return true
		}
	}
	return false
}

// ContactURI is our address on transport t as a Contact URI.
func (s Addrs) ContactURI(t string) (sip.Uri, bool) {
	rr, ok := s.RecordRoute(t, "")
	if !ok {
		return sip.Uri{}, false
	}
	u := rr.Address
	ps := make(sip.HeaderParams, 0, 1)
	for _, kv := range u.UriParams {
		if kv.K != "lr" {
			ps = append(ps, kv)
		}
	}
	u.UriParams = ps
	return u, true
}

// IsOurRecordRoute returns a test for our Record-Route entry on transport t.
func (s Addrs) IsOurRecordRoute(t string) func(sip.Uri) bool {
	l, ok := s.byTransport[t]
	tp := t
	if t == "wss" {
		tp = "ws"
	}
	return func(u sip.Uri) bool {
		got, _ := u.UriParams.Get("transport")
		return ok && strings.EqualFold(u.Host, l.Host) && u.Port == l.Port && strings.EqualFold(got, tp)
	}
}

// FlowParam is the Record-Route URI parameter that carries a WebSocket
// flow id, so in-dialog requests from the other side find the connection.
const FlowParam = "ftok"

// Local is our listener on transport t (lower case), if we have one.
func (s Addrs) Local(t string) (Local, bool) {
	l, ok := s.byTransport[t]
	return l, ok
}

// IsDomain reports whether host (lower case) is one of our domains.
func (s Addrs) IsDomain(host string) bool { return s.domains[host] }

// IsOurVia reports whether v's sent-by is one of our listeners.
func (s Addrs) IsOurVia(v *sip.ViaHeader) bool {
	return v != nil && s.hosts[strings.ToLower(v.Host)] && s.ports[v.Port]
}
