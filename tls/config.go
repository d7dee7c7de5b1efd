// Package tls builds *crypto/tls.Config values for sipedge's TLS and WSS
// listeners from the operator's certificate files. Importers alias it as
// edgetls to keep crypto/tls readable.
package tls

import (
	stdtls "crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sipedge/sipedge/internal/field"
)

// Config names the certificates and keys served on TLS and WSS listeners.
type Config struct {
	// Cert is the PEM certificate chain file (leaf first, then the
	// intermediates: the whole chain is served). It is the default
	// certificate: served when the client sends no server name (SNI) or a
	// name no entry of certificates has. RSA or ECDSA.
	Cert string `yaml:"cert"`
	// Key is the PEM private key file for Cert.
	Key string `yaml:"key"`
	// Certificates are further certificates, each served to clients that
	// ask (SNI) for one of its names: an exact name (sip.example.com) or a
	// wildcard for one label (*.example.org matches a.example.org, not
	// example.org nor a.b.example.org). An exact name wins over a wildcard;
	// a name listed by several entries (an ECDSA and an RSA certificate)
	// gets the first the client supports. Without cert, the first entry is
	// the default.
	Certificates []Certificate `yaml:"certificates"`
	// ACME obtains certificates automatically (see ACME).
	ACME ACME `yaml:"acme"`
	// Watch is how often the certificate and key files are checked for a
	// change; a change (written in place or renamed into place, as certbot
	// does) reloads them all. A file that does not load keeps its old
	// certificate in service and is logged. SIGHUP reloads at once.
	// Default 2s; 100ms..1h.
	Watch time.Duration `yaml:"watch"`
	// CA is a PEM bundle of certificate authorities used to verify TLS next
	// hops (trunks, PBXs). Default: the system's roots.
	CA string `yaml:"ca"`
	// MinVersion is the oldest TLS version accepted and offered: "1.2"
	// (default) or "1.3".
	MinVersion string `yaml:"min_version"`
	// ClientCert and ClientKey are the PEM certificate chain and key
	// presented to TLS next hops that ask for one (mutual TLS toward a
	// trunk). Default none.
	ClientCert string `yaml:"client_cert"`
	ClientKey  string `yaml:"client_key"`
	// ClientAuth is whether tls:// and wss:// listeners ask clients for a
	// certificate: "none" (default), "request" (verified against
	// client_ca if one is sent) or "require" (a handshake without a
	// certificate client_ca verifies fails).
	ClientAuth string `yaml:"client_auth"`
	// ClientCA is the PEM bundle client certificates are verified
	// against. Required with client_auth request or require.
	ClientCA string `yaml:"client_ca"`
	// TrustedNames are DNS names (or *.domain wildcards): a connection
	// whose verified client certificate has one among its subject
	// alternative names is trusted like a trusted network (its requests
	// other than REGISTER need no digest). Needs client_auth.
	TrustedNames []string `yaml:"trusted_names"`
}

// Certificate is one certificate chain and key served for names (SNI).
type Certificate struct {
	// Names are the server names (SNI) this certificate is served for:
	// host names or *.domain wildcards. Required.
	Names []string `yaml:"names"`
	// Cert is the PEM certificate chain file (leaf first). Required.
	Cert string `yaml:"cert"`
	// Key is the PEM private key file for Cert. Required.
	Key string `yaml:"key"`
}

// DefaultWatch is the default Watch interval.
const DefaultWatch = 2 * time.Second

// SetDefaults fills zero fields with their documented defaults.
func (c *Config) SetDefaults() {
	if c.Watch == 0 {
		c.Watch = DefaultWatch
	}
	c.ACME.setDefaults()
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
func (c Config) Enabled() bool {
	return c.Cert != "" || c.Key != "" || len(c.Certificates) > 0 || len(c.ACME.Names) > 0
}

// Validate reports every problem with the files at once.
func (c Config) Validate() error {
	var l field.List
	if c.Cert != "" || c.Key != "" {
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
	for i, p := range c.Certificates {
		validatePair(&l, fmt.Sprintf("certificates[%d]", i), p)
	}
	if c.Watch != 0 && (c.Watch < 100*time.Millisecond || c.Watch > time.Hour) {
		l.Add("watch", c.Watch, "must be between 100ms and 1h")
	}
	switch c.MinVersion {
	case "", "1.2", "1.3":
	default:
		l.Add("min_version", c.MinVersion, `must be "1.2" or "1.3"`)
	}
	checkPool(&l, "ca", c.CA)
	c.validateMutual(&l)
	c.ACME.validate(&l)
	return l.Err()
}

// checkPool checks that file, if set, is a readable PEM bundle.
func checkPool(l *field.List, name, file string) {
	if file == "" {
		return
	}
	if b, err := os.ReadFile(file); err != nil {
		l.Add(name, file, "cannot read: %v", err)
	} else if !x509.NewCertPool().AppendCertsFromPEM(b) {
		l.Add(name, file, "holds no PEM certificate")
	}
}

// validatePair checks one entry of certificates: names that are host
// names or one-label wildcards, files that load together.
func validatePair(l *field.List, path string, p Certificate) {
	if len(p.Names) == 0 {
		l.Add(path+".names", nil, "required: the server names (SNI) this certificate is for")
	}
	for j, n := range p.Names {
		if err := checkName(n); err != nil {
			l.Add(fmt.Sprintf("%s.names[%d]", path, j), n, "%v", err)
		}
	}
	ok := true
	for _, f := range []struct{ key, file string }{{"cert", p.Cert}, {"key", p.Key}} {
		if f.file == "" {
			l.Add(path+"."+f.key, nil, "required")
			ok = false
		} else if _, err := os.Stat(f.file); err != nil {
			l.Add(path+"."+f.key, f.file, "cannot read: %v", err)
			ok = false
		}
	}
	if ok {
		if _, err := stdtls.LoadX509KeyPair(p.Cert, p.Key); err != nil {
			l.Add(path+".cert", p.Cert, "does not load with key %s: %v", p.Key, err)
		}
	}
}

// checkName accepts a DNS host name or "*." and one.
func checkName(n string) error {
	host := strings.TrimPrefix(n, "*.")
	if host == "" || strings.Contains(host, "*") {
		return ErrBadName
	}
	if len(host) > 253 {
		return ErrBadName
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return ErrBadName
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return ErrBadName
			}
		}
	}
	return nil
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
		pool, err := loadPool(c.CA)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = pool
	}
	if c.ClientCert != "" {
		cert, err := stdtls.LoadX509KeyPair(c.ClientCert, c.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("tls: client certificate %s with key %s: %w", c.ClientCert, c.ClientKey, err)
		}
		tc.Certificates = []stdtls.Certificate{cert}
	}
	return tc, nil
}

// loadPool reads a PEM bundle of certificate authorities.
func loadPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("tls: %s: %w", file, ErrNoCertificate)
	}
	return pool, nil
}
