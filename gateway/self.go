package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"hash/fnv"
	"net"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// local is one bound listener as peers see it.
type local struct {
	transport string // lower-case: udp, tcp, tls
	host      string // advertised host
	port      int
	bound     string // ip:port actually bound
}

// selfAddrs answers "is this URI us?" and "which address do we show on
// transport t?".
type selfAddrs struct {
	byTransport map[string]local
	hosts       map[string]bool
	ports       map[int]bool
	domains     map[string]bool
}

func newSelfAddrs(advertise string, domains []string, bound []Listener) selfAddrs {
	s := selfAddrs{
		byTransport: map[string]local{},
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
			s.byTransport[b.Transport] = local{transport: b.Transport, host: adv, port: port, bound: b.Addr}
		}
		s.hosts[strings.ToLower(adv)] = true
		s.hosts[host] = true
		s.ports[port] = true
	}
	return s
}

// isSelf reports whether u addresses this proxy (host and port of one of
// our listeners; a URI without port means the transport's default port).
func (s selfAddrs) isSelf(u sip.Uri) bool {
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

// isLocal reports whether host is one of our domains or our own address:
// a Request-URI with such a host is looked up in the location service.
func (s selfAddrs) isLocal(host string) bool {
	h := strings.ToLower(strings.Trim(host, "[]"))
	return s.domains[h] || s.hosts[h]
}

// recordRoute builds our Record-Route entry for transport t. On the
// WebSocket side it names transport=ws (also for WSS, as browsers expect)
// and carries the flow id so in-dialog requests find the connection.
func (s selfAddrs) recordRoute(t, flow string) (*sip.RecordRouteHeader, bool) {
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
		params = params.Add(flowParam, flow)
	}
	return &sip.RecordRouteHeader{Address: sip.Uri{Scheme: "sip", Host: l.host, Port: l.port, UriParams: params}}, true
}

// branchMagic prefixes the branches we generate, after RFC 3261's cookie;
// the loop hash follows it.
const branchMagic = "z9hG4bK-se-"

// via builds our Via for transport t with a branch that embeds loopHash.
func (s selfAddrs) via(t, loopHash string) (*sip.ViaHeader, bool) {
	l, ok := s.byTransport[t]
	if !ok {
		return nil, false
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	v := &sip.ViaHeader{
		ProtocolName:    "SIP",
		ProtocolVersion: "2.0",
		Transport:       strings.ToUpper(t),
		Host:            l.host,
		Port:            l.port,
		Params:          sip.NewParams(),
	}
	v.Params.Add("branch", branchMagic+loopHash+"."+hex.EncodeToString(rnd[:]))
	return v, true
}

// loopHash hashes what identifies a request's path through us (RFC 3261
// §16.6 step 8): a request that comes back with the same hash in one of our
// Via branches is looping; a spiral (changed Request-URI) is not.
func loopHash(req *sip.Request) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(req.Recipient.String()))
	if f := req.From(); f != nil {
		t, _ := f.Params.Get("tag")
		_, _ = h.Write([]byte(t))
	}
	if to := req.To(); to != nil {
		t, _ := to.Params.Get("tag")
		_, _ = h.Write([]byte(t))
	}
	_, _ = h.Write([]byte(callID(req)))
	if c := req.CSeq(); c != nil {
		_, _ = h.Write([]byte(strconv.FormatUint(uint64(c.SeqNo), 10)))
	}
	if r := req.Route(); r != nil {
		_, _ = h.Write([]byte(r.Address.String()))
	}
	return strconv.FormatUint(h.Sum64()&0xffffffff, 16)
}

// looping reports whether one of req's Via entries is ours with the same
// loop hash.
func (s selfAddrs) looping(req *sip.Request, hash string) bool {
	for _, hdr := range req.GetHeaders("Via") {
		v, ok := hdr.(*sip.ViaHeader)
		if !ok || !s.hosts[strings.ToLower(v.Host)] || !s.ports[v.Port] {
			continue
		}
		b, _ := v.Params.Get("branch")
		rest, ok := strings.CutPrefix(b, branchMagic)
		if !ok {
			continue
		}
		if h, _, _ := strings.Cut(rest, "."); h == hash {
			return true
		}
	}
	return false
}
