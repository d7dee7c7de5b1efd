// Package registrar — TEMPORARY SHIM, replaced by the real package on merge.
package registrar

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

var (
	ErrOutOfOrder      = errors.New("registrar: out of order")
	ErrTooManyContacts = errors.New("registrar: too many contacts")
	ErrBadContact      = errors.New("registrar: bad contact")
)

type IntervalError struct{ MinExpires time.Duration }

func (e *IntervalError) Error() string { return "interval too brief" }

type Config struct {
	MinExpires, MaxExpires, DefaultExpires time.Duration
	MaxContacts                            int
}
type Source struct{ Addr, Transport, FlowID string }
type Binding struct {
	AOR        string
	Contact    sip.Uri
	RawContact string
	Q          float64
	Expires    time.Time
	CallID     string
	CSeq       uint32
	Source     Source
	Instance   string
	RegID      int
	Path       []string
	UserAgent  string
}
type Store interface{}
type Registrar struct {
	cfg Config
	mu  sync.Mutex
	m   map[string][]Binding
}

func NewMemoryStore() Store { return nil }
func New(cfg Config, _ Store, _ *slog.Logger) *Registrar {
	return &Registrar{cfg: cfg, m: map[string][]Binding{}}
}
func ExpiresFor(b Binding, now time.Time) int { return int(b.Expires.Sub(now) / time.Second) }
func (r *Registrar) Register(req *sip.Request, aor string, src Source, now time.Time) ([]Binding, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	exp := r.cfg.DefaultExpires
	if h := req.GetHeader("Expires"); h != nil {
		n, _ := strconv.Atoi(h.Value())
		exp = time.Duration(n) * time.Second
	}
	for _, h := range req.GetHeaders("Contact") {
		c := h.(*sip.ContactHeader)
		e := exp
		if v, ok := c.Params.Get("expires"); ok {
			n, _ := strconv.Atoi(v)
			e = time.Duration(n) * time.Second
		}
		var keep []Binding
		for _, b := range r.m[aor] {
			if b.Contact.String() != c.Address.String() {
				keep = append(keep, b)
			}
		}
		if e > 0 {
			keep = append(keep, Binding{AOR: aor, Contact: c.Address, RawContact: c.Value(), Expires: now.Add(e), Source: src})
		}
		r.m[aor] = keep
	}
	return r.m[aor], nil
}
func (r *Registrar) Lookup(aor string, now time.Time) []Binding {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Binding(nil), r.m[aor]...)
}
func (r *Registrar) Run(ctx context.Context, _ time.Duration) { <-ctx.Done() }
