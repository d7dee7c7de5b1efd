package trunk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
)

// Sender sends a request the registration built toward hop and returns
// its final response, or an error for a timeout (ctx) or a transport
// failure. It adds our Via.
type Sender interface {
	Send(ctx context.Context, req *sip.Request, hop route.Target) (*sip.Response, error)
}

// State is where a registration stands.
type State uint8

const (
	// StateStarting waits for the random start delay.
	StateStarting State = iota
	// StateRegistering has a REGISTER in flight (challenges included).
	StateRegistering
	// StateRegistered holds a binding and waits to refresh it.
	StateRegistered
	// StateFailed waits out a backoff after a failure.
	StateFailed
	// StateForbidden waits out forbidden_retry after 403/404.
	StateForbidden
	// StateClosed is unregistered and stopped.
	StateClosed
	// StateStandby leaves the registration to another node of the
	// cluster, which holds the trunk's lease.
	StateStandby
)

var stateNames = [...]string{"starting", "registering", "registered", "failed", "forbidden", "closed", "standby"}

// standbyPoll is how often a registration in standby asks for the lease.
const standbyPoll = time.Second

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", s)
}

// Status is a snapshot of a registration.
type Status struct {
	Trunk string
	State State
	// Code and Reason are the last final response (0 for a timeout or
	// transport error, with Err set).
	Code   int
	Reason string
	Err    string
	// Hop is where the binding is (or was last tried).
	Hop route.Target
	// Expires is when the binding ends (StateRegistered).
	Expires time.Time
	// Next is when the next REGISTER is due.
	Next time.Time
	// Failures counts failures since the last success.
	Failures int
}

// Registration keeps one trunk registered; see the package comment. It is
// started by a Manager and stopped by Close.
type Registration struct {
	name    string
	cfg     Config
	pol     RegistrationConfig
	domain  string
	contact func(route.Target) sip.Uri
	hops    func(context.Context) ([]route.Target, error)
	send    Sender
	clock   Clock
	rand    func() float64
	bucket  *bucket
	log     *slog.Logger

	maxForwards int
	held        func() bool // this node holds the trunk's lease (nil: always)

	// Set by the Manager before run starts.
	delayed bool               // wait a random start delay first (a start, not a reload)
	ctx     context.Context    // ends with Close or retire
	stop    context.CancelFunc // retire
	after   <-chan struct{}    // the registration this one replaces has ended
	from    *Registration      // whose Call-ID, CSeq and binding this one takes over
	// handover: retired without unregistering (the next registration of
	// the trunk takes the binding over).
	handover atomic.Bool

	// Owned by the run goroutine.
	bound   sip.Uri // the Contact of the last REGISTER
	callID  string
	tag     string
	cseq    uint32
	expires int

	lost chan struct{}
	kick chan struct{} // Reregister: register now, whatever the state
	done chan struct{}

	mu sync.Mutex
	st Status
}

// outcome is how one registration round ended.
type outcome struct {
	res *sip.Response
	err error
	hop route.Target
	// granted is the lifetime of the binding (200).
	granted time.Duration
}

// run is the registration's goroutine: wait, register, decide, until ctx
// ends; then unregister.
func (r *Registration) run(ctx context.Context) {
	defer close(r.done)
	if r.after != nil {
		select {
		case <-r.after:
		case <-ctx.Done():
		}
	}
	if r.from != nil {
		r.takeOver(r.from)
	}
	delay := time.Duration(0)
	if r.delayed && r.pol.StartDelay > 0 {
		delay = time.Duration(r.rand() * float64(r.pol.StartDelay))
	}
	r.set(func(s *Status) { s.Next = r.clock.Now().Add(delay) })
	for {
		if !r.wait(ctx, delay) {
			if r.handover.Load() {
				return // the binding is the next registration's now
			}
			r.unregister()
			r.set(func(s *Status) { s.State = StateClosed; s.Next = time.Time{} })
			return
		}
		was := r.Status().State
		if r.held != nil && !r.held() {
			if was == StateRegistered {
				r.log.Info("trunk lease held by another node: unregistering here")
				r.unregister()
			}
			if was != StateStandby {
				r.log.Info("trunk registration in standby: another node registers it")
			}
			r.set(func(s *Status) { s.State = StateStandby; s.Next = r.clock.Now().Add(standbyPoll) })
			delay = standbyPoll
			continue
		}
		if was == StateStandby {
			r.log.Info("trunk lease taken: registering from this node")
		}
		r.set(func(s *Status) { s.State = StateRegistering })
		o := r.round(ctx, r.expires)
		if ctx.Err() != nil {
			// Stopped mid-round: the binding (if any) is as it was, and
			// is unregistered or handed over as such.
			r.set(func(s *Status) { s.State = was })
			continue
		}
		delay = r.decide(was, o)
	}
}

// retire stops the registration: with unregister, its binding is removed
// (expires=0) first; without, the next registration of the trunk takes it
// over (from). It does not wait (the Manager's Close does).
func (r *Registration) retire(unregister bool) {
	r.handover.Store(!unregister)
	r.stop()
}

// takeOver continues prev's registration (ended; same address of record
// and provider): its Call-ID, From tag and CSeq (RFC 3261 §10.2.4: the
// provider sees a refresh of the same binding), its granted lifetime when
// the expires asked for did not change, and its status. The first
// REGISTER with the new settings goes at once.
func (r *Registration) takeOver(prev *Registration) {
	r.callID, r.tag, r.cseq = prev.callID, prev.tag, prev.cseq
	if prev.cfg.Expires == r.cfg.Expires {
		r.expires = prev.expires
	}
	st := prev.Status()
	r.set(func(s *Status) { *s = st; s.Trunk = r.name })
}

// wait sleeps d; a lost connection while registered cuts it short. It
// reports false when ctx ended.
func (r *Registration) wait(ctx context.Context, d time.Duration) bool {
	// In a cluster the lease is looked at while waiting (one timer at a
	// time, at most standbyPoll long): a node that lost it unregisters at
	// once instead of at its next refresh.
	end := r.clock.Now().Add(d)
	step := func() time.Duration {
		left := end.Sub(r.clock.Now())
		if r.held != nil && left > standbyPoll {
			return standbyPoll
		}
		return left
	}
	t := r.clock.NewTimer(step())
	defer func() { t.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C():
			if left := end.Sub(r.clock.Now()); left <= 0 || (r.held != nil && !r.held() && r.Status().State != StateStandby) {
				return true
			}
			t = r.clock.NewTimer(step())
		case <-r.kick:
			r.log.Info("trunk registration forced")
			return true
		case <-r.lost:
			if r.Status().State == StateRegistered {
				r.log.Warn("trunk connection lost: registering again", "hop", r.Status().Hop.Addr)
				return true
			}
			// During a backoff the retry is already scheduled.
		}
	}
}

// reregister makes the registration register now.
func (r *Registration) reregister() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// connLost tells the registration that the connection its binding uses
// closed.
func (r *Registration) connLost() {
	select {
	case r.lost <- struct{}{}:
	default:
	}
}

// round registers once: each hop in order while the answer is a timeout,
// a transport error, 408 or 5xx.
func (r *Registration) round(ctx context.Context, expires int) outcome {
	hops, err := r.hops(ctx)
	if err != nil || len(hops) == 0 {
		if err == nil {
			err = errors.New("no address for the trunk")
		}
		return outcome{err: err}
	}
	var o outcome
	for i, hop := range hops {
		o = r.exchange(ctx, hop, expires, true)
		if !nextHop(o) {
			return o
		}
		if i < len(hops)-1 {
			r.log.Debug("trunk registration hop failed: trying the next", "hop", hop.Addr, "next", hops[i+1].Addr, "code", codeOf(o), "error", o.err)
		}
	}
	return o
}

func codeOf(o outcome) int {
	if o.res == nil {
		return 0
	}
	return o.res.StatusCode
}

func nextHop(o outcome) bool {
	if o.err != nil {
		return !errors.Is(o.err, ErrChallenge) && !errors.Is(o.err, ErrAuthRejected) && !errors.Is(o.err, context.Canceled)
	}
	return o.res.StatusCode == 408 || o.res.StatusCode >= 500 && o.res.StatusCode < 600
}

// maxRequests bounds the REGISTERs of one exchange (challenges, 423).
const maxRequests = 5

// exchange sends REGISTERs to hop until a final answer other than a
// challenge it can answer or a 423 it can follow. paced requests wait
// for the manager's rate.
func (r *Registration) exchange(ctx context.Context, hop route.Target, expires int, paced bool) outcome {
	answered := map[string]bool{}
	var ch *Challenge
	for range maxRequests {
		if paced {
			if d := r.bucket.reserve(); d > 0 && !r.sleep(ctx, d) {
				return outcome{err: context.Canceled, hop: hop}
			}
		}
		req := r.registerRequest(expires, hop)
		if ch != nil {
			if err := CredentialsOf(r.cfg).Authorize(req, *ch); err != nil {
				return outcome{err: err, hop: hop}
			}
		}
		timeout := r.pol.Timeout
		if !paced {
			timeout = min(timeout, unregisterTimeout)
		}
		// A REGISTER in flight ends with a shutdown (Close must not wait
		// out a provider that does not answer); an unregister, sent once
		// the shutdown began, has its own short timeout.
		base := ctx
		if !paced {
			base = context.WithoutCancel(ctx)
		}
		sctx, cancel := context.WithTimeout(base, timeout)
		res, err := r.send.Send(sctx, req, hop)
		cancel()
		if err != nil {
			return outcome{err: err, hop: hop}
		}
		switch res.StatusCode {
		case sip.StatusUnauthorized, sip.StatusProxyAuthRequired:
			c, err := ParseChallenge(res)
			if err != nil {
				return outcome{res: res, err: err, hop: hop}
			}
			if answered[c.Nonce()] && !c.Stale() {
				return outcome{res: res, err: fmt.Errorf("%w: nonce challenged again", ErrAuthRejected), hop: hop}
			}
			answered[c.Nonce()] = true
			ch = &c
		case sip.StatusIntervalToBrief:
			min := seconds(res, "Min-Expires")
			if expires == 0 {
				return outcome{res: res, hop: hop}
			}
			if min <= expires {
				min = expires * 2
			}
			r.log.Info("trunk registration interval too brief", "asked", expires, "min_expires", min)
			expires, r.expires = min, min
			// A new request: the provider may challenge it afresh.
			clear(answered)
			ch = nil
		default:
			o := outcome{res: res, hop: hop}
			if res.IsSuccess() {
				o.granted = r.granted(res, expires)
			}
			return o
		}
	}
	return outcome{err: fmt.Errorf("%w: still challenged after %d requests", ErrAuthRejected, maxRequests), hop: hop}
}

// sleep waits d unless ctx ends first.
func (r *Registration) sleep(ctx context.Context, d time.Duration) bool {
	t := r.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// decide records a round's outcome and returns the wait before the next
// REGISTER.
func (r *Registration) decide(was State, o outcome) time.Duration {
	now := r.clock.Now()
	code, reason, errText := 0, "", ""
	if o.res != nil {
		code, reason = o.res.StatusCode, o.res.Reason
	}
	if o.err != nil {
		errText = o.err.Error()
	}
	switch {
	case o.err == nil && o.res.IsSuccess() && o.granted > 0:
		d := r.refresh(o.granted)
		r.set(func(s *Status) {
			s.State, s.Failures, s.Expires, s.Next = StateRegistered, 0, now.Add(o.granted), now.Add(d)
		})
		r.record(code, reason, errText, o.hop)
		level := slog.LevelInfo
		if was == StateRegistered {
			level = slog.LevelDebug // a refresh
		}
		r.log.Log(context.Background(), level, "trunk registered", "hop", o.hop.Addr, "expires", o.granted, "refresh_in", d)
		return d
	case o.err == nil && (code == sip.StatusForbidden || code == sip.StatusNotFound):
		d := r.pol.ForbiddenRetry
		r.set(func(s *Status) {
			s.State, s.Failures, s.Expires, s.Next = StateForbidden, s.Failures+1, time.Time{}, now.Add(d)
		})
		r.record(code, reason, errText, o.hop)
		r.log.Error("trunk provider refuses the account: check username, password and domain; not retrying soon", "hop", o.hop.Addr, "code", code, "reason", reason, "retry_in", d)
		return d
	}
	var n int
	r.set(func(s *Status) { s.Failures++; n = s.Failures })
	d := r.backoff(n)
	if o.res != nil {
		if ra := time.Duration(seconds(o.res, "Retry-After")) * time.Second; ra > d {
			d = ra
		}
	}
	r.set(func(s *Status) { s.State, s.Expires, s.Next = StateFailed, time.Time{}, now.Add(d) })
	r.record(code, reason, errText, o.hop)
	if o.err != nil {
		r.log.Warn("trunk registration failed", "hop", o.hop.Addr, "code", code, "error", o.err, "failures", n, "retry_in", d)
	} else {
		r.log.Warn("trunk registration failed", "hop", o.hop.Addr, "code", code, "reason", reason, "failures", n, "retry_in", d)
	}
	return d
}

func (r *Registration) record(code int, reason, errText string, hop route.Target) {
	r.set(func(s *Status) { s.Code, s.Reason, s.Err, s.Hop = code, reason, errText, hop })
}

// refresh is when to renew a binding granted for g: refresh_percent of
// it, at least 5s before it ends, at least 1s from now.
func (r *Registration) refresh(g time.Duration) time.Duration {
	d := g * time.Duration(r.pol.RefreshPercent) / 100
	d = min(d, g-5*time.Second)
	return max(d, time.Second)
}

// backoff is the wait after the nth failure in a row: retry_min doubled
// per failure up to retry_max, ±20% jitter.
func (r *Registration) backoff(n int) time.Duration {
	d := r.pol.RetryMin
	for i := 1; i < n && d < r.pol.RetryMax; i++ {
		d *= 2
	}
	d = min(d, r.pol.RetryMax)
	return time.Duration(float64(d) * (0.8 + 0.4*r.rand()))
}

// unregisterTimeout bounds each unregister REGISTER at shutdown.
const unregisterTimeout = 2 * time.Second

// unregister removes the binding (expires=0) when there is one, on the
// hop that holds it, each request within unregisterTimeout; unpaced, so
// a shutdown is not held up by the rate.
func (r *Registration) unregister() {
	st := r.Status()
	if st.State != StateRegistered {
		return
	}
	o := r.exchange(context.Background(), st.Hop, 0, false)
	switch {
	case o.err != nil:
		r.log.Warn("trunk unregister failed", "hop", st.Hop.Addr, "error", o.err)
	case !o.res.IsSuccess():
		r.log.Warn("trunk unregister refused", "hop", st.Hop.Addr, "code", o.res.StatusCode, "reason", o.res.Reason)
	default:
		r.log.Info("trunk unregistered", "hop", st.Hop.Addr)
	}
}

// set changes the status under the lock and returns the new snapshot.
func (r *Registration) set(f func(*Status)) Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.st)
	return r.st
}

// Status is a snapshot of the registration.
func (r *Registration) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st
}
