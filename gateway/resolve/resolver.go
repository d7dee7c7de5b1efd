package resolve

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/miekg/dns"

	"github.com/sipedge/sipedge/gateway/route"
)

// Options configure a Resolver; zero fields take the documented defaults.
type Options struct {
	// Servers are the DNS servers (host:port), asked in order until one
	// answers. Default: the nameservers of /etc/resolv.conf.
	Servers []string
	// Timeout bounds each query to one server. Default 2s.
	Timeout time.Duration
	// MinTTL and MaxTTL bound how long an answer is cached (its TTL
	// otherwise). Defaults 5s and 1h.
	MinTTL, MaxTTL time.Duration
	// NegativeTTL is how long a name or record type that does not exist
	// is remembered. Default 30s.
	NegativeTTL time.Duration
	// MaxEntries caps the cache. Default 4096.
	MaxEntries int
	// Now and Rand default to time.Now and math/rand/v2's IntN (tests
	// replace them).
	Now  func() time.Time
	Rand func(n int) int
}

// Resolver resolves SIP URIs (RFC 3263) with a TTL cache. It is safe for
// concurrent use and starts no goroutines.
type Resolver struct {
	opt   Options
	cache *cache
}

// New returns a resolver with o's defaults filled.
func New(o Options) (*Resolver, error) {
	if len(o.Servers) == 0 {
		cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return nil, fmt.Errorf("resolve: %w", err)
		}
		for _, s := range cc.Servers {
			o.Servers = append(o.Servers, net.JoinHostPort(s, cc.Port))
		}
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	if o.MinTTL == 0 {
		o.MinTTL = 5 * time.Second
	}
	if o.MaxTTL == 0 {
		o.MaxTTL = time.Hour
	}
	if o.NegativeTTL == 0 {
		o.NegativeTTL = 30 * time.Second
	}
	if o.MaxEntries == 0 {
		o.MaxEntries = 4096
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.IntN
	}
	return &Resolver{opt: o, cache: newCache(o.MaxEntries)}, nil
}

// srvPrefix is the SRV service name per transport (RFC 3263 §4.1).
var srvPrefix = map[string]string{"udp": "_sip._udp.", "tcp": "_sip._tcp.", "tls": "_sips._tcp."}

// naptrService maps a NAPTR service to its transport.
var naptrService = map[string]string{"SIP+D2U": "udp", "SIP+D2T": "tcp", "SIPS+D2T": "tls"}

// Lookup returns the hops of u in failover order (see the package comment).
func (r *Resolver) Lookup(ctx context.Context, u sip.Uri) ([]route.Target, error) {
	scheme := strings.ToLower(u.Scheme)
	if scheme != "sip" && scheme != "sips" {
		return nil, fmt.Errorf("%w: scheme %q", ErrURI, u.Scheme)
	}
	sips := scheme == "sips"
	tr, hasTr := u.UriParams.Get("transport")
	tr = strings.ToLower(tr)
	if hasTr {
		if _, ok := srvPrefix[tr]; !ok {
			return nil, fmt.Errorf("%w: transport %q", ErrURI, tr)
		}
	}
	host := u.Host
	if m, ok := u.UriParams.Get("maddr"); ok && m != "" {
		host = m
	}
	host = strings.Trim(host, "[]")
	if host == "" {
		return nil, fmt.Errorf("%w: no host", ErrURI)
	}
	dflt := "udp"
	if sips {
		dflt = "tls"
	}
	if !hasTr {
		tr = dflt
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return []route.Target{hop(tr, host, portOr(u.Port, tr))}, nil
	}
	if u.Port != 0 || hasTr {
		if u.Port == 0 {
			if hops, err := r.srv(ctx, srvPrefix[tr]+host, tr); err != nil || len(hops) > 0 {
				return hops, err
			}
		}
		return r.hostAddrs(ctx, host, tr, portOr(u.Port, tr))
	}
	hops, err := r.naptr(ctx, host, sips)
	if err != nil || len(hops) > 0 {
		return hops, err
	}
	for _, t := range []string{"udp", "tcp", "tls"} {
		if sips && t != "tls" {
			continue
		}
		h, err := r.srv(ctx, srvPrefix[t]+host, t)
		if err != nil {
			return nil, err
		}
		hops = append(hops, h...)
	}
	if len(hops) > 0 {
		return hops, nil
	}
	return r.hostAddrs(ctx, host, tr, portOr(0, tr))
}

// hostAddrs is addrs naming the host when it has none.
func (r *Resolver) hostAddrs(ctx context.Context, host, tr string, port int) ([]route.Target, error) {
	hops, err := r.addrs(ctx, host, tr, port)
	if err == errNone {
		return nil, fmt.Errorf("%w for %s", ErrNoAddress, host)
	}
	return hops, err
}

// naptr follows the NAPTR records of host to SRV records and addresses.
func (r *Resolver) naptr(ctx context.Context, host string, sips bool) ([]route.Target, error) {
	rrs, err := r.query(ctx, host, dns.TypeNAPTR)
	if err != nil {
		return nil, err
	}
	var recs []*dns.NAPTR
	for _, rr := range rrs {
		n, ok := rr.(*dns.NAPTR)
		if !ok || !strings.EqualFold(n.Flags, "s") {
			continue
		}
		t, ok := naptrService[strings.ToUpper(n.Service)]
		if !ok || (sips && t != "tls") {
			continue
		}
		recs = append(recs, n)
	}
	slices.SortStableFunc(recs, func(a, b *dns.NAPTR) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.Preference, b.Preference))
	})
	var hops []route.Target
	for _, n := range recs {
		h, err := r.srv(ctx, n.Replacement, naptrService[strings.ToUpper(n.Service)])
		if err != nil {
			return nil, err
		}
		hops = append(hops, h...)
	}
	return hops, nil
}

// srv resolves one SRV name into hops: records by priority, weighted
// random within one, each target's addresses in turn.
func (r *Resolver) srv(ctx context.Context, name, tr string) ([]route.Target, error) {
	rrs, err := r.query(ctx, name, dns.TypeSRV)
	if err != nil {
		return nil, err
	}
	var recs []*dns.SRV
	for _, rr := range rrs {
		if s, ok := rr.(*dns.SRV); ok && s.Target != "." {
			recs = append(recs, s)
		}
	}
	var hops []route.Target
	for _, s := range r.orderSRV(recs) {
		h, err := r.addrs(ctx, strings.TrimSuffix(s.Target, "."), tr, int(s.Port))
		if err != nil && err != errNone {
			return nil, err
		}
		hops = append(hops, h...)
	}
	return hops, nil
}

// orderSRV sorts by priority and draws by weight within each (RFC 2782).
func (r *Resolver) orderSRV(recs []*dns.SRV) []*dns.SRV {
	slices.SortStableFunc(recs, func(a, b *dns.SRV) int { return cmp.Compare(a.Priority, b.Priority) })
	out := make([]*dns.SRV, 0, len(recs))
	for i := 0; i < len(recs); {
		j := i
		for j < len(recs) && recs[j].Priority == recs[i].Priority {
			j++
		}
		level := append([]*dns.SRV(nil), recs[i:j]...)
		// Zero weights first, so they are picked only when drawn 0.
		slices.SortStableFunc(level, func(a, b *dns.SRV) int { return cmp.Compare(min(a.Weight, 1), min(b.Weight, 1)) })
		for len(level) > 0 {
			total := 0
			for _, s := range level {
				total += int(s.Weight)
			}
			pick, sum, draw := 0, 0, r.opt.Rand(total+1)
			for k, s := range level {
				sum += int(s.Weight)
				if sum >= draw {
					pick = k
					break
				}
			}
			out = append(out, level[pick])
			level = slices.Delete(level, pick, pick+1)
		}
		i = j
	}
	return out
}

// errNone is a name without addresses inside an SRV walk (skipped there).
var errNone = fmt.Errorf("%w", ErrNoAddress)

// addrs is host's A then AAAA addresses as hops.
func (r *Resolver) addrs(ctx context.Context, host, tr string, port int) ([]route.Target, error) {
	var hops []route.Target
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, err := r.query(ctx, host, qt)
		if err != nil {
			return nil, err
		}
		for _, rr := range rrs {
			switch a := rr.(type) {
			case *dns.A:
				hops = append(hops, hop(tr, a.A.String(), port))
			case *dns.AAAA:
				hops = append(hops, hop(tr, a.AAAA.String(), port))
			}
		}
	}
	if len(hops) == 0 {
		return nil, errNone
	}
	return hops, nil
}

// query asks the servers for (name, qtype), through the cache. A name or
// type that does not exist is an empty answer.
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	fq := dns.Fqdn(strings.ToLower(name))
	k := cacheKey{fq, qtype}
	now := r.opt.Now()
	if rrs, ok := r.cache.get(k, now); ok {
		return rrs, nil
	}
	m := new(dns.Msg)
	m.SetQuestion(fq, qtype)
	m.RecursionDesired = true
	last := errors.New("no DNS server configured")
	for _, srv := range r.opt.Servers {
		res, err := r.exchange(ctx, m, srv)
		if err != nil {
			last = err
			continue
		}
		switch res.Rcode {
		case dns.RcodeSuccess, dns.RcodeNameError:
		default:
			last = fmt.Errorf("%s %s: %s", fq, dns.TypeToString[qtype], dns.RcodeToString[res.Rcode])
			continue
		}
		var rrs []dns.RR
		ttl := time.Duration(-1)
		for _, rr := range res.Answer {
			if rr.Header().Rrtype != qtype {
				continue
			}
			rrs = append(rrs, rr)
			if t := time.Duration(rr.Header().Ttl) * time.Second; ttl < 0 || t < ttl {
				ttl = t
			}
		}
		if len(rrs) == 0 {
			ttl = r.opt.NegativeTTL
		}
		ttl = min(max(ttl, r.opt.MinTTL), r.opt.MaxTTL)
		r.cache.put(k, rrs, now.Add(ttl))
		return rrs, nil
	}
	return nil, fmt.Errorf("%w: %w", ErrServer, last)
}

// exchange sends m to srv over UDP, again over TCP when truncated.
func (r *Resolver) exchange(ctx context.Context, m *dns.Msg, srv string) (*dns.Msg, error) {
	c := &dns.Client{Net: "udp", Timeout: r.opt.Timeout}
	res, _, err := c.ExchangeContext(ctx, m, srv)
	if err == nil && res.Truncated {
		c.Net = "tcp"
		res, _, err = c.ExchangeContext(ctx, m, srv)
	}
	return res, err
}

func hop(tr, ip string, port int) route.Target {
	return route.Target{Transport: tr, Addr: net.JoinHostPort(ip, strconv.Itoa(port))}
}

func portOr(p int, tr string) int {
	if p != 0 {
		return p
	}
	if tr == "tls" {
		return 5061
	}
	return 5060
}
