package gateway

import (
	"errors"
	"fmt"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/auth"
	"github.com/sipedge/sipedge/gateway/status"
)

// authenticate checks the request's digest credentials (proxy selects
// Proxy-Authorization/407, else Authorization/401) and returns the user, or
// a *status.Error carrying the challenge or the refusal.
func (g *Gateway) authenticate(req *sip.Request, proxy bool) (string, error) {
	a := g.rules().auth
	user, err := a.Check(req, proxy)
	if err == nil {
		g.banVouch(req)
		return user, nil
	}
	switch stale := errors.Is(err, auth.ErrStale); {
	case stale || errors.Is(err, auth.ErrNoCredentials):
		code, reason := auth.ChallengeStatus(proxy)
		return "", status.New(code, reason, fmt.Errorf("%w: %w", ErrAuthRequired, err), a.ChallengeHeaders(proxy, stale)...)
	case errors.Is(err, auth.ErrMalformed):
		g.metrics.AuthFailure()
		return "", status.New(400, "Bad Authorization Header", fmt.Errorf("%w: %w", ErrAuthRequired, err))
	}
	// Wrong password, unknown user, replayed nonce count: refuse.
	g.metrics.AuthFailure()
	g.banAuthFailed(req)
	return "", status.New(403, "Forbidden", fmt.Errorf("%w: %w", ErrForbidden, err))
}

// authorize authenticates an initial request from an untrusted source and
// checks that the From user is the authenticated one (no spoofing, no
// open relay).
func (g *Gateway) authorize(req *sip.Request, proxy bool) error {
	user, err := g.authenticate(req, proxy)
	if err != nil {
		return err
	}
	if from := req.From(); from == nil || from.Address.User != user || !g.self.IsLocal(from.Address.Host) {
		return status.New(403, "Forbidden", fmt.Errorf("%w: From does not match authenticated user %s", ErrForbidden, user))
	}
	return nil
}
