package rtpengine

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// OfferParams are the inputs of an offer: one SDP going from one party
// (FromTag) toward the other, rewritten according to Options.
type OfferParams struct {
	// CallID is the SIP Call-ID. Required.
	CallID string
	// FromTag is the tag of the party that made the offer: the From tag
	// for an offer in a request; for a late offer (SDP in the 200 OK, the
	// INVITE had none) it is the To tag (see LegTags). Required.
	FromTag string
	// ToTag is the other party's tag, when known.
	ToTag string
	// ViaBranch separates fork branches of one call, so deleting one branch
	// keeps the others.
	ViaBranch string
	// SDP is the offer body. Required.
	SDP string
	// Set names the node set for a new call; "" is the default set.
	Set string
	// Options say how to rewrite the SDP, usually ToBrowser() or
	// ToPlainRTP() plus ReceivedFrom.
	Options Options
}

// AnswerParams are the inputs of an answer (tags oriented as in the offer).
type AnswerParams struct {
	// CallID is the SIP Call-ID. Required.
	CallID string
	// FromTag is the offerer's tag (the same FromTag as in the offer). Required.
	FromTag string
	// ToTag is the answerer's tag. Required.
	ToTag string
	// ViaBranch is the fork branch the answer came from.
	ViaBranch string
	// SDP is the answer body. Required.
	SDP string
	// Options say how to rewrite the SDP.
	Options Options
}

// DeleteParams select what to delete: the whole call (CallID, FromTag) or
// one branch (ViaBranch) or one party (ToTag with the "to-tag" flag).
type DeleteParams struct {
	// CallID is the SIP Call-ID. Required.
	CallID string
	// FromTag is the From tag. Optional for rtpengine; sent when given.
	FromTag string
	// ToTag is the To tag.
	ToTag string
	// ViaBranch deletes only this fork branch (the call stays pinned).
	ViaBranch string
	// Fast skips the statistics in the reply (keeps UDP replies small).
	Fast bool
	// Flags are extra ng flags, e.g. "fatal" (unknown call is an error).
	Flags []string
	// Extra holds any other ng keys verbatim (e.g. "delete delay").
	Extra map[string]any
}

// CallRef selects a call, or one party or branch of it, for query,
// recording, DTMF and media commands.
type CallRef struct {
	// CallID is the SIP Call-ID. Required.
	CallID string
	// FromTag selects a party (block/unblock commands need the
	// "directional" flag for it to count).
	FromTag string
	// ToTag selects the other party.
	ToTag string
	// ViaBranch selects a fork branch.
	ViaBranch string
	// Label selects a party by the label given at offer/answer.
	Label string
	// Flags are extra ng flags, e.g. "directional", "all".
	Flags []string
	// Extra holds any other ng keys verbatim.
	Extra map[string]any
}

// PlayMediaParams select a party and the media to play to it. Playing
// media needs an rtpengine built with transcoding support.
type PlayMediaParams struct {
	CallRef
	// File is a path on the rtpengine host.
	File string
	// Blob is the media file's content.
	Blob []byte
	// RepeatTimes plays it this many times (0: once).
	RepeatTimes int
}

// PlayDTMFParams select a party and the DTMF event to inject. Offer and
// answer must both have carried the "inject DTMF" flag.
type PlayDTMFParams struct {
	CallRef
	// Code is the digit (0-9, *, #, A-D).
	Code string
	// Duration of the event; 0 uses rtpengine's default (100ms).
	Duration time.Duration
	// Volume in -dBm0; 0 uses rtpengine's default.
	Volume int
}

// LegTags returns the from-tag and to-tag to send for an SDP exchange, from
// the SIP message's From and To tags. For an offer in a request and its
// answer in a reply they are unchanged; for a late offer (offer in the 200
// OK, answer in the ACK) they are swapped, as Kamailio does.
func LegTags(sipFromTag, sipToTag string, lateOffer bool) (fromTag, toTag string) {
	if lateOffer {
		return sipToTag, sipFromTag
	}
	return sipFromTag, sipToTag
}

// Ping sends "ping" to one node ("" is the first node) and returns the
// round-trip time. It does not change the node's health state.
func (c *Client) Ping(ctx context.Context, node string) (time.Duration, error) {
	n, err := c.node(node)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	start := time.Now()
	if _, err := c.attemptJudged(ctx, n, "ping", map[string]any{"command": "ping"}, false); err != nil {
		return 0, fmt.Errorf("ping %s: %w", n.addr, err)
	}
	return time.Since(start), nil
}

// Offer sends an offer. A new call goes to the best usable node of its set
// (failing over to the next node on timeout or overload within the
// deadline) and is pinned there; a re-offer (re-INVITE) of a known call goes
// to its node. It always announces support for "load limit".
func (c *Client) Offer(ctx context.Context, p OfferParams) (Result, error) {
	if p.CallID == "" || p.FromTag == "" || p.SDP == "" {
		return Result{}, fmt.Errorf("offer: %w: call-id, from-tag and sdp are required", ErrInvalidParams)
	}
	d := map[string]any{"command": "offer", "call-id": p.CallID, "from-tag": p.FromTag, "sdp": p.SDP}
	setStr(d, "to-tag", p.ToTag)
	setStr(d, "via-branch", p.ViaBranch)
	p.Options.apply(d)
	d["supports"] = []string{"load limit"}
	r, err := c.newCall(ctx, "offer", p.CallID, p.Set, d)
	if err != nil {
		return Result{}, fmt.Errorf("offer call-id %s: %w", p.CallID, err)
	}
	return Result{SDP: r.SDP, Warning: r.Warning, Node: r.Node}, nil
}

// Answer sends an answer to the node that holds the call.
func (c *Client) Answer(ctx context.Context, p AnswerParams) (Result, error) {
	if p.CallID == "" || p.FromTag == "" || p.ToTag == "" || p.SDP == "" {
		return Result{}, fmt.Errorf("answer: %w: call-id, from-tag, to-tag and sdp are required", ErrInvalidParams)
	}
	d := map[string]any{"command": "answer", "call-id": p.CallID, "from-tag": p.FromTag, "to-tag": p.ToTag, "sdp": p.SDP}
	setStr(d, "via-branch", p.ViaBranch)
	p.Options.apply(d)
	r, err := c.onCall(ctx, "answer", p.CallID, "", d)
	if err != nil {
		return Result{}, fmt.Errorf("answer call-id %s: %w", p.CallID, err)
	}
	return Result{SDP: r.SDP, Warning: r.Warning, Node: r.Node}, nil
}

// Delete tears down a call (or one branch) on the node that holds it. An
// unknown call is not an error (Reply.Warning says so) unless the "fatal"
// flag is given. A whole-call delete unpins the call.
func (c *Client) Delete(ctx context.Context, p DeleteParams) (Reply, error) {
	if p.CallID == "" {
		return Reply{}, fmt.Errorf("delete: %w: call-id is required", ErrInvalidParams)
	}
	d := map[string]any{"command": "delete", "call-id": p.CallID}
	setStr(d, "from-tag", p.FromTag)
	setStr(d, "to-tag", p.ToTag)
	setStr(d, "via-branch", p.ViaBranch)
	setList(d, "flags", p.Flags)
	if p.Fast {
		addFlag(d, "fast")
	}
	addExtra(d, p.Extra)
	r, err := c.onCall(ctx, "delete", p.CallID, "", d)
	if p.ViaBranch == "" && (err == nil || errors.Is(err, ErrNodeDown) || errors.Is(err, ErrRejected)) {
		c.aff.remove(p.CallID)
	}
	if err != nil {
		return r, fmt.Errorf("delete call-id %s: %w", p.CallID, err)
	}
	return r, nil
}

// Query returns rtpengine's view of a call: created, last signal, tags
// with their medias and statistics, totals (use Reply.Map or Decode).
func (c *Client) Query(ctx context.Context, ref CallRef) (Reply, error) {
	return c.callCommand(ctx, "query", ref, nil)
}

// StartRecording starts recording a call (rtpengine's recording method).
func (c *Client) StartRecording(ctx context.Context, ref CallRef) error {
	_, err := c.callCommand(ctx, "start recording", ref, nil)
	return err
}

// StopRecording stops recording a call.
func (c *Client) StopRecording(ctx context.Context, ref CallRef) error {
	_, err := c.callCommand(ctx, "stop recording", ref, nil)
	return err
}

// BlockDTMF drops RFC 4733 DTMF events of a call (or of one party with
// FromTag and the "directional" flag).
func (c *Client) BlockDTMF(ctx context.Context, ref CallRef) error {
	_, err := c.callCommand(ctx, "block DTMF", ref, nil)
	return err
}

// UnblockDTMF undoes BlockDTMF.
func (c *Client) UnblockDTMF(ctx context.Context, ref CallRef) error {
	_, err := c.callCommand(ctx, "unblock DTMF", ref, nil)
	return err
}

// BlockMedia stops forwarding media of a call (or one party).
func (c *Client) BlockMedia(ctx context.Context, ref CallRef) error {
	_, err := c.callCommand(ctx, "block media", ref, nil)
	return err
}

// UnblockMedia undoes BlockMedia.
func (c *Client) UnblockMedia(ctx context.Context, ref CallRef) error {
	_, err := c.callCommand(ctx, "unblock media", ref, nil)
	return err
}

// PlayMedia plays a file or blob to a party; the reply may hold "duration".
func (c *Client) PlayMedia(ctx context.Context, p PlayMediaParams) (Reply, error) {
	if p.File == "" && len(p.Blob) == 0 {
		return Reply{}, fmt.Errorf("play media: %w: file or blob is required", ErrInvalidParams)
	}
	extra := map[string]any{}
	setStr(extra, "file", p.File)
	if len(p.Blob) > 0 {
		extra["blob"] = p.Blob
	}
	if p.RepeatTimes > 0 {
		extra["repeat-times"] = p.RepeatTimes
	}
	return c.callCommand(ctx, "play media", p.CallRef, extra)
}

// StopMedia stops playback; the reply may hold "last-frame-pos".
func (c *Client) StopMedia(ctx context.Context, ref CallRef) (Reply, error) {
	return c.callCommand(ctx, "stop media", ref, nil)
}

// PlayDTMF injects one DTMF event toward a party.
func (c *Client) PlayDTMF(ctx context.Context, p PlayDTMFParams) error {
	if p.Code == "" {
		return fmt.Errorf("play DTMF: %w: code is required", ErrInvalidParams)
	}
	extra := map[string]any{"code": p.Code}
	if p.Duration > 0 {
		extra["duration"] = p.Duration.Milliseconds()
	}
	if p.Volume != 0 {
		extra["volume"] = p.Volume
	}
	_, err := c.callCommand(ctx, "play DTMF", p.CallRef, extra)
	return err
}

// List returns up to limit Call-IDs active on one node ("" is the first
// node); limit 0 uses rtpengine's default (32).
func (c *Client) List(ctx context.Context, node string, limit int) ([]string, error) {
	d := map[string]any{"command": "list"}
	if limit > 0 {
		d["limit"] = limit
	}
	r, err := c.NodeCall(ctx, node, "list", d)
	if err != nil {
		return nil, err
	}
	var v struct {
		Calls []string `bencode:"calls"`
	}
	if err := r.Decode(&v); err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	return v.Calls, nil
}

// Statistics returns one node's global metrics ("" is the first node).
func (c *Client) Statistics(ctx context.Context, node string) (Reply, error) {
	return c.NodeCall(ctx, node, "statistics", nil)
}

// Call sends any ng command with the keys in args. When args holds a
// "call-id" the command goes where that call lives ("offer" of a new call
// picks and pins a node like Offer); otherwise it goes to the first usable
// node of the default set.
func (c *Client) Call(ctx context.Context, command string, args map[string]any) (Reply, error) {
	d := map[string]any{}
	addExtra(d, args)
	d["command"] = command
	callID, _ := d["call-id"].(string)
	var (
		r   Reply
		err error
	)
	switch {
	case callID != "" && command == "offer":
		r, err = c.newCall(ctx, command, callID, "", d)
	case callID != "":
		r, err = c.onCall(ctx, command, callID, "", d)
	default:
		cands := c.candidates("", "", true)
		if len(cands) == 0 {
			return Reply{}, fmt.Errorf("%s: %w", command, ErrNoNode)
		}
		r, err = c.NodeCall(ctx, cands[0].addr, command, d)
	}
	if err != nil {
		return r, fmt.Errorf("%s: %w", command, err)
	}
	return r, nil
}

// NodeCall sends any ng command to one node ("" is the first node), e.g.
// node-wide commands such as "list" or "statistics".
func (c *Client) NodeCall(ctx context.Context, node, command string, args map[string]any) (Reply, error) {
	n, err := c.node(node)
	if err != nil {
		return Reply{}, err
	}
	d := map[string]any{}
	addExtra(d, args)
	d["command"] = command
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	r, err := c.attempt(ctx, n, command, d)
	if err != nil {
		return r, fmt.Errorf("%s on %s: %w", command, n.addr, err)
	}
	return r, nil
}

// callCommand sends a command about an existing call to its node.
func (c *Client) callCommand(ctx context.Context, command string, ref CallRef, extra map[string]any) (Reply, error) {
	if ref.CallID == "" {
		return Reply{}, fmt.Errorf("%s: %w: call-id is required", command, ErrInvalidParams)
	}
	d := map[string]any{"command": command, "call-id": ref.CallID}
	setStr(d, "from-tag", ref.FromTag)
	setStr(d, "to-tag", ref.ToTag)
	setStr(d, "via-branch", ref.ViaBranch)
	setStr(d, "label", ref.Label)
	setList(d, "flags", ref.Flags)
	addExtra(d, extra)
	addExtra(d, ref.Extra)
	r, err := c.onCall(ctx, command, ref.CallID, "", d)
	if err != nil {
		return r, fmt.Errorf("%s call-id %s: %w", command, ref.CallID, err)
	}
	return r, nil
}

// addExtra copies keys of extra that d does not have yet.
func addExtra(d, extra map[string]any) {
	for k, v := range extra {
		if _, taken := d[k]; !taken && v != nil {
			d[k] = v
		}
	}
}
