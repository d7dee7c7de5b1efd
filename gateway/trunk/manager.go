package trunk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
)

// Deps are what a Manager needs from its owner.
type Deps struct {
	// Send puts REGISTERs on the wire. Required.
	Send Sender
	// Contact is our Contact URI toward hop (host, port and transport of
	// the listener that reaches it); the Manager sets its user to the
	// trunk's username. Required.
	Contact func(hop route.Target) sip.Uri
	// Hops lists where a trunk's requests go, in failover order. Default:
	// each URI's host and port as written (StaticHops).
	Hops func(ctx context.Context, trunk string, c Config) ([]route.Target, error)
	// MaxForwards is the Max-Forwards of the REGISTERs (the operator's
	// max_forwards). Default 70.
	MaxForwards int
	// Held, if set, reports whether this node holds trunk's lease: in a
	// cluster exactly one node registers each trunk; the others stand by.
	// nil: this node registers every trunk.
	Held func(trunk string) bool
	// Clock defaults to the wall clock, Rand to math/rand/v2's Float64.
	Clock Clock
	Rand  func() float64
	// Log gets component=trunk.
	Log *slog.Logger
}

// Manager runs the registrations of every trunk with register: true,
// paced by one rate; Update applies a reloaded trunk list; Close
// unregisters them and stops their goroutines.
type Manager struct {
	pol    RegistrationConfig
	d      Deps
	log    *slog.Logger
	bucket *bucket
	ctx    context.Context // parent of every registration's; ends with Close
	cancel context.CancelFunc
	once   sync.Once
	wg     sync.WaitGroup // every registration's goroutine, retired ones too

	mu     sync.Mutex
	regs   map[string]*Registration
	closed bool
}

// NewManager starts one Registration per trunk with register: true (trunks
// and pol after SetDefaults), each after a random start delay.
func NewManager(pol RegistrationConfig, trunks map[string]Config, d Deps) *Manager {
	if d.Clock == nil {
		d.Clock = RealClock{}
	}
	if d.Rand == nil {
		d.Rand = mrand.Float64
	}
	if d.Hops == nil {
		d.Hops = StaticHops
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.MaxForwards == 0 {
		d.MaxForwards = 70
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{pol: pol, d: d, log: d.Log.With("component", "trunk"), bucket: newBucket(d.Clock, pol.Rate),
		ctx: ctx, cancel: cancel, regs: map[string]*Registration{}}
	for _, name := range slices.Sorted(maps.Keys(trunks)) {
		if c := trunks[name]; c.Register {
			m.start(m.newRegistration(name, c, true))
		}
	}
	return m
}

// newRegistration builds trunk name's registration; delayed ones wait a
// random start delay first (a start, not a reload).
func (m *Manager) newRegistration(name string, c Config, delayed bool) *Registration {
	d := m.d
	ctx, stop := context.WithCancel(m.ctx)
	r := &Registration{
		name: name, cfg: c, pol: m.pol, domain: domainOf(c),
		contact: func(hop route.Target) sip.Uri {
			u := d.Contact(hop)
			u.User = c.Username
			return u
		},
		hops:        func(ctx context.Context) ([]route.Target, error) { return d.Hops(ctx, name, c) },
		send:        d.Send,
		clock:       d.Clock,
		rand:        d.Rand,
		bucket:      m.bucket,
		log:         m.log.With("trunk", name),
		callID:      randomHex(16),
		tag:         randomHex(8),
		expires:     c.Expires,
		maxForwards: d.MaxForwards,
		held:        heldFunc(d.Held, name),
		delayed:     delayed,
		ctx:         ctx,
		stop:        stop,
		lost:        make(chan struct{}, 1),
		kick:        make(chan struct{}, 1),
		done:        make(chan struct{}),
	}
	r.st.Trunk = name
	return r
}

// start runs r and makes it trunk r.name's registration. Under m.mu or
// before m is shared.
func (m *Manager) start(r *Registration) {
	m.regs[r.name] = r
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		r.run(r.ctx)
	}()
}

// Changes is what an Update did, by trunk name (sorted).
type Changes struct {
	// Added trunks started registering; Removed ones unregister (expires=0)
	// and stop; Changed ones register again with their new settings (a
	// new address of record or URIs: after unregistering the old binding);
	// Kept ones are untouched (no REGISTER is sent for them).
	Added, Removed, Changed, Kept []string
}

// Update makes the registrations follow a reloaded trunk list (after
// SetDefaults): a trunk no longer listed, or no longer with register:
// true, unregisters and stops; a new one registers at once (paced by the
// rate, without the start delay); one whose registration settings changed
// registers again, and one whose did not is left alone. A changed
// password, auth_username, realm or expires keeps the registration's
// Call-ID and binding (the next REGISTER refreshes it with the new
// settings); changed uris, username or domain unregister the old binding
// first. Update does not wait for the REGISTERs; after Close it does
// nothing. The policy (trunk_registration) is not reloaded.
func (m *Manager) Update(trunks map[string]Config) Changes {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ch Changes
	if m.closed {
		return ch
	}
	for _, name := range slices.Sorted(maps.Keys(m.regs)) {
		if c, ok := trunks[name]; !ok || !c.Register {
			m.regs[name].retire(true)
			delete(m.regs, name)
			ch.Removed = append(ch.Removed, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(trunks)) {
		c := trunks[name]
		if !c.Register {
			continue
		}
		old, ok := m.regs[name]
		switch {
		case !ok:
			m.start(m.newRegistration(name, c, false))
			ch.Added = append(ch.Added, name)
		case sameRegistration(old.cfg, c):
			ch.Kept = append(ch.Kept, name)
		case sameBinding(old.cfg, c):
			// Same address of record and provider: the new settings
			// refresh the binding the old registration holds.
			old.retire(false)
			r := m.newRegistration(name, c, false)
			r.after = old.done
			r.from = old
			m.start(r)
			ch.Changed = append(ch.Changed, name)
		default:
			old.retire(true)
			r := m.newRegistration(name, c, false)
			r.after = old.done // its unregister first: it may name our Contact
			m.start(r)
			ch.Changed = append(ch.Changed, name)
		}
	}
	return ch
}

// sameRegistration reports whether a and b register alike: same binding,
// credentials and lifetime asked.
func sameRegistration(a, b Config) bool {
	return sameBinding(a, b) && a.AuthUsername == b.AuthUsername && a.Password == b.Password &&
		a.Realm == b.Realm && a.Expires == b.Expires
}

// sameBinding reports whether a and b register the same address of record
// with the same provider URIs.
func sameBinding(a, b Config) bool {
	return a.Register == b.Register && a.Username == b.Username && domainOf(a) == domainOf(b) && slices.Equal(a.URIs, b.URIs)
}

// Close unregisters every registered trunk and waits for the goroutines.
// It is idempotent.
func (m *Manager) Close() {
	m.once.Do(func() {
		m.mu.Lock()
		m.closed = true
		m.mu.Unlock()
		m.cancel()
	})
	m.wg.Wait()
}

// Status returns a snapshot of every registration, by trunk name.
func (m *Manager) Status() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Status, 0, len(m.regs))
	for _, name := range slices.Sorted(maps.Keys(m.regs)) {
		out = append(out, m.regs[name].Status())
	}
	return out
}

// registration is trunk's registration, if it has one.
func (m *Manager) registration(trunk string) (*Registration, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.regs[trunk]
	return r, ok
}

// StatusOf is the status of trunk's registration (false: not registering).
func (m *Manager) StatusOf(trunk string) (Status, bool) {
	r, ok := m.registration(trunk)
	if !ok {
		return Status{}, false
	}
	return r.Status(), true
}

// Reregister makes trunk register now, whatever its state (an operator's
// retry after fixing the account, say); the backoff starts over only if
// it fails again. ErrNotRegistering when the trunk has no registration.
func (m *Manager) Reregister(trunk string) error {
	r, ok := m.registration(trunk)
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotRegistering, trunk)
	}
	r.reregister()
	return nil
}

// ConnLost tells the registrations that a TCP or TLS connection to addr
// closed: those whose binding lives on it register again at once.
func (m *Manager) ConnLost(transport, addr string) {
	m.mu.Lock()
	regs := slices.Collect(maps.Values(m.regs))
	m.mu.Unlock()
	for _, r := range regs {
		st := r.Status()
		if st.State == StateRegistered && strings.EqualFold(st.Hop.Transport, transport) && st.Hop.Addr == addr {
			r.connLost()
		}
	}
}

// StaticHops is each URI's host and port as written, in order (no DNS).
func StaticHops(_ context.Context, _ string, c Config) ([]route.Target, error) {
	var out []route.Target
	for _, s := range c.URIs {
		u, err := ParseURI(s)
		if err != nil {
			return nil, err
		}
		t, err := route.FromURI(u)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// domainOf is the host of the trunk's address of record.
func domainOf(c Config) string {
	if c.Domain != "" {
		return c.Domain
	}
	for _, s := range c.URIs {
		if u, err := ParseURI(s); err == nil {
			return u.Host
		}
	}
	return ""
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// heldFunc binds a lease check to one trunk (nil stays nil).
func heldFunc(held func(string) bool, name string) func() bool {
	if held == nil {
		return nil
	}
	return func() bool { return held(name) }
}
