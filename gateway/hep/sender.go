package hep

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipedge/sipedge/gateway/wire"
)

// Sender sends tapped SIP messages to a HEP collector. It implements
// wire.Tap. New starts its writer goroutine; Close stops it.
type Sender struct {
	cfg Config
	log *slog.Logger
	q   chan []byte

	sent, dropped atomic.Uint64

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// redialPause is how long a TCP sender waits after a failed connection.
const redialPause = time.Second

// New returns a running Sender for a valid, enabled cfg (SetDefaults
// applied). For UDP the socket is opened here, so a bad address fails now;
// a TCP collector is connected in the background and reconnected when the
// connection breaks (packets queued meanwhile are kept up to QueueSize).
func New(cfg Config, log *slog.Logger) (*Sender, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sender{cfg: cfg, log: log.With("component", "hep"), q: make(chan []byte, cfg.QueueSize), stop: make(chan struct{})}
	var udp net.Conn
	if cfg.Transport == "udp" {
		c, err := net.Dial("udp", cfg.Address)
		if err != nil {
			return nil, fmt.Errorf("hep: %w", err)
		}
		udp = c
	}
	s.wg.Add(1)
	go func() { // owner: s; stopped by Close
		defer s.wg.Done()
		if udp != nil {
			s.runUDP(udp)
		} else {
			s.runTCP()
		}
	}()
	return s, nil
}

// Tap implements wire.Tap: it encodes m and queues it, or drops it when
// the queue is full.
func (s *Sender) Tap(m *wire.Tapped) {
	if len(bytes.TrimSpace(m.Data)) == 0 {
		return // keepalive
	}
	b, err := Append(make([]byte, 0, len(m.Data)+256), Packet{Src: m.Src, Dst: m.Dst, TCP: m.Transport != "udp", Time: m.Time,
		CaptureID: s.cfg.CaptureID, AuthKey: s.cfg.AuthKey, Correlation: string(CallID(m.Data)), Payload: m.Data})
	if err != nil {
		s.dropped.Add(1)
		return
	}
	select {
	case s.q <- b:
	default:
		s.dropped.Add(1)
	}
}

// Stats returns the packets written and the packets dropped (queue full,
// too large, unencodable addresses, write errors).
func (s *Sender) Stats() (sent, dropped uint64) { return s.sent.Load(), s.dropped.Load() }

// Close stops the writer (packets still queued are dropped) and closes the
// socket. It is idempotent.
func (s *Sender) Close() error {
	s.once.Do(func() {
		close(s.stop)
		s.wg.Wait()
	})
	return nil
}

func (s *Sender) done(err error) {
	if err != nil {
		s.dropped.Add(1)
	} else {
		s.sent.Add(1)
	}
}

func (s *Sender) runUDP(c net.Conn) {
	defer c.Close()
	for {
		select {
		case <-s.stop:
			return
		case b := <-s.q:
			_, err := c.Write(b)
			s.done(err)
		}
	}
}

func (s *Sender) runTCP() {
	var c net.Conn
	defer func() {
		if c != nil {
			_ = c.Close()
		}
	}()
	d := net.Dialer{Timeout: 5 * time.Second}
	var buf []byte
	for {
		if c == nil {
			var err error
			c, err = d.Dial("tcp", s.cfg.Address)
			if err != nil {
				c = nil
				s.log.Warn("hep collector unreachable", "addr", s.cfg.Address, "error", err)
				select {
				case <-s.stop:
					return
				case <-time.After(redialPause):
				}
				continue
			}
		}
		select {
		case <-s.stop:
			return
		case b := <-s.q:
			// Coalesce what is queued into one write (one syscall for a
			// burst of messages, not one each).
			batch, n := append(buf[:0], b...), 1
		more:
			for len(batch) < 64<<10 {
				select {
				case b := <-s.q:
					batch = append(batch, b...)
					n++
				default:
					break more
				}
			}
			buf = batch
			_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_, err := c.Write(batch)
			for range n {
				s.done(err)
			}
			if err != nil {
				s.log.Warn("hep collector connection lost", "addr", s.cfg.Address, "error", err)
				_ = c.Close()
				c = nil
			}
		}
	}
}

var _ wire.Tap = (*Sender)(nil)
