package tls

import (
	"context"
	stdtls "crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3"
	"go.uber.org/zap"

	"github.com/sipedge/sipedge/internal/field"
)

// ACME obtains and renews certificates automatically from an ACME
// certificate authority (Let's Encrypt by default) with certmagic: the
// TLS-ALPN-01 challenge is answered on sipedge's own tls:// or wss://
// listener, which the CA must reach on challenge_port (443).
type ACME struct {
	// Names are the host names to obtain certificates for; each is served
	// to clients asking for it (SNI), before the certificates entries.
	// Setting names turns ACME on.
	Names []string `yaml:"names"`
	// Email is the account's contact address at the CA (expiry notices).
	Email string `yaml:"email"`
	// Directory is the CA's ACME directory URL. Default Let's Encrypt's
	// production directory.
	Directory string `yaml:"directory"`
	// DirectoryCA is a PEM bundle trusted for the directory's HTTPS (a
	// private CA, or a test server). Default: the system roots.
	DirectoryCA string `yaml:"directory_ca"`
	// Storage is the directory where account keys and certificates are
	// cached across restarts. Default /var/lib/sipedge/acme.
	Storage string `yaml:"storage"`
	// ChallengePort is the port the CA connects to for TLS-ALPN-01: one of
	// sipedge's tls:// or wss:// listeners must be on it. Default 443.
	ChallengePort int `yaml:"challenge_port"`
}

// DefaultACMEStorage is the default ACME.Storage.
const DefaultACMEStorage = "/var/lib/sipedge/acme"

func (a *ACME) setDefaults() {
	if len(a.Names) == 0 {
		return
	}
	if a.Directory == "" {
		a.Directory = certmagic.LetsEncryptProductionCA
	}
	if a.Storage == "" {
		a.Storage = DefaultACMEStorage
	}
	if a.ChallengePort == 0 {
		a.ChallengePort = 443
	}
}

func (a ACME) validate(l *field.List) {
	for i, n := range a.Names {
		if err := checkName(n); err != nil || strings.HasPrefix(n, "*") {
			l.Add(fmt.Sprintf("acme.names[%d]", i), n, "must be a host name (TLS-ALPN-01 cannot prove wildcards)")
		}
	}
	if a.Directory != "" {
		if u, err := url.Parse(a.Directory); err != nil || u.Scheme != "https" || u.Host == "" {
			l.Add("acme.directory", a.Directory, "must be an https:// URL")
		}
	}
	checkPool(l, "acme.directory_ca", a.DirectoryCA)
	if a.ChallengePort < 0 || a.ChallengePort > 65535 {
		l.Add("acme.challenge_port", a.ChallengePort, "must be a port number")
	}
}

// acmeManager is certmagic's cache and configuration for ACME.Names.
type acmeManager struct {
	cfg   ACME
	cache *certmagic.Cache
	magic *certmagic.Config
	names map[string]bool // lower case
	once  sync.Once
}

// newACME builds the manager; its cache runs certmagic's maintenance
// goroutine (renewals) until close.
func newACME(a ACME, log *slog.Logger) (*acmeManager, error) {
	m := &acmeManager{cfg: a, names: map[string]bool{}}
	for _, n := range a.Names {
		m.names[strings.ToLower(n)] = true
	}
	var roots *x509.CertPool
	if a.DirectoryCA != "" {
		pool, err := loadPool(a.DirectoryCA)
		if err != nil {
			return nil, err
		}
		roots = pool
	}
	onEvent := func(_ context.Context, event string, data map[string]any) error {
		switch event {
		case "cert_obtained":
			log.Info("acme certificate obtained", "identifier", data["identifier"], "renewal", data["renewal"], "issuer", data["issuer"])
		case "cert_failed":
			log.Error("acme certificate not obtained; will retry", "identifier", data["identifier"], "renewal", data["renewal"], "error", data["error"])
		}
		return nil
	}
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return m.magic, nil },
		Logger:           zap.NewNop(),
	})
	m.magic = certmagic.New(m.cache, certmagic.Config{
		Storage: &certmagic.FileStorage{Path: a.Storage},
		Logger:  zap.NewNop(),
		OnEvent: onEvent,
	})
	m.magic.Issuers = []certmagic.Issuer{certmagic.NewACMEIssuer(m.magic, certmagic.ACMEIssuer{
		CA: a.Directory, TestCA: a.Directory, Email: a.Email, Agreed: true,
		DisableHTTPChallenge: true, AltTLSALPNPort: a.ChallengePort, TrustedRoots: roots,
		Logger: zap.NewNop(),
	})}
	return m, nil
}

// manage obtains (or loads from storage) the certificates, in the
// background; failures are logged and retried by certmagic.
func (m *acmeManager) manage(ctx context.Context) error {
	return m.magic.ManageAsync(ctx, m.cfg.Names)
}

// handles reports whether a handshake is certmagic's: a TLS-ALPN-01
// challenge, or a name it manages.
func (m *acmeManager) handles(hello *stdtls.ClientHelloInfo) bool {
	if slices.Equal(hello.SupportedProtos, []string{acmez.ACMETLS1Protocol}) {
		return true
	}
	return m.names[strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))]
}

// close stops certmagic's maintenance and waits for it; idempotent.
func (m *acmeManager) close() { m.once.Do(m.cache.Stop) }
