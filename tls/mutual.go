package tls

import (
	stdtls "crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/sipedge/sipedge/internal/field"
)

// Mutual TLS: listeners that ask clients for certificates (ClientAuth,
// ClientCA), names that make a verified client trusted (TrustedNames), and
// the client side toward next hops (ClientCert/ClientKey here, Client for
// a next hop of its own, e.g. a trunk).

// validateMutual checks the mutual TLS fields.
func (c Config) validateMutual(l *field.List) {
	switch c.ClientAuth {
	case "", "none":
		if len(c.TrustedNames) > 0 {
			l.Add("trusted_names", nil, `needs client_auth "request" or "require" (no client certificate is asked for)`)
		}
	case "request", "require":
		if c.ClientCA == "" {
			l.Add("client_ca", nil, "required with client_auth %s", c.ClientAuth)
		}
	default:
		l.Add("client_auth", c.ClientAuth, `must be "none", "request" or "require"`)
	}
	checkPool(l, "client_ca", c.ClientCA)
	checkKeyPair(l, "client_cert", "client_key", c.ClientCert, c.ClientKey)
	for i, n := range c.TrustedNames {
		if err := checkName(n); err != nil {
			l.Add(fmt.Sprintf("trusted_names[%d]", i), n, "%v", err)
		}
	}
}

// checkKeyPair checks an optional certificate and key given together.
func checkKeyPair(l *field.List, certKey, keyKey, cert, key string) {
	switch {
	case cert == "" && key == "":
		return
	case cert == "":
		l.Add(certKey, nil, "required when %s is set", keyKey)
		return
	case key == "":
		l.Add(keyKey, nil, "required when %s is set", certKey)
		return
	}
	for _, f := range [][2]string{{certKey, cert}, {keyKey, key}} {
		if _, err := os.Stat(f[1]); err != nil {
			l.Add(f[0], f[1], "cannot read: %v", err)
			return
		}
	}
	if _, err := stdtls.LoadX509KeyPair(cert, key); err != nil {
		l.Add(certKey, cert, "does not load with key %s: %v", key, err)
	}
}

// TrustedPeer reports whether a connection whose verified client chains
// are chains is trusted: its leaf names one of TrustedNames among its DNS
// subject alternative names. An unverified certificate never is.
func (c Config) TrustedPeer(chains [][]*x509.Certificate) bool {
	if len(chains) == 0 || len(chains[0]) == 0 || len(c.TrustedNames) == 0 {
		return false
	}
	return slices.ContainsFunc(chains[0][0].DNSNames, func(san string) bool {
		return slices.ContainsFunc(c.TrustedNames, func(n string) bool { return nameMatches(n, san) })
	})
}

// nameMatches reports whether pattern (a name or *.domain) matches name.
func nameMatches(pattern, name string) bool {
	pattern, name = strings.ToLower(pattern), strings.ToLower(strings.TrimSuffix(name, "."))
	if rest, ok := strings.CutPrefix(pattern, "*."); ok {
		_, tail, ok := strings.Cut(name, ".")
		return ok && tail == rest
	}
	return pattern == name
}

// Client is the TLS setting of one next hop of its own (a trunk): whom to
// trust, the name to verify, and the certificate to present.
type Client struct {
	// CA is a PEM bundle the next hop's certificate is verified against.
	// Default: the system roots.
	CA string `yaml:"ca"`
	// ServerName is the name the next hop's certificate must carry (and
	// the SNI sent). Default: the host of the next hop's URI.
	ServerName string `yaml:"server_name"`
	// Cert and Key are the PEM client certificate chain and key presented
	// when the next hop asks for one. Default none.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Validate reports every problem with cl's files at once.
func (cl Client) Validate() error {
	var l field.List
	checkPool(&l, "ca", cl.CA)
	checkKeyPair(&l, "cert", "key", cl.Cert, cl.Key)
	if cl.ServerName != "" {
		if err := checkName(cl.ServerName); err != nil || strings.HasPrefix(cl.ServerName, "*") {
			l.Add("server_name", cl.ServerName, "must be a host name")
		}
	}
	return l.Err()
}

// ClientFor returns the configuration for dialing a next hop with cl's
// settings, c's minimum version; unset fields of cl fall back to c's
// (ca, client_cert/client_key). The certificate is verified always.
func (c Config) ClientFor(cl Client) (*stdtls.Config, error) {
	base := c
	if cl.CA != "" {
		base.CA = cl.CA
	}
	if cl.Cert != "" {
		base.ClientCert, base.ClientKey = cl.Cert, cl.Key
	}
	tc, err := base.ClientConfig()
	if err != nil {
		return nil, err
	}
	tc.ServerName = cl.ServerName
	return tc, nil
}
