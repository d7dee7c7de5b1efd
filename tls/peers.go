package tls

import (
	stdtls "crypto/tls"
	"sync"
)

// maxPeers caps the table of trusted TLS peers (one entry per connection
// of a trusted client; a stale one is overwritten by the next handshake
// from its address).
const maxPeers = 4096

// peers remembers which TLS connections, by remote address, presented a
// verified client certificate naming one of TrustedNames.
type peers struct {
	mu sync.RWMutex
	m  map[string]bool
}

func (p *peers) record(addr string, trusted bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !trusted {
		delete(p.m, addr)
		return
	}
	if p.m == nil {
		p.m = map[string]bool{}
	}
	if len(p.m) >= maxPeers {
		for k := range p.m { // evict one, arbitrarily
			delete(p.m, k)
			break
		}
	}
	p.m[addr] = true
}

// TrustedPeerAddr reports whether the TLS (or WSS) connection from addr
// ("ip:port") presented a verified client certificate naming one of
// trusted_names. The gateway asks it only for requests that came over
// TLS or WSS.
func (s *Certificates) TrustedPeerAddr(addr string) bool {
	s.peers.mu.RLock()
	defer s.peers.mu.RUnlock()
	return s.peers.m[addr]
}

// withPeerCheck makes tc record, at each handshake, whether the client's
// verified certificate makes its connection trusted.
func (s *Certificates) withPeerCheck(tc *stdtls.Config) {
	base := tc.Clone()
	tc.GetConfigForClient = func(hello *stdtls.ClientHelloInfo) (*stdtls.Config, error) {
		addr := hello.Conn.RemoteAddr().String()
		c := base.Clone()
		c.VerifyConnection = func(cs stdtls.ConnectionState) error {
			s.peers.record(addr, s.cfg.TrustedPeer(cs.VerifiedChains))
			return nil
		}
		return c, nil
	}
}
