// Package tls builds *crypto/tls.Config values for sipedge's TLS and WSS
// listeners from the operator's certificate files. Importers alias it as
// edgetls to keep crypto/tls readable.
package tls

import (
	stdtls "crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/sipedge/sipedge/config/field"
)

// Config names the certificate and key served on TLS and WSS listeners.
type Config struct {
	// Cert is the PEM certificate chain file (leaf first).
	Cert string `yaml:"cert"`
	// Key is the PEM private key file for Cert.
	Key string `yaml:"key"`
	// CA is a PEM bundle of certificate authorities used to verify TLS next
	// hops (trunks, PBXs). Default: the system's roots.
	CA string `yaml:"ca"`
}

// Enabled reports whether a certificate is configured.
func (c Config) Enabled() bool { return c.Cert != "" || c.Key != "" }

// Validate reports every problem with the files at once.
func (c Config) Validate() error {
	var l field.List
	if c.Enabled() {
		if c.Cert == "" {
			l.Add("cert", nil, "required when key is set")
		} else if _, err := os.Stat(c.Cert); err != nil {
			l.Add("cert", c.Cert, "cannot read: %v", err)
		}
		if c.Key == "" {
			l.Add("key", nil, "required when cert is set")
		} else if _, err := os.Stat(c.Key); err != nil {
			l.Add("key", c.Key, "cannot read: %v", err)
		}
		if l.Err() == nil {
			if _, err := stdtls.LoadX509KeyPair(c.Cert, c.Key); err != nil {
				l.Add("cert", c.Cert, "does not load with key %s: %v", c.Key, err)
			}
		}
	}
	if c.CA != "" {
		if b, err := os.ReadFile(c.CA); err != nil {
			l.Add("ca", c.CA, "cannot read: %v", err)
		} else if !x509.NewCertPool().AppendCertsFromPEM(b) {
			l.Add("ca", c.CA, "holds no PEM certificate")
		}
	}
	return l.Err()
}

// ServerConfig loads the certificate and returns a server configuration
// with TLS 1.2 as the minimum version.
func (c Config) ServerConfig() (*stdtls.Config, error) {
	cert, err := stdtls.LoadX509KeyPair(c.Cert, c.Key)
	if err != nil {
		return nil, fmt.Errorf("tls: load %s: %w", c.Cert, err)
	}
	return &stdtls.Config{
		Certificates: []stdtls.Certificate{cert},
		MinVersion:   stdtls.VersionTLS12,
	}, nil
}

// ClientConfig returns the configuration used to dial TLS next hops: TLS
// 1.2 or later, verified against CA (or the system roots).
func (c Config) ClientConfig() (*stdtls.Config, error) {
	tc := &stdtls.Config{MinVersion: stdtls.VersionTLS12}
	if c.CA != "" {
		b, err := os.ReadFile(c.CA)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("tls: %s: %w", c.CA, ErrNoCertificate)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// ErrNoCertificate is returned when a PEM file holds no certificate.
var ErrNoCertificate = errors.New("tls: no PEM certificate")
