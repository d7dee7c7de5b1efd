package tls

import (
	stdtls "crypto/tls"
	"crypto/x509"
	"slices"
	"sync"
)

// maxPeers caps the table of verified TLS peers (one entry per connection
// that presented a verified client certificate; a stale one is overwritten
// by the next handshake from its address).
const maxPeers = 4096

// peer is what a verified client certificate says of its connection.
type peer struct {
	trusted bool     // a DNS name matches trusted_names
	names   []string // the leaf's DNS and URI subject alternative names
}

// peers remembers, by remote address, the TLS connections that presented
// a verified client certificate.
type peers struct {
	mu sync.RWMutex
	m  map[string]peer
}

func (p *peers) record(addr string, pr peer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !pr.trusted && len(pr.names) == 0 {
		delete(p.m, addr)
		return
	}
	if p.m == nil {
		p.m = map[string]peer{}
	}
	if _, ok := p.m[addr]; !ok && len(p.m) >= maxPeers {
		for k := range p.m { // evict one, arbitrarily
			delete(p.m, k)
			break
		}
	}
	p.m[addr] = pr
}

// TrustedPeerAddr reports whether the TLS (or WSS) connection from addr
// ("ip:port") presented a verified client certificate naming one of
// trusted_names. The gateway asks it only for requests that came over
// TLS or WSS.
func (s *Certificates) TrustedPeerAddr(addr string) bool {
	s.peers.mu.RLock()
	defer s.peers.mu.RUnlock()
	return s.peers.m[addr].trusted
}

// PeerNames returns the DNS and URI subject alternative names of the
// verified client certificate the TLS (or WSS) connection from addr
// ("ip:port") presented at its last handshake; nil when it presented none,
// or one client_ca does not verify. The gateway asks it only for requests
// that came over TLS or WSS (a trunk's tls_names).
func (s *Certificates) PeerNames(addr string) []string {
	s.peers.mu.RLock()
	defer s.peers.mu.RUnlock()
	return slices.Clone(s.peers.m[addr].names)
}

// verifiedNames are the DNS and URI subject alternative names of the leaf
// of the first verified chain (none without one).
func verifiedNames(chains [][]*x509.Certificate) []string {
	if len(chains) == 0 || len(chains[0]) == 0 {
		return nil
	}
	leaf := chains[0][0]
	names := slices.Clone(leaf.DNSNames)
	for _, u := range leaf.URIs {
		names = append(names, u.String())
	}
	return names
}

// withPeerCheck makes tc record, at each handshake, what the client's
// verified certificate says of its connection (nothing for a handshake
// without one: a stale entry of the same address goes).
func (s *Certificates) withPeerCheck(tc *stdtls.Config) {
	base := tc.Clone()
	tc.GetConfigForClient = func(hello *stdtls.ClientHelloInfo) (*stdtls.Config, error) {
		addr := hello.Conn.RemoteAddr().String()
		c := base.Clone()
		c.VerifyConnection = func(cs stdtls.ConnectionState) error {
			s.peers.record(addr, peer{trusted: s.cfg.TrustedPeer(cs.VerifiedChains), names: verifiedNames(cs.VerifiedChains)})
			return nil
		}
		return c, nil
	}
}
