package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"
)

// Shared makes the nonces of one node verifiable by every node of a
// cluster (cluster.Store provides it): a REGISTER challenged by one node
// may be answered to another behind a load balancer.
type Shared interface {
	// NonceKey is the key every node signs nonces with (32 bytes).
	NonceKey() []byte
	// UseNonce records nonce-count nc for the nonce id cluster-wide, the
	// record living ttl: fresh is false when nc is not above the highest
	// count any node accepted (a replay). An error means the shared record
	// could not be consulted: the node's own table decides alone.
	UseNonce(id string, nc uint32, ttl time.Duration) (fresh bool, err error)
}

// Option changes how New builds an Authenticator.
type Option func(*Authenticator)

// WithShared signs nonces with the cluster's key and checks nonce-counts
// cluster-wide as well as in the node's own table.
func WithShared(s Shared) Option {
	return func(a *Authenticator) { a.shared = s }
}

// sharedOpaque derives the opaque value from the cluster key, so every
// node sends and accepts the same one.
func sharedOpaque(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("sipedge opaque"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// useShared checks nc for the nonce id against the cluster's record.
func (a *Authenticator) useShared(id nonceID, nc uint32) error {
	fresh, err := a.shared.UseNonce(base64.RawURLEncoding.EncodeToString(id[:]), nc, a.nonces.ttl)
	if err != nil {
		a.log.Debug("shared nonce record unavailable: this node's table decides", "error", err)
		return nil
	}
	if !fresh {
		return ErrReplay
	}
	return nil
}
