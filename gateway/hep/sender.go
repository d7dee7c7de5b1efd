package hep

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/sipedge/sipedge/gateway/wire"
)

// Sender sends tapped SIP messages to a HEP collector. It implements
// wire.Tap. New starts its writer goroutine; Close stops it.
//
// The I/O path pays for a copy of the message into a pooled buffer and a
// non-blocking queue send, nothing else: the Call-ID scan, the encoding
// and the writes are the writer's. The writer wakes once per flushDelay
// window while messages come (not once per message), encodes all that is
// queued and writes it in as few system calls as it can: one stream write
// per 64 KiB over TCP, one sendmmsg per batchDatagrams datagrams over UDP.
type Sender struct {
	cfg Config
	log *slog.Logger
	q   chan item
	// kick wakes the writer; kicked is set by the first message of a
	// window, so later ones do not touch the channel.
	kick   chan struct{}
	kicked atomic.Bool
	bufs   sync.Pool // *[]byte copies of messages, back from the writer

	sent, dropped atomic.Uint64

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// item is one queued message: a copy of its octets and what the packet
// says about it.
type item struct {
	data     *[]byte
	src, dst netip.AddrPort
	at       time.Time
	tcp      bool
}

const (
	// redialPause is how long a TCP sender waits after a failed connection.
	redialPause = time.Second
	// flushDelay is how long the writer lets messages gather after the
	// first one of a window before it encodes and writes them: the capture
	// runs this much behind the wire, at most one wakeup (and, over TCP,
	// one write) per window. At 10 ms the default 4096-packet queue holds
	// up to 400,000 messages/s (see docs/benchmarks.md for what it saves).
	flushDelay = 10 * time.Millisecond
	// streamBatch is the most bytes of packets given to one TCP write.
	streamBatch = 64 << 10
	// batchDatagrams is the most datagrams given to one sendmmsg.
	batchDatagrams = 64
	// keptBuffer is the largest message copy returned to the pool (a
	// larger one is left to the garbage collector).
	keptBuffer = 16 << 10
)

// New returns a running Sender for a valid, enabled cfg (SetDefaults
// applied). For UDP the socket is opened here, so a bad address fails now;
// a TCP collector is connected in the background and reconnected when the
// connection breaks (packets queued meanwhile are kept up to QueueSize).
func New(cfg Config, log *slog.Logger) (*Sender, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sender{cfg: cfg, log: log.With("component", "hep"), q: make(chan item, cfg.QueueSize),
		kick: make(chan struct{}, 1), stop: make(chan struct{})}
	s.bufs.New = func() any { b := make([]byte, 0, 2048); return &b }
	var udp *net.UDPConn
	if cfg.Transport == "udp" {
		c, err := net.Dial("udp", cfg.Address)
		if err != nil {
			return nil, fmt.Errorf("hep: %w", err)
		}
		udp = c.(*net.UDPConn)
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

// Tap implements wire.Tap: it copies m and queues it, or drops it when
// the queue is full. It never blocks.
func (s *Sender) Tap(m wire.Tapped) {
	if len(m.Data) <= 4 || len(bytes.TrimSpace(m.Data)) == 0 {
		return // keepalive
	}
	if len(m.Data) > maxPacket {
		s.dropped.Add(1)
		return
	}
	bp := s.bufs.Get().(*[]byte)
	*bp = append((*bp)[:0], m.Data...)
	select {
	case s.q <- item{data: bp, src: m.Src, dst: m.Dst, at: m.Time, tcp: m.Transport != "udp"}:
	default:
		s.dropped.Add(1)
		s.bufs.Put(bp)
		return
	}
	if !s.kicked.Load() && !s.kicked.Swap(true) {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// Stats returns the packets written and the packets dropped (queue full,
// too large, unencodable addresses, write errors).
func (s *Sender) Stats() (sent, dropped uint64) { return s.sent.Load(), s.dropped.Load() }

// Close stops the writer and closes the socket; what is queued is written
// first when the collector is connected. It is idempotent.
func (s *Sender) Close() error {
	s.once.Do(func() {
		close(s.stop)
		s.wg.Wait()
	})
	return nil
}

// wait blocks until a window of messages is ready (kicked, then
// flushDelay later); false when the sender is stopping.
func (s *Sender) wait(t *time.Timer) bool {
	select {
	case <-s.stop:
		return false
	case <-s.kick:
	}
	t.Reset(flushDelay)
	select {
	case <-s.stop:
		t.Stop()
		return false
	case <-t.C:
	}
	s.kicked.Store(false) // before draining: a message after this kicks again
	return true
}

// encode appends it as one packet to dst and recycles its copy; an
// unencodable message is counted as dropped and leaves dst as it was.
func (s *Sender) encode(dst []byte, it item) ([]byte, bool) {
	data := *it.data
	out, err := Append(dst, Packet{Src: it.src, Dst: it.dst, TCP: it.tcp, Time: it.at, CaptureID: s.cfg.CaptureID,
		AuthKey: s.cfg.AuthKey, Correlation: CallID(data), Payload: data})
	if cap(data) <= keptBuffer {
		s.bufs.Put(it.data)
	}
	if err != nil {
		s.dropped.Add(1)
		return dst, false
	}
	return out, true
}

func (s *Sender) done(n int, err error) {
	if err != nil {
		s.dropped.Add(uint64(n))
	} else {
		s.sent.Add(uint64(n))
	}
}

// batchWriter is ipv4.PacketConn or ipv6.PacketConn: sendmmsg on Linux.
type batchWriter interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

func (s *Sender) runUDP(c *net.UDPConn) {
	defer c.Close()
	var w batchWriter = ipv4.NewPacketConn(c)
	if ap := addrPortOf(c.RemoteAddr()); ap.Addr().Is6() && !ap.Addr().Is4In6() {
		w = ipv6.NewPacketConn(c)
	}
	arena := make([]byte, 0, batchDatagrams*2048)
	msgs := make([]ipv4.Message, batchDatagrams)
	bufs := make([][]byte, batchDatagrams)
	for i := range msgs {
		msgs[i].Buffers = bufs[i : i+1]
	}
	t := time.NewTimer(time.Hour)
	t.Stop()
	flush := func() {
		for more := true; more; {
			arena, more = arena[:0], false
			n := 0
		fill:
			for n < batchDatagrams {
				select {
				case it := <-s.q:
					start := len(arena)
					var ok bool
					if arena, ok = s.encode(arena, it); ok {
						bufs[n] = arena[start:len(arena):len(arena)]
						n++
					}
				default:
					break fill
				}
			}
			more = n == batchDatagrams
			for sent := 0; sent < n; {
				k, err := w.WriteBatch(msgs[sent:n], 0)
				if err != nil {
					s.done(n-sent, err)
					break
				}
				s.done(k, nil)
				sent += k
			}
		}
	}
	for s.wait(t) {
		flush()
	}
	flush()
}

func addrPortOf(a net.Addr) netip.AddrPort {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.AddrPort()
	}
	return netip.AddrPort{}
}

func (s *Sender) runTCP() {
	var c net.Conn
	defer func() {
		if c != nil {
			_ = c.Close()
		}
	}()
	d := net.Dialer{Timeout: 5 * time.Second}
	batch := make([]byte, 0, streamBatch+4096)
	t := time.NewTimer(time.Hour)
	t.Stop()
	write := func(n int) {
		_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, err := c.Write(batch)
		s.done(n, err)
		if err != nil {
			s.log.Warn("hep collector connection lost", "addr", s.cfg.Address, "error", err)
			_ = c.Close()
			c = nil
		}
	}
	flush := func() {
		batch = batch[:0]
		n := 0
		for c != nil {
			select {
			case it := <-s.q:
				var ok bool
				if batch, ok = s.encode(batch, it); ok {
					n++
				}
				if len(batch) < streamBatch {
					continue
				}
			default:
			}
			if n > 0 {
				write(n)
			}
			if len(batch) < streamBatch || c == nil {
				return
			}
			batch, n = batch[:0], 0
		}
	}
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
			if len(s.q) > 0 {
				flush() // what waited for the connection
			}
		}
		if !s.wait(t) {
			flush()
			return
		}
		flush()
	}
}

var _ wire.Tap = (*Sender)(nil)
