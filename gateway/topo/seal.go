package topo

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// MinSecret is the shortest secret New accepts.
const MinSecret = 16

// Hider seals inside addresses into tokens and opens them again. It is
// safe for concurrent use and never changes: a new secret makes a new
// Hider (Rekey).
type Hider struct {
	aead cipher.AEAD // seals, and opens first
	prev cipher.AEAD // the key before the last Rekey: opens only (nil: none)
}

// New makes a Hider keyed by secret (SHA-256 of it). An empty secret picks
// a random key: tokens then stay valid only while this process runs, and
// only on this node (set a shared secret for a cluster or for dialogs that
// must outlive a restart).
func New(secret string) (*Hider, error) {
	aead, err := newAEAD(secret)
	if err != nil {
		return nil, err
	}
	return &Hider{aead: aead}, nil
}

// Rekey returns a Hider that seals with secret's key (a random one for
// "") and opens tokens of either that key or h's sealing key, so that the
// dialogs in progress, whose tokens h sealed, keep routing. Only one key
// back is kept: a token from two rekeys ago no longer opens.
func (h *Hider) Rekey(secret string) (*Hider, error) {
	aead, err := newAEAD(secret)
	if err != nil {
		return nil, err
	}
	return &Hider{aead: aead, prev: h.aead}, nil
}

// newAEAD is AES-256-GCM keyed by SHA-256 of secret, or a random key.
func newAEAD(secret string) (cipher.AEAD, error) {
	var key [32]byte
	switch {
	case secret == "":
		if _, err := rand.Read(key[:]); err != nil {
			return nil, fmt.Errorf("topo: random key: %w", err)
		}
	case len(secret) < MinSecret:
		return nil, fmt.Errorf("%w: %d bytes, want at least %d", ErrSecret, len(secret), MinSecret)
	default:
		key = sha256.Sum256([]byte(secret))
	}
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("topo: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("topo: %w", err)
	}
	return aead, nil
}

// sep joins sealed values: no URI or header value holds a line feed.
const sep = "\n"

// Seal encrypts vals into a URI-safe token (base64url without padding).
func (h *Hider) Seal(vals []string) string {
	plain := strings.Join(vals, sep)
	ns := h.aead.NonceSize()
	buf := make([]byte, ns, ns+len(plain)+h.aead.Overhead())
	_, _ = rand.Read(buf) // crypto/rand.Read never fails (Go 1.24)
	buf = h.aead.Seal(buf, buf[:ns], []byte(plain), nil)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// Open decrypts a token made by Seal with the same key (or, after Rekey,
// the key before).
func (h *Hider) Open(tok string) ([]string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrToken, err)
	}
	ns := h.aead.NonceSize()
	if len(raw) < ns+h.aead.Overhead() {
		return nil, fmt.Errorf("%w: %d bytes", ErrToken, len(raw))
	}
	plain, err := h.aead.Open(nil, raw[:ns], raw[ns:], nil)
	if err != nil && h.prev != nil {
		plain, err = h.prev.Open(nil, raw[:ns], raw[ns:], nil)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrToken, err)
	}
	if len(plain) == 0 {
		return nil, nil
	}
	return strings.Split(string(plain), sep), nil
}
