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

	"github.com/sipedge/sipedge/internal/field"
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
	// MinVersion is the oldest TLS version accepted and offered: "1.2"
	// (default) or "1.3".
	MinVersion string `yaml:"min_version"`
}

// SetDefaults fills zero fields with their documented defaults.
func (c *Config) SetDefaults() {
	if c.MinVersion == "" {
		c.MinVersion = "1.2"
	}
}

// minVersion returns MinVersion as a crypto/tls constant (TLS 1.2 when
// unset or unknown; Validate reports unknown values).
func (c Config) minVersion() uint16 {
	if c.MinVersion == "1.3" {
		return stdtls.VersionTLS13
	}
	return stdtls.VersionTLS12
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
	switch c.MinVersion {
	case "", "1.2", "1.3":
	default:
		l.Add("min_version", c.MinVersion, `must be "1.2" or "1.3"`)
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
// serving it (see Certificates for one that can be reloaded).
func (c Config) ServerConfig() (*stdtls.Config, error) {
	certs, err := c.LoadCertificates()
	if err != nil {
		return nil, err
	}
	return certs.ServerConfig(), nil
}

// ClientConfig returns the configuration used to dial TLS next hops:
// MinVersion or later, verified against CA (or the system roots).
func (c Config) ClientConfig() (*stdtls.Config, error) {
	tc := &stdtls.Config{MinVersion: c.minVersion()}
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
