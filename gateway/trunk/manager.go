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
// paced by one rate; Close unregisters them and stops their goroutines.
type Manager struct {
	regs   map[string]*Registration
	cancel context.CancelFunc
	once   sync.Once
}

// NewManager starts one Registration per trunk with register: true (trunks
// and pol after SetDefaults).
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
	log := d.Log.With("component", "trunk")
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{regs: map[string]*Registration{}, cancel: cancel}
	b := newBucket(d.Clock, pol.Rate)
	for _, name := range slices.Sorted(maps.Keys(trunks)) {
		c := trunks[name]
		if !c.Register {
			continue
		}
		r := &Registration{
			name: name, cfg: c, pol: pol, domain: domainOf(c),
			contact: func(hop route.Target) sip.Uri {
				u := d.Contact(hop)
				u.User = c.Username
				return u
			},
			hops:        func(ctx context.Context) ([]route.Target, error) { return d.Hops(ctx, name, c) },
			send:        d.Send,
			clock:       d.Clock,
			rand:        d.Rand,
			bucket:      b,
			log:         log.With("trunk", name),
			callID:      randomHex(16),
			tag:         randomHex(8),
			expires:     c.Expires,
			maxForwards: d.MaxForwards,
			lost:        make(chan struct{}, 1),
			held:        heldFunc(d.Held, name),
			kick:        make(chan struct{}, 1),
			done:        make(chan struct{}),
		}
		r.st.Trunk = name
		m.regs[name] = r
		go r.run(ctx)
	}
	return m
}

// Close unregisters every registered trunk and waits for the goroutines.
// It is idempotent.
func (m *Manager) Close() {
	m.once.Do(m.cancel)
	for _, r := range m.regs {
		<-r.done
	}
}

// Status returns a snapshot of every registration, by trunk name.
func (m *Manager) Status() []Status {
	out := make([]Status, 0, len(m.regs))
	for _, name := range slices.Sorted(maps.Keys(m.regs)) {
		out = append(out, m.regs[name].Status())
	}
	return out
}

// StatusOf is the status of trunk's registration (false: not registering).
func (m *Manager) StatusOf(trunk string) (Status, bool) {
	r, ok := m.regs[trunk]
	if !ok {
		return Status{}, false
	}
	return r.Status(), true
}

// Reregister makes trunk register now, whatever its state (an operator's
// retry after fixing the account, say); the backoff starts over only if
// it fails again. ErrNotRegistering when the trunk has no registration.
func (m *Manager) Reregister(trunk string) error {
	r, ok := m.regs[trunk]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotRegistering, trunk)
	}
	r.reregister()
	return nil
}

// ConnLost tells the registrations that a TCP or TLS connection to addr
// closed: those whose binding lives on it register again at once.
func (m *Manager) ConnLost(transport, addr string) {
	for _, r := range m.regs {
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
