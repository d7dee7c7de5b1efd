package tls

import (
	stdtls "crypto/tls"
	"fmt"
	"sync/atomic"
	"time"
)

// Certificates is the certificate served on TLS and WSS listeners. Reload
// reads the files again and swaps the certificate for new handshakes;
// connections already up keep theirs, so a renewal drops no WebSocket.
// Safe for concurrent use.
type Certificates struct {
	cfg Config
	cur atomic.Pointer[stdtls.Certificate]
}

// LoadCertificates reads c's certificate and key.
func (c Config) LoadCertificates() (*Certificates, error) {
	s := &Certificates{cfg: c}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload reads the certificate and key files again. On any error the
// certificate in use stays and the error names the file.
func (s *Certificates) Reload() error {
	cert, err := stdtls.LoadX509KeyPair(s.cfg.Cert, s.cfg.Key)
	if err != nil {
		return fmt.Errorf("tls: load %s with key %s: %w", s.cfg.Cert, s.cfg.Key, err)
	}
	s.cur.Store(&cert)
	return nil
}

// Subject and NotAfter describe the leaf certificate in use, for logs.
func (s *Certificates) Subject() string { return s.cur.Load().Leaf.Subject.String() }

// NotAfter is when the leaf certificate in use expires.
func (s *Certificates) NotAfter() time.Time { return s.cur.Load().Leaf.NotAfter }

// ServerConfig returns a server configuration that serves the current
// certificate at each handshake, with the configured minimum version.
func (s *Certificates) ServerConfig() *stdtls.Config {
	return &stdtls.Config{
		MinVersion: s.cfg.minVersion(),
		GetCertificate: func(*stdtls.ClientHelloInfo) (*stdtls.Certificate, error) {
			return s.cur.Load(), nil
		},
	}
}
