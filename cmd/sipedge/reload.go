package main

import (
	"github.com/sipedge/sipedge/config"
	"github.com/sipedge/sipedge/gateway"
)

// reloadRules re-reads the configuration file at path with the checks of
// `sipedge check` and hands its rules (routes, destination sets, users)
// to the running gateway, which swaps them in atomically. A file with any
// problem is refused whole, with every file:line:field problem in the
// error, and the rules in effect stay. SIGHUP calls it (and an admin
// endpoint may).
func reloadRules(path string, gw *gateway.Gateway) error {
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	return gw.Reload(cfg.Gateway)
}
