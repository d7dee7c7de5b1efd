// Package ban keeps sources that flood or scan out: a pike-like per-source
// request-rate sampler, failed-authentication counting, known scanner
// User-Agents, and a ban table with expiry. A banned source's UDP packets
// are dropped unanswered, its TCP, TLS and WebSocket connections closed at
// accept (Listener), its requests on connections already open dropped.
//
// The gateway calls Banned (or Packet, which also samples the rate) for
// every datagram before parsing, Request for every parsed request,
// AuthFailed and Vouch where digest authentication decides; the admin API
// calls List, Add and Lift. Trusted networks are never banned; addresses
// that authenticated within vouch_time are not banned by rate. Each ban
// logs one line, "source banned", that fail2ban can match
// (docs/fail2ban/sipedge.conf).
//
// The per-packet path takes no allocation: an atomic load when nothing is
// banned, a read lock and a map lookup when something is, and a sharded
// fixed-size table for the rate (bounded memory under spoofed floods).
package ban

import (
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Reasons a source is banned, as logged and listed.
const (
	ReasonRate    = "rate"    // more than max_requests in a window
	ReasonAuth    = "auth"    // more than max_auth_failures in auth_window
	ReasonScanner = "scanner" // a scanner's User-Agent
	ReasonManual  = "manual"  // Add (the admin API)
)

// Entry is one ban, as List returns it.
type Entry struct {
	Addr   netip.Addr
	Reason string
	Since  time.Time
	Until  time.Time
	// Note is the operator's text of a manual ban (Add); "" otherwise.
	Note string
}

// ban is a table entry.
type ban struct {
	reason       string
	note         string // Add's
	since, until int64  // unix nanoseconds
}

// Bans is the ban table and the counters that fill it. Safe for
// concurrent use; Close stops its sweeper.
type Bans struct {
	cfg      Config
	trusted  []netip.Prefix
	scanners []string // lower case
	log      *slog.Logger
	now      func() time.Time
	rate     *sampler

	n     atomic.Int64 // len(bans): the fast path when 0
	mu    sync.RWMutex
	bans  map[[16]byte]ban
	auth  map[[16]byte]failures // guarded by mu
	vouch map[[16]byte]int64    // until, unix ns; guarded by mu
	total map[string]uint64     // bans entered, by reason; guarded by mu

	share func(Entry) // hands this table's bans to the cluster (WithShare)

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// Option changes what New builds.
type Option func(*Bans)

// WithShare hands every ban this table makes (automatic or Add) to share,
// which must not block: the cluster queues it for the other nodes, which
// enter it with Apply.
func WithShare(share func(Entry)) Option {
	return func(b *Bans) { b.share = share }
}

// Apply enters a ban another node of the cluster made, until e.Until; it
// is not shared again. A source banned here already keeps its ban.
func (b *Bans) Apply(e Entry) {
	if b == nil || !e.Addr.IsValid() {
		return
	}
	now := b.now()
	d := e.Until.Sub(now)
	if d <= 0 {
		return
	}
	if b.put(e.Addr, e.Reason, "", now, d) {
		b.log.Info("source banned by another node", "src", e.Addr.Unmap().String(), "reason", e.Reason,
			"until", e.Until.UTC().Format(time.RFC3339))
	}
}

// shared passes a new ban to the cluster, if there is one.
func (b *Bans) shared(ip netip.Addr, reason string, now time.Time, d time.Duration) {
	if b.share != nil {
		b.share(Entry{Addr: ip.Unmap(), Reason: reason, Since: now, Until: now.Add(d)})
	}
}

// failures counts one source's refused digest answers.
type failures struct {
	n     int
	since int64
}

// New returns a ban table for cfg (SetDefaults applied) that never bans
// the trusted networks, and starts its sweeper (expired bans, vouches and
// failure counts are forgotten every 10 s). log gets component=ban.
func New(cfg Config, trusted []netip.Prefix, log *slog.Logger, opts ...Option) *Bans {
	cfg.SetDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Bans{cfg: cfg, trusted: trusted, log: log.With("component", "ban"), now: time.Now,
		rate: newSampler(), bans: map[[16]byte]ban{}, auth: map[[16]byte]failures{},
		vouch: map[[16]byte]int64{}, stop: make(chan struct{}), done: make(chan struct{})}
	for _, o := range opts {
		o(b)
	}
	if !cfg.ScannersOff {
		for _, s := range cfg.Scanners {
			b.scanners = append(b.scanners, strings.ToLower(s))
		}
	}
	go b.sweep(10 * time.Second) // owner: b; stopped and waited by Close
	return b
}

// key is the table key of ip (IPv4 and IPv4-mapped IPv6 alike).
func key(ip netip.Addr) [16]byte { return ip.Unmap().As16() }

// Banned reports whether ip is banned now. The hot path: no allocation.
func (b *Bans) Banned(ip netip.Addr) bool {
	if b == nil || b.cfg.Off || b.n.Load() == 0 {
		return false
	}
	k := key(ip)
	b.mu.RLock()
	e, ok := b.bans[k]
	b.mu.RUnlock()
	return ok && b.now().UnixNano() < e.until
}

// Packet is Banned for a request that is about to be read: it also counts
// the request against the source's rate and bans it past max_requests
// (unless trusted or vouched). It reports whether to drop the request.
func (b *Bans) Packet(ip netip.Addr) bool {
	if b == nil || b.cfg.Off {
		return false
	}
	if b.Banned(ip) {
		return true
	}
	now := b.now()
	t, win := now.UnixNano(), int64(b.cfg.Window)
	frac := uint32(t % win * fracOne / win)
	if n := b.rate.add(key(ip), uint32(t/win), frac); n <= uint32(b.cfg.MaxRequests) {
		return false
	}
	if b.trustedAddr(ip) || b.vouched(ip, now) {
		return false
	}
	b.ban(ip, ReasonRate, now, "requests", b.cfg.MaxRequests, "window", b.cfg.Window)
	return true
}

// Request checks a parsed request from ip whose User-Agent (or, lacking
// one, Server) header is ua: a scanner's bans its source. It reports
// whether to drop the request (banned before or now).
func (b *Bans) Request(ip netip.Addr, ua string) bool {
	if b == nil || b.cfg.Off {
		return false
	}
	if b.Banned(ip) {
		return true
	}
	if ua == "" || len(b.scanners) == 0 {
		return false
	}
	for _, s := range b.scanners {
		if containsFold(ua, s) {
			if b.trustedAddr(ip) {
				return false // a trunk relaying a scanner's request is not the scanner
			}
			b.ban(ip, ReasonScanner, b.now(), "user_agent", ua)
			return true
		}
	}
	return false
}

// containsFold reports whether s contains lower (lower case), ignoring
// ASCII case, without allocating.
func containsFold(s, lower string) bool {
	n := len(lower)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lower[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

// AuthFailed counts a refused digest answer from ip; past
// max_auth_failures within auth_window the source is banned.
func (b *Bans) AuthFailed(ip netip.Addr) {
	if b == nil || b.cfg.Off || b.trustedAddr(ip) {
		return
	}
	now := b.now()
	k := key(ip)
	b.mu.Lock()
	f := b.auth[k]
	if f.n == 0 || now.UnixNano()-f.since > int64(b.cfg.AuthWindow) {
		f = failures{since: now.UnixNano()}
	}
	f.n++
	if len(b.auth) < b.cfg.MaxBans || f.n > 1 {
		b.auth[k] = f
	}
	b.mu.Unlock()
	if f.n > b.cfg.MaxAuthFailures {
		b.ban(ip, ReasonAuth, now, "failures", f.n, "window", b.cfg.AuthWindow)
	}
}

// Vouch records that ip authenticated successfully: it is exempt from the
// rate limit for vouch_time.
func (b *Bans) Vouch(ip netip.Addr) {
	if b == nil || b.cfg.Off {
		return
	}
	until := b.now().Add(b.cfg.VouchTime).UnixNano()
	k := key(ip)
	b.mu.RLock()
	cur, ok := b.vouch[k]
	b.mu.RUnlock()
	if ok && until-cur < int64(time.Minute) {
		return // renewed within the last minute: no write lock per request
	}
	b.mu.Lock()
	if _, ok := b.vouch[k]; ok || len(b.vouch) < b.cfg.MaxBans {
		b.vouch[k] = until
	}
	b.mu.Unlock()
}

func (b *Bans) vouched(ip netip.Addr, now time.Time) bool {
	b.mu.RLock()
	until, ok := b.vouch[key(ip)]
	b.mu.RUnlock()
	return ok && now.UnixNano() < until
}

func (b *Bans) trustedAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range b.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ban enters ip into the table for cfg.Time and logs the one line per
// ban; a source banned already is left as it is.
func (b *Bans) ban(ip netip.Addr, reason string, now time.Time, attrs ...any) {
	if !b.put(ip, reason, "", now, b.cfg.Time) {
		return
	}
	b.log.Warn("source banned", append([]any{"src", ip.Unmap().String(), "reason", reason,
		"for", b.cfg.Time, "until", now.Add(b.cfg.Time).UTC().Format(time.RFC3339)}, attrs...)...)
	b.shared(ip, reason, now, b.cfg.Time)
}

// put adds a ban (with an operator's note) unless one is in force; when the table is full an
// arbitrary entry makes room. It reports whether it added one.
func (b *Bans) put(ip netip.Addr, reason, note string, now time.Time, d time.Duration) bool {
	k := key(ip)
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.bans[k]; ok && now.UnixNano() < e.until {
		return false
	}
	if len(b.bans) >= b.cfg.MaxBans {
		// Map iteration starts at a random place: evict one.
		for victim := range b.bans {
			delete(b.bans, victim)
			break
		}
	}
	b.bans[k] = ban{reason: reason, note: note, since: now.UnixNano(), until: now.Add(d).UnixNano()}
	if b.total == nil {
		b.total = map[string]uint64{}
	}
	b.total[reason]++
	delete(b.auth, k)
	b.n.Store(int64(len(b.bans)))
	return true
}

// Add bans ip for d (the configured time when d <= 0), as an operator
// does, with the operator's note (may be empty); it is logged like any
// ban, with reason=manual (which the fail2ban filter ignores). Trusted
// addresses can be banned so. It returns the ban's end.
func (b *Bans) Add(ip netip.Addr, d time.Duration, note string) time.Time {
	if b == nil {
		return time.Time{}
	}
	if d <= 0 {
		d = b.cfg.Time
	}
	now := b.now()
	k := key(ip)
	b.mu.Lock()
	delete(b.bans, k) // a manual ban replaces one in force
	b.mu.Unlock()
	if b.put(ip, ReasonManual, note, now, d) {
		b.log.Warn("source banned", "src", ip.Unmap().String(), "reason", ReasonManual,
			"for", d, "until", now.Add(d).UTC().Format(time.RFC3339), "note", note)
		b.shared(ip, ReasonManual, now, d)
	}
	return now.Add(d)
}

// Lift ends ip's ban and forgets its failure count; it reports whether a
// ban was in force.
func (b *Bans) Lift(ip netip.Addr) bool {
	if b == nil {
		return false
	}
	k := key(ip)
	now := b.now().UnixNano()
	b.mu.Lock()
	e, ok := b.bans[k]
	delete(b.bans, k)
	delete(b.auth, k)
	b.n.Store(int64(len(b.bans)))
	b.mu.Unlock()
	if ok && now < e.until {
		b.log.Info("ban lifted", "src", ip.Unmap().String(), "reason", e.reason,
			"since", time.Unix(0, e.since).UTC().Format(time.RFC3339))
		return true
	}
	return false
}

// Totals returns how many bans were entered since start, by reason
// (those shared by other nodes included), and how many are in force.
func (b *Bans) Totals() (active int, total map[string]uint64) {
	if b == nil {
		return 0, nil
	}
	now := b.now().UnixNano()
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, e := range b.bans {
		if now < e.until {
			active++
		}
	}
	return active, maps.Clone(b.total)
}

// List returns the bans in force, the newest first.
func (b *Bans) List() []Entry {
	if b == nil {
		return nil
	}
	now := b.now().UnixNano()
	b.mu.RLock()
	out := make([]Entry, 0, len(b.bans))
	for k, e := range b.bans {
		if now < e.until {
			out = append(out, Entry{Addr: netip.AddrFrom16(k).Unmap(), Reason: e.reason,
				Since: time.Unix(0, e.since), Until: time.Unix(0, e.until), Note: e.note})
		}
	}
	b.mu.RUnlock()
	slices.SortFunc(out, func(x, y Entry) int { return y.Since.Compare(x.Since) })
	return out
}

// sweep forgets expired entries every interval until Close.
func (b *Bans) sweep(interval time.Duration) {
	defer close(b.done)
	// Jitter, so that several tables (tests) do not sweep in step.
	t := time.NewTicker(interval + time.Duration(rand.Int64N(int64(interval/10)+1)))
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		now := b.now().UnixNano()
		b.mu.Lock()
		for k, e := range b.bans {
			if now >= e.until {
				delete(b.bans, k)
			}
		}
		for k, until := range b.vouch {
			if now >= until {
				delete(b.vouch, k)
			}
		}
		for k, f := range b.auth {
			if now-f.since > int64(b.cfg.AuthWindow) {
				delete(b.auth, k)
			}
		}
		b.n.Store(int64(len(b.bans)))
		b.mu.Unlock()
	}
}

// Close stops the sweeper and waits for it. Idempotent; the table stays
// usable (nothing expires by sweeping any more, Banned still checks the
// time).
func (b *Bans) Close() {
	if b == nil {
		return
	}
	b.once.Do(func() { close(b.stop) })
	<-b.done
}
