package nat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/pion/stun/v2"
)

// Software is the SOFTWARE attribute value of STUN responses.
const Software = "sipedge"

// STUNServer answers STUN Binding requests (RFC 8489 §7.3) with the
// requester's reflexive address in XOR-MAPPED-ADDRESS, plus SOFTWARE and
// FINGERPRINT. Everything else (other methods, responses, indications,
// non-STUN packets, a wrong FINGERPRINT) is ignored. It needs no
// credentials: it only tells clients their own address.
type STUNServer struct {
	log *slog.Logger
}

// NewSTUNServer returns a responder logging through log (nil: no logging).
func NewSTUNServer(log *slog.Logger) *STUNServer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &STUNServer{log: log.With("component", "stun")}
}

// Serve answers requests arriving on pc until ctx ends (it then returns nil)
// or reading fails (it returns the error). pc stays open; the caller owns it.
func (s *STUNServer) Serve(ctx context.Context, pc net.PacketConn) error {
	stop := context.AfterFunc(ctx, func() { _ = pc.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, 1500)
	s.log.Info("STUN responder listening", "addr", pc.LocalAddr().String())
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("nat: stun read: %w", err)
		}
		res, ok := s.Answer(buf[:n], from)
		if !ok {
			continue
		}
		if _, err := pc.WriteTo(res, from); err != nil {
			s.log.Debug("STUN response not sent", "dst", from.String(), "error", err)
		}
	}
}

// Answer returns the response to one packet received from from, or false if
// the packet is not a valid Binding request. It does not keep pkt.
func (s *STUNServer) Answer(pkt []byte, from net.Addr) ([]byte, bool) {
	if !stun.IsMessage(pkt) {
		return nil, false
	}
	req := &stun.Message{Raw: append([]byte(nil), pkt...)}
	if err := req.Decode(); err != nil {
		return nil, false
	}
	if req.Type != stun.BindingRequest {
		return nil, false
	}
	if req.Contains(stun.AttrFingerprint) && stun.Fingerprint.Check(req) != nil {
		return nil, false
	}
	ap, err := netip.ParseAddrPort(from.String())
	if err != nil {
		return nil, false
	}
	res, err := stun.Build(
		stun.NewTransactionIDSetter(req.TransactionID),
		stun.BindingSuccess,
		&stun.XORMappedAddress{IP: ap.Addr().Unmap().AsSlice(), Port: int(ap.Port())},
		stun.NewSoftware(Software),
		stun.Fingerprint,
	)
	if err != nil {
		s.log.Debug("STUN response not built", "src", from.String(), "error", err)
		return nil, false
	}
	return res.Raw, true
}
