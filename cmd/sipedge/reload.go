package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/sipedge/sipedge/config"
	"github.com/sipedge/sipedge/gateway"
	"github.com/sipedge/sipedge/gateway/admin"
	edgetls "github.com/sipedge/sipedge/tls"
)

// reloader is the configuration reload that SIGHUP and the admin API's
// reload both run, one at a time: the file is loaded and checked as
// `sipedge check` does, and a file with problems changes nothing (the
// error lists them, one per file:line:field); then the rules (routes,
// destination sets, users, trunks) are swapped in at once, the trunk
// registrations follow the new trunks, and the TLS certificate is
// reloaded. Calls in progress keep their route;
// connections already up keep their certificate.
func reloader(path string, certs *edgetls.Certificates, gw *gateway.Gateway, log *slog.Logger) admin.ReloadFunc {
	var mu sync.Mutex
	return func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		cfg, err := config.Load(path)
		if err != nil {
			return fmt.Errorf("config reload refused, nothing changed: %w", err)
		}
		if err := gw.Reload(cfg.Gateway); err != nil {
			return fmt.Errorf("config reload refused, nothing changed: %w", err)
		}
		log.Info("rules reloaded: routes, destination sets, users and trunks in effect")
		if certs == nil {
			log.Info("reload: no tls certificate configured, nothing to reload for tls")
			return nil
		}
		if err := certs.Reload(); err != nil {
			return fmt.Errorf("rules reloaded, but the tls certificate reload failed (the old one stays in use): %w", err)
		}
		log.Info("tls certificate reloaded", "subject", certs.Subject(), "not_after", certs.NotAfter())
		return nil
	}
}
