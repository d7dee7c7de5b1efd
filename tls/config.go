// Package tls builds *crypto/tls.Config values for sipedge's TLS and WSS
// listeners from the operator's certificate files. Importers alias it as
// edgetls to keep crypto/tls readable.
package tls

import (
	stdtls "crypto/tls"
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
}

// Enabled reports whether a certificate is configured.
func (c Config) Enabled() bool { return c.Cert != "" || c.Key != "" }

// Validate reports every problem with the files at once.
func (c Config) Validate() error {
	var l field.List
	if !c.Enabled() {
		return nil
	}
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
