package registrar

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Registrar is the location service: the single owner of registrations.
// It is safe for concurrent use.
type Registrar struct {
	cfg   Config
	store Store
	log   *slog.Logger
}

// New returns a Registrar over store (a memory store when nil). cfg gets
// its defaults and is forced into a usable shape; run cfg.Validate first to
// report a bad configuration to the operator.
func New(cfg Config, store Store, log *slog.Logger) *Registrar {
	cfg.clamp()
	if store == nil {
		store = NewMemoryStore()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Registrar{cfg: cfg, store: store, log: log.With("component", "registrar")}
}

// Config returns the effective configuration (after defaults).
func (r *Registrar) Config() Config { return r.cfg }

// Register applies one REGISTER (already authenticated) for aor, received
// from src, at time now, and returns all current bindings of the AOR after
// the change, ordered as Lookup orders them (use ResponseContact for the
// 200 OK). It implements RFC 3261 §10.3 steps 6-8 with RFC 5626
// instance/reg-id matching; a request without Contact is a query. Errors
// (see StatusCode): ErrBadContact, ErrBadRequest, *IntervalError,
// ErrOutOfOrder, ErrTooManyContacts. On error nothing changes.
func (r *Registrar) Register(req *sip.Request, aor string, src Source, now time.Time) ([]Binding, error) {
	reg, err := r.parseRegister(req)
	if err != nil {
		return nil, err
	}
	if !reg.wildcard && len(reg.contacts) == 0 {
		return r.Lookup(aor, now), nil
	}
	if len(reg.contacts) > r.cfg.MaxContacts {
		return nil, ErrTooManyContacts
	}
	var out []Binding
	err = r.store.Update(aor, func(cur []Binding) ([]Binding, error) {
		next, err := r.apply(cur, &reg, aor, src, now)
		out = next
		return next, err
	})
	if err != nil {
		return nil, err
	}
	if r.log.Enabled(context.Background(), slog.LevelDebug) {
		r.log.Debug("register", "aor", aor, "call_id", reg.callID, "src", src.Addr,
			"transport", src.Transport, "flow", src.FlowID, "contacts", len(reg.contacts), "bindings", len(out))
	}
	return sorted(out), nil
}

// apply computes the new bindings of aor from the current ones. It runs
// under the store's lock, so it only computes.
func (r *Registrar) apply(cur []Binding, reg *register, aor string, src Source, now time.Time) ([]Binding, error) {
	next := make([]Binding, 0, len(cur)+len(reg.contacts))
	for i := range cur {
		if cur[i].Expires.After(now) {
			next = append(next, cur[i])
		}
	}
	if reg.wildcard {
		for i := range next {
			if next[i].CallID == reg.callID && reg.cseq <= next[i].CSeq {
				return nil, ErrOutOfOrder
			}
		}
		return nil, nil
	}
	// touched marks bindings written by this request: a second contact of
	// the same request matching one of them is not "out of order".
	var touchedBuf [16]bool
	touched := touchedBuf[:0]
	for range next {
		touched = append(touched, false)
	}
	for ci := range reg.contacts {
		c := &reg.contacts[ci]
		i := find(next, c)
		if i >= 0 {
			if !touched[i] && next[i].CallID == reg.callID && reg.cseq <= next[i].CSeq {
				return nil, ErrOutOfOrder
			}
			if c.expires == 0 {
				next = slices.Delete(next, i, i+1)
				touched = slices.Delete(touched, i, i+1)
				continue
			}
			next[i] = newBinding(c, reg, aor, src, now)
			touched[i] = true
			continue
		}
		if c.expires > 0 {
			next = append(next, newBinding(c, reg, aor, src, now))
			touched = append(touched, true)
		}
	}
	if len(next) > r.cfg.MaxContacts {
		return nil, ErrTooManyContacts
	}
	return next, nil
}

// find returns the index of the binding c refreshes, or -1. A contact with
// +sip.instance and reg-id matches on those (RFC 5626 §6), whatever its
// URI or flow; any other matches on the contact URI.
func find(bs []Binding, c *contact) int {
	for i := range bs {
		if c.regID > 0 {
			if bs[i].RegID == c.regID && bs[i].Instance == c.instance {
				return i
			}
			continue
		}
		if bs[i].RegID == 0 && sameURI(&bs[i].Contact, &c.uri) {
			return i
		}
	}
	return -1
}

func newBinding(c *contact, reg *register, aor string, src Source, now time.Time) Binding {
	return Binding{
		AOR:         aor,
		Contact:     c.uri,
		RawContact:  c.raw,
		DisplayName: c.display,
		Params:      c.params,
		Q:           c.q,
		Expires:     now.Add(c.expires),
		Registered:  now,
		CallID:      reg.callID,
		CSeq:        reg.cseq,
		Source:      src,
		Instance:    c.instance,
		RegID:       c.regID,
		Path:        reg.path,
		UserAgent:   reg.userAgent,
	}
}

// Lookup returns the unexpired bindings of aor, highest q first, then the
// most recently registered first.
func (r *Registrar) Lookup(aor string, now time.Time) []Binding {
	cur := r.store.Get(aor)
	var out []Binding
	for i := range cur {
		if cur[i].Expires.After(now) {
			if out == nil {
				out = make([]Binding, 0, len(cur)-i)
			}
			out = append(out, cur[i])
		}
	}
	slices.SortStableFunc(out, byPreference)
	return out
}

// sorted returns a sorted copy of bs.
func sorted(bs []Binding) []Binding {
	if len(bs) == 0 {
		return nil
	}
	out := slices.Clone(bs)
	slices.SortStableFunc(out, byPreference)
	return out
}

func byPreference(a, b Binding) int {
	if c := cmp.Compare(b.Q, a.Q); c != 0 {
		return c
	}
	return b.Registered.Compare(a.Registered)
}

// RemoveFlow drops every binding bound to flowID (its connection closed)
// and returns how many it dropped. An empty flowID (UDP) drops nothing.
func (r *Registrar) RemoveFlow(flowID string) int {
	return r.editFlow(flowID, func(cur []Binding) ([]Binding, int) {
		next := slices.DeleteFunc(slices.Clone(cur), func(b Binding) bool { return b.Source.FlowID == flowID })
		return next, len(cur) - len(next)
	})
}

// ExpireFlow makes the bindings on flowID expire at the latest at at (a
// grace period after their connection closed) and returns how many it
// shortened. Until then they are found, and a request to one of them
// finds its flow gone (430 Flow Failed).
func (r *Registrar) ExpireFlow(flowID string, at time.Time) int {
	return r.editFlow(flowID, func(cur []Binding) ([]Binding, int) {
		next, n := slices.Clone(cur), 0
		for i := range next {
			if next[i].Source.FlowID == flowID && next[i].Expires.After(at) {
				next[i].Expires = at
				n++
			}
		}
		return next, n
	})
}

// editFlow replaces the bindings of every AOR with one on flowID by what
// edit makes of them (a new slice, and how many bindings it changed) and
// returns the sum of the changes.
func (r *Registrar) editFlow(flowID string, edit func(cur []Binding) ([]Binding, int)) int {
	if flowID == "" {
		return 0
	}
	n := 0
	for _, aor := range r.store.FlowAORs(flowID) {
		changed := 0
		err := r.store.Update(aor, func(cur []Binding) ([]Binding, error) {
			var next []Binding
			next, changed = edit(cur)
			return next, nil
		})
		if err == nil {
			n += changed
		}
	}
	return n
}

// Run sweeps expired bindings every interval until ctx is done. The caller
// owns the goroutine that runs it.
func (r *Registrar) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if n := r.Sweep(now); n > 0 {
				r.log.Debug("expired bindings swept", "bindings", n)
			}
		}
	}
}

// Sweep drops the bindings expired at now and returns how many; Run calls
// it periodically.
func (r *Registrar) Sweep(now time.Time) int { return r.store.Expire(now) }

// NATSources returns the distinct source addresses of the bindings that
// were registered from behind NAT over transport ("udp" for keepalives).
// It walks the store without copying it, so a periodic caller costs only
// the addresses it gets back.
func (r *Registrar) NATSources(transport string) []string {
	var out []string
	var seen map[string]struct{}
	r.store.Each(func(b *Binding) bool {
		if !b.Source.NAT || b.Source.Transport != transport {
			return true
		}
		if _, dup := seen[b.Source.Addr]; dup {
			return true
		}
		if seen == nil {
			seen = make(map[string]struct{})
		}
		seen[b.Source.Addr] = struct{}{}
		out = append(out, b.Source.Addr)
		return true
	})
	return out
}

// Snapshot returns a copy of all bindings, expired ones not yet swept
// included (for admin and tests).
func (r *Registrar) Snapshot() []Binding {
	return slices.Clone(r.store.All())
}

// Remove drops every binding of aor (an operator's unbind) and returns how
// many it dropped.
func (r *Registrar) Remove(aor string) int {
	n := 0
	err := r.store.Update(aor, func(cur []Binding) ([]Binding, error) {
		n = len(cur)
		return nil, nil
	})
	if err != nil {
		return 0
	}
	return n
}

// Each calls fn with every binding, expired ones not yet swept included,
// until fn returns false, without copying (Store.Each's rules apply).
func (r *Registrar) Each(fn func(b *Binding) bool) { r.store.Each(fn) }
