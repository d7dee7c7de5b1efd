package rtpecho

import (
	"context"
	"fmt"
	"sync"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Call is one call of a UA, incoming or outgoing, with its Media endpoint.
type Call struct {
	// CallID is the SIP Call-ID.
	CallID string
	// Outgoing is true for a call placed with UA.Call.
	Outgoing bool
	// Media is the call's RTP endpoint (echo and counters). It is closed
	// when the call ends; its Stats stay readable.
	Media *Media

	srv *sipgo.DialogServerSession
	cli *sipgo.DialogClientSession

	ended   chan struct{}
	ackCh   chan struct{}
	ackOnce sync.Once

	mu        sync.Mutex
	reason    string
	reinvites int
	bye       *sip.Request // the BYE received, if any
	acked     bool
	lateOffer bool
}

func newCall(callID string, outgoing bool, m *Media) *Call {
	return &Call{CallID: callID, Outgoing: outgoing, Media: m, ended: make(chan struct{}), ackCh: make(chan struct{})}
}

// Ended is closed when the call has ended (BYE either way, CANCEL, UA
// closed).
func (c *Call) Ended() <-chan struct{} { return c.ended }

// EndReason returns one of the End* constants, or "" while the call lasts.
func (c *Call) EndReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// Reinvites returns how many re-INVITEs were answered in this call.
func (c *Call) Reinvites() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reinvites
}

// ByeReceived returns the BYE that ended the call from the far end, or
// nil.
func (c *Call) ByeReceived() *sip.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bye
}

// WaitAck waits for the ACK of an incoming call (an outgoing call is
// acknowledged by UA.Call itself).
func (c *Call) WaitAck(ctx context.Context) error {
	select {
	case <-c.ackCh:
		return nil
	case <-c.ended:
		return fmt.Errorf("rtpecho: call %s ended (%s) before its ACK", c.CallID, c.EndReason())
	case <-ctx.Done():
		return fmt.Errorf("rtpecho: waiting for ACK: %w", ctx.Err())
	}
}

// WaitEnded waits until the call has ended and returns its reason.
func (c *Call) WaitEnded(ctx context.Context) (string, error) {
	select {
	case <-c.ended:
		return c.EndReason(), nil
	case <-ctx.Done():
		return "", fmt.Errorf("rtpecho: waiting for call end: %w", ctx.Err())
	}
}

// Hangup sends BYE and waits for its final response.
func (c *Call) Hangup(ctx context.Context) error {
	if c.isEnded() {
		return nil
	}
	var err error
	switch {
	case c.cli != nil:
		err = c.cli.Bye(ctx)
	case c.srv != nil:
		err = c.srv.Bye(ctx)
	}
	c.end(EndByeSent)
	if err != nil {
		return fmt.Errorf("rtpecho: bye: %w", err)
	}
	return nil
}

func (c *Call) isEnded() bool {
	select {
	case <-c.ended:
		return true
	default:
		return false
	}
}

// end records the reason, closes Ended and the media; later calls do
// nothing.
func (c *Call) end(reason string) {
	c.mu.Lock()
	if c.reason != "" {
		c.mu.Unlock()
		return
	}
	c.reason = reason
	c.mu.Unlock()
	close(c.ended)
	_ = c.Media.Close()
}

// Reinvite sends a re-INVITE with a new offer of direction dir (SendOnly
// to hold, SendRecv to resume), applies the answer and ACKs it, on an
// outgoing call or on an incoming one (toward the caller's Contact, along
// its Record-Route).
func (c *Call) Reinvite(ctx context.Context, dir string) error {
	if c.isEnded() {
		return fmt.Errorf("rtpecho: re-INVITE: call %s ended", c.CallID)
	}
	var d interface {
		Do(context.Context, *sip.Request) (*sip.Response, error)
		WriteRequest(*sip.Request) error
	}
	var target sip.Uri
	switch {
	case c.cli != nil:
		d, target = c.cli, c.cli.InviteRequest.Recipient
		if ct := c.cli.InviteResponse.Contact(); ct != nil {
			target = ct.Address
		}
	case c.srv != nil:
		d = c.srv
		ct := c.srv.InviteRequest.Contact()
		if ct == nil {
			return fmt.Errorf("rtpecho: re-INVITE: the caller's INVITE has no Contact")
		}
		target = ct.Address
	default:
		return fmt.Errorf("rtpecho: re-INVITE: call %s has no dialog", c.CallID)
	}
	req := sip.NewRequest(sip.INVITE, target)
	req.SetBody([]byte(c.Media.Offer(dir)))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res, err := d.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("rtpecho: re-INVITE: %w", err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("rtpecho: re-INVITE: %d %s", res.StatusCode, res.Reason)
	}
	if err := c.Media.SetAnswer(string(res.Body())); err != nil {
		return err
	}
	ack := sip.NewRequest(sip.ACK, target)
	if err := d.WriteRequest(ack); err != nil {
		return fmt.Errorf("rtpecho: re-INVITE ACK: %w", err)
	}
	c.mu.Lock()
	c.reinvites++
	c.mu.Unlock()
	return nil
}
