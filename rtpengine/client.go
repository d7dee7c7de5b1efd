package rtpengine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Client drives a set of rtpengine nodes over the ng protocol. It is safe
// for any number of concurrent callers. Build it with New, run its health
// checks with Run, and stop it with Close.
type Client struct {
	cfg    Config
	log    *slog.Logger
	nodes  []*node
	byAddr map[string]*node
	sets   map[string][]*node
	aff    affinity

	prefix string // random per Client, so cookies differ across restarts
	seq    atomic.Uint64

	wg sync.WaitGroup
	// closing is the stop signal, closed once by Close: Run returns and
	// commands in flight end at once with ErrClosed.
	closing   chan struct{}
	closeOnce sync.Once
}

// New validates cfg (after SetDefaults), opens one socket per node and
// starts one reader goroutine per socket. Commands work at once; Run adds
// the periodic health pings. log may be nil.
func New(cfg Config, log *slog.Logger) (*Client, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("rtpengine: invalid config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "rtpengine")
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	c := &Client{
		cfg:     cfg,
		log:     log,
		byAddr:  map[string]*node{},
		sets:    map[string][]*node{},
		aff:     affinity{calls: map[string]*pin{}},
		prefix:  hex.EncodeToString(rnd[:]) + "_",
		closing: make(chan struct{}),
	}
	for _, nc := range cfg.Nodes {
		network, hostport, _ := ParseAddress(nc.Address)
		n := &node{
			addr: nc.Address, network: network, hostport: hostport,
			weight: nc.Weight, set: nc.Set, maxReply: cfg.MaxReplySize,
			resend: cfg.ResendInterval, log: log, closing: c.closing,
			pending: map[string]chan delivery{},
		}
		tr, err := newTransport(n, &c.wg)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("rtpengine: node %s: %w", nc.Address, err)
		}
		n.tr = tr
		c.nodes = append(c.nodes, n)
		c.byAddr[nc.Address] = n
		c.sets[nc.Set] = append(c.sets[nc.Set], n)
	}
	return c, nil
}

// Run pings every node at once and then every ping_interval, taking failed
// nodes out of the choice for new calls and bringing them back, and forgets
// calls idle for longer than affinity_ttl. It returns nil when ctx is done
// or the Client is closed.
func (c *Client) Run(ctx context.Context) error {
	t := time.NewTicker(c.cfg.PingInterval)
	defer t.Stop()
	for {
		c.pingAll(ctx)
		c.aff.expire(c.cfg.AffinityTTL)
		select {
		case <-ctx.Done():
			return nil
		case <-c.closing:
			return nil
		case <-t.C:
		}
	}
}

// pingAll pings every node in parallel and waits for all of them.
func (c *Client) pingAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, c.cfg.NodeTimeout)
			defer cancel()
			_, err := c.attemptJudged(pctx, n, "ping", map[string]any{"command": "ping"}, false)
			if ctx.Err() != nil {
				return // shutting down: says nothing about the node
			}
			if err != nil && !errors.Is(err, ErrOverloaded) {
				n.probed(false, c.cfg.DisableDuration, err)
				return
			}
			n.probed(true, 0, nil)
		}()
	}
	wg.Wait()
}

// Close closes every socket and waits for the reader goroutines. Commands
// in flight end with an error. Close is idempotent.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		close(c.closing)
		for _, n := range c.nodes {
			n.tr.close()
		}
		c.wg.Wait()
	})
	return nil
}

// Nodes returns the configured node addresses in configuration order.
func (c *Client) Nodes() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.addr
	}
	return out
}

// NodeOf returns the address of the node a call is pinned to, or "" when
// the call is not known (no successful offer yet, or deleted).
func (c *Client) NodeOf(callID string) string {
	if n := c.aff.get(callID); n != nil {
		return n.addr
	}
	return ""
}

// Enable puts a node disabled by Disable back into the choice for new calls.
func (c *Client) Enable(addr string) error { return c.setDisabled(addr, false) }

// Disable takes a node out of the choice for new calls (drain): calls
// already pinned to it go on using it.
func (c *Client) Disable(addr string) error { return c.setDisabled(addr, true) }

func (c *Client) setDisabled(addr string, off bool) error {
	n := c.byAddr[addr]
	if n == nil {
		return fmt.Errorf("%w: %q", ErrUnknownNode, addr)
	}
	n.hmu.Lock()
	n.disabled = off
	n.hmu.Unlock()
	c.log.Info("rtpengine node operator state changed", "node", addr, "disabled", off)
	return nil
}

// Stats returns a snapshot of every node's health and counters.
func (c *Client) Stats() []NodeStats {
	per := c.aff.expire(c.cfg.AffinityTTL)
	out := make([]NodeStats, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.snapshot()
		out[i].Pinned = per[n]
	}
	return out
}

// newCookie returns a cookie unique to this request.
func (c *Client) newCookie() string {
	return c.prefix + strconv.FormatUint(c.seq.Add(1), 36)
}

// attempt sends one command to one node (resending until ctx is done) and
// decodes and checks the reply. A timeout after at least one resend marks
// the node failed; an overload answer marks it overloaded.
func (c *Client) attempt(ctx context.Context, n *node, command string, dict map[string]any) (Reply, error) {
	return c.attemptJudged(ctx, n, command, dict, true)
}

// attemptJudged is attempt; judge false leaves the node's health alone.
func (c *Client) attemptJudged(ctx context.Context, n *node, command string, dict map[string]any, judge bool) (Reply, error) {
	cookie := c.newCookie()
	msg, err := encodeMessage(cookie, dict)
	if err != nil {
		return Reply{}, err
	}
	return c.send(ctx, n, command, cookie, msg, judge)
}

// send is attempt with an encoded message.
func (c *Client) send(ctx context.Context, n *node, command, cookie string, msg []byte, judge bool) (Reply, error) {
	select {
	case <-c.closing:
		return Reply{}, ErrClosed
	default:
	}
	start := time.Now()
	body, err := n.exchange(ctx, cookie, msg)
	if err != nil {
		// Close ends the wait at once, without judging the node.
		if errors.Is(err, ErrClosed) {
			return Reply{}, ErrClosed
		}
		if cerr := ctx.Err(); cerr != nil {
			if !errors.Is(cerr, context.DeadlineExceeded) {
				return Reply{}, cerr
			}
			waited := time.Since(start)
			if judge && waited >= n.resend {
				n.mark(StateFailed, c.cfg.DisableDuration, ErrTimeout)
			}
			return Reply{}, fmt.Errorf("%w: %s on %s after %s", ErrTimeout, command, n.addr, waited.Round(time.Millisecond))
		}
		return Reply{}, fmt.Errorf("%s on %s: %w", command, n.addr, err)
	}
	r, err := parseReply(body)
	if err != nil {
		n.stats.errors.Add(1)
		return Reply{}, fmt.Errorf("%s on %s: %w", command, n.addr, err)
	}
	r.Node = n.addr
	if err := r.check(command); err != nil {
		if errors.Is(err, ErrOverloaded) {
			n.stats.overloads.Add(1)
			if judge {
				n.mark(StateOverloaded, c.cfg.DisableDuration, err)
			}
		} else {
			n.stats.errors.Add(1)
		}
		return r, err
	}
	return r, nil
}

// candidates returns the nodes of set that may take a new call, best first
// for this Call-ID (weighted rendezvous hashing: the same call prefers the
// same node; weights set the share of calls).
func (c *Client) candidates(set, callID string, usableOnly bool) []*node {
	if set == "" {
		set = c.cfg.DefaultSet
	}
	all := c.sets[set]
	out := make([]*node, 0, len(all))
	scores := make([]float64, 0, len(all))
	for _, n := range all {
		if usableOnly && !n.usable() {
			continue
		}
		out = append(out, n)
		scores = append(scores, hrwScore(callID, n.addr, n.weight))
		for j := len(out) - 1; j > 0 && scores[j-1] < scores[j]; j-- {
			out[j-1], out[j] = out[j], out[j-1]
			scores[j-1], scores[j] = scores[j], scores[j-1]
		}
	}
	return out
}

// hrwScore is the weighted rendezvous hash score of a node for a call.
func hrwScore(callID, addr string, weight int) float64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < len(addr); i++ {
		h = (h ^ uint64(addr[i])) * prime
	}
	h = (h ^ 0xff) * prime
	for i := 0; i < len(callID); i++ {
		h = (h ^ uint64(callID[i])) * prime
	}
	// finalise (splitmix64) so similar inputs spread over the whole range
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	u := (float64(h>>11) + 0.5) / (1 << 53)
	return -float64(weight) / math.Log(u)
}

// newCall runs a command that may start a call (offer): a call already
// pinned stays on its node; a new one tries the set's usable nodes in
// order, moving on after node_timeout or an overload answer, within the
// caller's deadline and timeout. The node that answers is pinned.
func (c *Client) newCall(ctx context.Context, command, callID, set string, dict map[string]any) (Reply, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if n := c.aff.get(callID); n != nil {
		return c.onNode(ctx, n, command, dict)
	}
	cands := c.candidates(set, callID, true)
	if len(cands) == 0 {
		return Reply{}, fmt.Errorf("%w in set %q", ErrNoNode, orDefault(set, c.cfg.DefaultSet))
	}
	cookie := c.newCookie()
	msg, err := encodeMessage(cookie, dict)
	if err != nil {
		return Reply{}, err
	}
	var errs []error
	for i, n := range cands {
		actx, acancel := ctx, context.CancelFunc(func() {})
		if i < len(cands)-1 {
			actx, acancel = context.WithTimeout(ctx, c.cfg.NodeTimeout)
		}
		r, err := c.send(actx, n, command, cookie, msg, true)
		acancel()
		if err == nil {
			c.aff.set(callID, n)
			return r, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil || !(errors.Is(err, ErrTimeout) || errors.Is(err, ErrOverloaded)) {
			break
		}
		if c.log.Enabled(ctx, slog.LevelDebug) {
			c.log.Debug("rtpengine offer moves to next node", "call_id", callID, "node", n.addr, "error", err)
		}
	}
	if len(errs) == 1 {
		return Reply{}, errs[0]
	}
	return Reply{}, fmt.Errorf("%d nodes tried: %w", len(errs), errors.Join(errs...))
}

// onCall runs a command of an existing call on the node it is pinned to
// (or, for a call this Client has not seen, the node the set's hashing
// picks for its Call-ID). It never moves the call to another node.
func (c *Client) onCall(ctx context.Context, command, callID, set string, dict map[string]any) (Reply, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	n := c.aff.get(callID)
	if n == nil {
		cands := c.candidates(set, callID, false)
		if len(cands) == 0 {
			return Reply{}, fmt.Errorf("%w in set %q", ErrNoNode, orDefault(set, c.cfg.DefaultSet))
		}
		n = cands[0]
	}
	return c.onNode(ctx, n, command, dict)
}

// onNode runs a command on a given node, failing at once if the node is
// known to have failed.
func (c *Client) onNode(ctx context.Context, n *node, command string, dict map[string]any) (Reply, error) {
	if st, _ := n.health(); st == StateFailed {
		return Reply{}, fmt.Errorf("%w: %s", ErrNodeDown, n.addr)
	}
	return c.attempt(ctx, n, command, dict)
}

// node returns the node with address addr, or the first node for "".
func (c *Client) node(addr string) (*node, error) {
	if addr == "" {
		if len(c.nodes) == 0 {
			return nil, ErrNoNode
		}
		return c.nodes[0], nil
	}
	n := c.byAddr[addr]
	if n == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownNode, addr)
	}
	return n, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
