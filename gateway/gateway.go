// Package gateway is sipedge's proxy core. It owns the sipgo user agent,
// opens the UDP, TCP and TLS listeners, and runs every request through one
// pipeline: sanity checks, Max-Forwards and loop detection, loose routing,
// authentication, the registrar or the routes, stateful forwarding with
// Record-Route, and response relay with best-response selection.
package gateway

import (
	"context"
	stdtls "crypto/tls"
	"errors"
	"log/slog"
)

// Deps are the gateway's collaborators, built by cmd.
type Deps struct {
	// Logger receives all log output; a "component" attribute is added.
	Logger *slog.Logger
	// Listeners are the SIP sockets to open.
	Listeners []Listener
	// TLS is the server configuration for tls listeners (nil if none).
	TLS *stdtls.Config
	// Ready, if set, is called once every listener is bound, with the
	// actual addresses (useful with port 0).
	Ready func(bound []Listener)
}

// Gateway is a running proxy core.
type Gateway struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
}

// ErrNoListener is returned by New when no listener is given.
var ErrNoListener = errors.New("gateway: no listener")

// New builds a gateway from a validated configuration.
func New(cfg Config, deps Deps) (*Gateway, error) {
	if len(deps.Listeners) == 0 {
		return nil, ErrNoListener
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	return &Gateway{cfg: cfg, deps: deps, log: deps.Logger.With("component", "gateway")}, nil
}

// Run serves until ctx is done.
func (g *Gateway) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
