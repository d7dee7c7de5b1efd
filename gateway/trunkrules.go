package gateway

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/resolve"
	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/trunk"
)

// trunkRules are the configured trunks as one rule set holds them (a
// reload replaces them with the routes that name them): their settings,
// their URIs and the addresses their requests come from.
type trunkRules struct {
	cfg     map[string]trunk.Config
	uris    map[string][]sip.Uri
	servers []string          // trunk_dns the resolver was made for
	dns     *resolve.Resolver // nil when every URI is an IP literal
	tls     []certName        // every trunk's tls_names, by trunk name

	mu    sync.Mutex
	addrs map[netip.Addr]string // source address -> trunk name
}

// newTrunkRules reads the trunks of cfg (validated). The address of a URI
// that is an IP literal is a trusted source of its trunk from the start;
// those of a name once it has been resolved (by the registration or a
// call). servers are the DNS servers for names (nil: /etc/resolv.conf).
// prev, if not nil, is the trunk list replaced by a reload: its resolver
// (and DNS cache) is kept for the same servers, and the addresses it
// learned stay trusted for the trunks whose URIs did not change.
func newTrunkRules(cfg map[string]trunk.Config, servers []string, prev *trunkRules) (*trunkRules, error) {
	t := &trunkRules{cfg: cfg, uris: map[string][]sip.Uri{}, servers: servers, addrs: map[netip.Addr]string{}}
	named := false
	for _, name := range slices.Sorted(maps.Keys(cfg)) {
		for _, n := range cfg[name].TLSNames {
			t.tls = append(t.tls, certName{pattern: n, trunk: name})
		}
		for _, s := range cfg[name].URIs {
			u, err := trunk.ParseURI(s)
			if err != nil {
				return nil, fmt.Errorf("trunk %s: %w", name, err)
			}
			t.uris[name] = append(t.uris[name], u)
			if a, err := netip.ParseAddr(strings.Trim(u.Host, "[]")); err == nil {
				t.addrs[a.Unmap()] = name
			} else {
				named = true
			}
		}
	}
	if prev != nil {
		prev.mu.Lock()
		for a, name := range prev.addrs {
			if _, taken := t.addrs[a]; !taken && slices.Equal(prev.cfg[name].URIs, cfg[name].URIs) {
				t.addrs[a] = name
			}
		}
		prev.mu.Unlock()
		if prev.dns != nil && slices.Equal(prev.servers, servers) {
			t.dns = prev.dns
		}
	}
	if named && t.dns == nil {
		r, err := resolve.New(resolve.Options{Servers: servers})
		if err != nil {
			return nil, err
		}
		t.dns = r
	}
	return t, nil
}

// hops are where trunk name's requests go, in failover order: each URI's
// hops (RFC 3263 for a name) in turn, each marked with the trunk, with
// the URI it came from. A URI that does not resolve is skipped (logged
// by the caller through the error when none does).
func (t *trunkRules) hops(ctx context.Context, name string) ([]route.Target, []sip.Uri, error) {
	var out []route.Target
	var from []sip.Uri
	var firstErr error
	for _, u := range t.uris[name] {
		var hs []route.Target
		var err error
		if t.dns != nil {
			hs, err = t.dns.Lookup(ctx, u)
		} else {
			var h route.Target
			h, err = route.FromURI(u)
			hs = []route.Target{h}
		}
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		for _, h := range hs {
			h.Trunk = name
			h.TLSName = tlsName(h, u)
			out = append(out, h)
			from = append(from, u)
			t.learn(h.Addr, name)
		}
	}
	if len(out) == 0 && firstErr != nil {
		return nil, nil, firstErr
	}
	return out, from, nil
}

// learn makes addr's host a trusted source of trunk name.
func (t *trunkRules) learn(addr, name string) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return
	}
	t.mu.Lock()
	t.addrs[a.Unmap()] = name
	t.mu.Unlock()
}

// source is the trunk whose address src (ip:port) is, if any.
func (t *trunkRules) source(src string) (string, bool) {
	host, _, err := net.SplitHostPort(src)
	if err != nil {
		return "", false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return "", false
	}
	t.mu.Lock()
	name, ok := t.addrs[a.Unmap()]
	t.mu.Unlock()
	return name, ok
}

// certName is one entry of a trunk's tls_names.
type certName struct{ pattern, trunk string }

// byCertificate is the trunk one of whose tls_names matches one of sans,
// the subject alternative names of a verified client certificate: the
// first trunk in name order, its first matching entry.
func (t *trunkRules) byCertificate(sans []string) (string, bool) {
	for _, n := range t.tls {
		if slices.ContainsFunc(sans, func(san string) bool { return trunk.MatchTLSName(n.pattern, san) }) {
			return n.trunk, true
		}
	}
	return "", false
}
