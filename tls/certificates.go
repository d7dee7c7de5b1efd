package tls

import (
	"context"
	stdtls "crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mholt/acmez/v3"
)

// Certificates holds the certificates served on TLS and WSS listeners:
// the default pair (cert, key) and the pairs of certificates, chosen at
// each handshake by the name the client asks for (SNI). Reload reads the
// files again and swaps the whole set for new handshakes; connections
// already up keep theirs, so a renewal drops no WebSocket. Safe for
// concurrent use.
type Certificates struct {
	cfg       Config
	clientCAs *x509.CertPool // client_ca, loaded once; nil without client_auth
	peers     peers          // connections with a verified client certificate
	acme      *acmeManager   // nil without acme.names
	mu        sync.Mutex     // serialises Reload (the watcher, SIGHUP, the admin API)
	// loaded are the stamps of the files as the last Reload found them
	// (taken before reading them); guarded by mu.
	loaded []stamp
	cur    atomic.Pointer[certSet]
}

// certSet is one immutable generation of loaded certificates.
type certSet struct {
	pairs []*stdtls.Certificate // [0] is the default; then cfg.Certificates in order
	// exact maps a lower-case name to the pairs naming it, in file order;
	// wild maps the part after "*." likewise.
	exact, wild map[string][]*stdtls.Certificate
}

// LoadCertificates reads c's certificates and keys (every pair must load)
// and, with acme.names, sets up certmagic (call ManageACME to obtain the
// certificates, Close to stop its renewals). log gets ACME's events.
func (c Config) LoadCertificates() (*Certificates, error) {
	return c.LoadCertificatesLog(nil)
}

// LoadCertificatesLog is LoadCertificates with a logger for ACME events
// (nil: discarded).
func (c Config) LoadCertificatesLog(log *slog.Logger) (*Certificates, error) {
	s := &Certificates{cfg: c}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	if len(c.ACME.Names) > 0 {
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		a := c.ACME
		a.setDefaults()
		m, err := newACME(a, log)
		if err != nil {
			return nil, err
		}
		s.acme = m
	}
	if c.ClientAuth == "request" || c.ClientAuth == "require" {
		pool, err := loadPool(c.ClientCA)
		if err != nil {
			return nil, err
		}
		s.clientCAs = pool
	}
	return s, nil
}

// pairFiles lists the (cert, key) files in the order of certSet.pairs.
func (c Config) pairFiles() [][2]string {
	var out [][2]string
	if c.Cert != "" {
		out = append(out, [2]string{c.Cert, c.Key})
	}
	for _, p := range c.Certificates {
		out = append(out, [2]string{p.Cert, p.Key})
	}
	return out
}

// Reload reads every certificate and key file again. A pair that fails to
// load keeps the certificate it had (the first load has none to keep and
// fails); the error names each such file. The others are renewed.
func (s *Certificates) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cur.Load()
	s.loaded = stamps(s.cfg.watchedFiles())
	files := s.cfg.pairFiles()
	pairs := make([]*stdtls.Certificate, len(files))
	var errs []error
	for i, f := range files {
		cert, err := stdtls.LoadX509KeyPair(f[0], f[1])
		if err != nil {
			errs = append(errs, fmt.Errorf("tls: load %s with key %s: %w", f[0], f[1], err))
			if old == nil {
				continue
			}
			pairs[i] = old.pairs[i]
			continue
		}
		pairs[i] = &cert
	}
	if old == nil && len(errs) > 0 {
		return errors.Join(errs...)
	}
	if len(pairs) == 0 && len(s.cfg.ACME.Names) == 0 {
		return fmt.Errorf("tls: %w", ErrNoCertificate)
	}
	s.cur.Store(s.index(pairs))
	return errors.Join(errs...)
}

// index builds the name lookup for pairs.
func (s *Certificates) index(pairs []*stdtls.Certificate) *certSet {
	set := &certSet{pairs: pairs, exact: map[string][]*stdtls.Certificate{}, wild: map[string][]*stdtls.Certificate{}}
	off := 0
	if s.cfg.Cert != "" {
		off = 1
	}
	for i, p := range s.cfg.Certificates {
		for _, n := range p.Names {
			n = strings.ToLower(n)
			if rest, ok := strings.CutPrefix(n, "*."); ok {
				set.wild[rest] = append(set.wild[rest], pairs[off+i])
			} else {
				set.exact[n] = append(set.exact[n], pairs[off+i])
			}
		}
	}
	return set
}

// pick returns the certificate for a handshake: an exact name match, else
// a wildcard matching the first label, else the default; among several for
// the same name the first the client supports (an ECDSA and an RSA one).
func (set *certSet) pick(hello *stdtls.ClientHelloInfo) *stdtls.Certificate {
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if name != "" {
		if c := supported(hello, set.exact[name]); c != nil {
			return c
		}
		if _, rest, ok := strings.Cut(name, "."); ok {
			if c := supported(hello, set.wild[rest]); c != nil {
				return c
			}
		}
	}
	if len(set.pairs) == 0 {
		return nil // ACME only, and a name it does not manage
	}
	return set.pairs[0]
}

// supported is the first of cs the client can use, else the first, else nil.
func supported(hello *stdtls.ClientHelloInfo, cs []*stdtls.Certificate) *stdtls.Certificate {
	if len(cs) == 0 {
		return nil
	}
	if len(cs) > 1 {
		for _, c := range cs {
			if hello.SupportsCertificate(c) == nil {
				return c
			}
		}
	}
	return cs[0]
}

// Subject and NotAfter describe the default leaf certificate, for logs
// ("" and zero with ACME alone).
func (s *Certificates) Subject() string {
	if p := s.cur.Load().pairs; len(p) > 0 {
		return p[0].Leaf.Subject.String()
	}
	return ""
}

// NotAfter is when the default leaf certificate expires.
func (s *Certificates) NotAfter() time.Time {
	if p := s.cur.Load().pairs; len(p) > 0 {
		return p[0].Leaf.NotAfter
	}
	return time.Time{}
}

// Count is how many certificate pairs are loaded (the default included).
func (s *Certificates) Count() int { return len(s.cur.Load().pairs) }

// Certificate returns the certificate a handshake asking for serverName
// gets ("" for no SNI).
func (s *Certificates) Certificate(serverName string) *stdtls.Certificate {
	return s.cur.Load().pick(&stdtls.ClientHelloInfo{ServerName: serverName})
}

// ServerConfig returns a server configuration that picks the current
// certificate at each handshake, with the configured minimum version and
// client certificate policy (client_auth, client_ca).
func (s *Certificates) ServerConfig() *stdtls.Config {
	tc := &stdtls.Config{
		MinVersion: s.cfg.minVersion(),
		GetCertificate: func(hello *stdtls.ClientHelloInfo) (*stdtls.Certificate, error) {
			if s.acme != nil && s.acme.handles(hello) {
				return s.acme.magic.GetCertificate(hello)
			}
			if c := s.cur.Load().pick(hello); c != nil {
				return c, nil
			}
			return nil, ErrNoCertificate
		},
	}
	switch s.cfg.ClientAuth {
	case "request":
		tc.ClientAuth, tc.ClientCAs = stdtls.VerifyClientCertIfGiven, s.clientCAs
	case "require":
		tc.ClientAuth, tc.ClientCAs = stdtls.RequireAndVerifyClientCert, s.clientCAs
	}
	if tc.ClientCAs != nil {
		s.withPeerCheck(tc) // trusted_names, and trunks' tls_names (PeerNames)
	}
	if s.acme != nil {
		s.withACMEChallenge(tc)
	}
	return tc
}

// withACMEChallenge makes tc answer TLS-ALPN-01 challenges: a ClientHello
// offering only "acme-tls/1" gets a configuration that negotiates it
// (others are left without ALPN, as before).
func (s *Certificates) withACMEChallenge(tc *stdtls.Config) {
	prev := tc.GetConfigForClient
	base := tc.Clone()
	tc.GetConfigForClient = func(hello *stdtls.ClientHelloInfo) (*stdtls.Config, error) {
		if len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acmez.ACMETLS1Protocol {
			c := base.Clone()
			c.NextProtos = []string{acmez.ACMETLS1Protocol}
			c.GetConfigForClient = nil
			c.ClientAuth = stdtls.NoClientCert
			return c, nil
		}
		if prev != nil {
			return prev(hello)
		}
		return nil, nil
	}
}

// ManageACME starts obtaining the acme.names certificates (or loads them
// from storage) in the background, once the listeners that answer the
// challenge are up; certmagic renews them before expiry until Close.
// Without acme.names it does nothing.
func (s *Certificates) ManageACME(ctx context.Context) error {
	if s.acme == nil {
		return nil
	}
	return s.acme.manage(ctx)
}

// Close stops ACME renewals and waits for them. Idempotent.
func (s *Certificates) Close() {
	if s.acme != nil {
		s.acme.close()
	}
}
