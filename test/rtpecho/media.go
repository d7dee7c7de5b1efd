package rtpecho

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// ErrNoRemote is returned by Media.Send before the far end's address is
// known from an SDP.
var ErrNoRemote = errors.New("rtpecho: remote RTP address unknown")

// TelephoneEventPT is the payload type of telephone-event/8000 in offers
// made with MediaConfig.TelephoneEvent.
const TelephoneEventPT = 101

// PacketInterval is the time between two RTP packets sent by Media.Send.
const PacketInterval = 20 * time.Millisecond

// MediaConfig shapes a Media endpoint.
type MediaConfig struct {
	// NoEcho turns the echo off: received packets are only counted.
	NoEcho bool
	// TelephoneEvent offers telephone-event/8000 (RFC 4733 DTMF, payload
	// type 101) and keeps an offered telephone-event in answers. Received
	// events are counted (MediaStats.ByPayloadType) and never echoed.
	TelephoneEvent bool
}

// MediaStats are a Media endpoint's counters.
type MediaStats struct {
	// PacketsIn and BytesIn count RTP packets (and whole datagram bytes)
	// received on the RTP socket.
	PacketsIn, BytesIn int
	// Echoed counts packets sent back to their source.
	Echoed int
	// Sent counts packets of this endpoint's own stream (Send).
	Sent int
	// OwnIn counts received packets whose payload is one of this
	// endpoint's own stream (a far end that echoes).
	OwnIn int
	// LastSource is the source address of the last received packet.
	LastSource netip.AddrPort
	// LastPayloadType is the payload type of the last received packet.
	LastPayloadType uint8
	// ByPayloadType counts received packets per payload type.
	ByPayloadType map[uint8]int
	// DTMF holds the digits of the RFC 4733 events received in full (end
	// bit seen) on the negotiated telephone-event payload type, in order.
	DTMF string
}

// Media is one plain RTP endpoint on 127.0.0.1 that echoes what it gets.
type Media struct {
	cfg  MediaConfig
	conn *net.UDPConn
	id   string
	ssrc uint32
	sess uint64
	wg   sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	version int
	remote  Remote
	pt      uint8
	te      uint8  // negotiated telephone-event payload type, 0 for none
	dir     string // our own direction
	lastEnd uint32 // RTP timestamp of the last completed event
	ended   bool   // an event has completed (lastEnd is valid)
	stats   MediaStats
	seq     uint16
}

// NewMedia opens an RTP socket on 127.0.0.1 (an even free port) and starts
// its reader.
func NewMedia(cfg MediaConfig) (*Media, error) {
	var conn *net.UDPConn
	for i := 0; i < 20 && conn == nil; i++ { // even port, as RTP wants
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return nil, fmt.Errorf("rtpecho: listen rtp: %w", err)
		}
		if c.LocalAddr().(*net.UDPAddr).Port%2 == 0 {
			conn = c
			break
		}
		defer c.Close() // keep odd ports taken until we found an even one
	}
	if conn == nil {
		return nil, errors.New("rtpecho: no even RTP port found in 20 tries")
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	m := &Media{cfg: cfg, conn: conn, id: hex.EncodeToString(b[:]), ssrc: binary.BigEndian.Uint32(b[:]), sess: sessionID(), dir: SendRecv}
	m.wg.Add(1)
	go m.read()
	return m, nil
}

// Port returns the local RTP port.
func (m *Media) Port() int { return m.conn.LocalAddr().(*net.UDPAddr).Port }

// Addr returns the local RTP address.
func (m *Media) Addr() netip.AddrPort { return m.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// ID returns the random id carried in this endpoint's payloads.
func (m *Media) ID() string { return m.id }

func (m *Media) read() {
	defer m.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, src, err := m.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if n < 12 || buf[0]>>6 != 2 || (buf[1] >= 192 && buf[1] <= 223) {
			continue // not RTP (or muxed RTCP)
		}
		m.mu.Lock()
		m.stats.PacketsIn++
		m.stats.BytesIn += n
		m.stats.LastSource = src
		m.stats.LastPayloadType = buf[1] & 0x7f
		if m.stats.ByPayloadType == nil {
			m.stats.ByPayloadType = map[uint8]int{}
		}
		m.stats.ByPayloadType[buf[1]&0x7f]++
		if isOwn(buf[:n], m.id) {
			m.stats.OwnIn++
		}
		if m.te != 0 && buf[1]&0x7f == m.te {
			m.event(buf[:n])
		}
		echo := !m.cfg.NoEcho && (m.dir == SendRecv || m.dir == SendOnly) && (m.te == 0 || buf[1]&0x7f != m.te)
		m.mu.Unlock()
		if !echo {
			continue
		}
		if _, err := m.conn.WriteToUDPAddrPort(buf[:n], src); err == nil {
			m.mu.Lock()
			m.stats.Echoed++
			m.mu.Unlock()
		}
	}
}

// event records a completed RFC 4733 event of packet pkt (end packets are
// sent three times with one timestamp). m.mu is held.
func (m *Media) event(pkt []byte) {
	off := 12 + 4*int(pkt[0]&0x0f)
	if len(pkt) < off+4 || pkt[off+1]&0x80 == 0 {
		return
	}
	ts := binary.BigEndian.Uint32(pkt[4:])
	if m.ended && ts == m.lastEnd {
		return
	}
	m.ended, m.lastEnd = true, ts
	if code := pkt[off]; int(code) < len(dtmfDigits) {
		m.stats.DTMF += string(dtmfDigits[code])
	}
}

// dtmfDigits maps RFC 4733 event codes 0-15 to their digits.
const dtmfDigits = "0123456789*#ABCD"

// Answer answers a plain RTP offer: it picks PCMU when offered (else PCMA,
// else the first static payload type), mirrors the offered direction and
// answers on this endpoint's port. A re-offer (hold/resume) gets an answer
// with the same port and a new o= version.
func (m *Media) Answer(offer string) (string, error) {
	r, err := ParseRemote(offer)
	if err != nil {
		return "", err
	}
	pt := choosePayload(r.Payloads)
	pts, names := []uint8{pt}, map[uint8]string{pt: rtpmapOf(offer, pt)}
	var te uint8
	if m.cfg.TelephoneEvent {
		for _, p := range r.Payloads {
			if v := rtpmapOf(offer, p); strings.HasPrefix(strings.ToLower(v), "telephone-event/8000") {
				te = p
				pts, names[p] = append(pts, p), v
				break
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.remote, m.pt, m.te, m.dir = r, pt, te, answerDirection(r.Direction)
	m.version++
	return buildSDP(m.sess, m.version, m.Port(), pts, names, m.dir), nil
}

// Offer returns a plain RTP/AVP offer (PCMU and PCMA) with direction dir
// ("" is sendrecv); a later Offer (re-INVITE) keeps the port and bumps the
// o= version.
func (m *Media) Offer(dir string) string {
	if dir == "" {
		dir = SendRecv
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dir = dir
	m.version++
	if m.cfg.TelephoneEvent {
		return buildSDP(m.sess, m.version, m.Port(), []uint8{0, 8, TelephoneEventPT}, map[uint8]string{TelephoneEventPT: "telephone-event/8000"}, dir)
	}
	return buildSDP(m.sess, m.version, m.Port(), []uint8{0, 8}, nil, dir)
}

// SetAnswer applies the far end's answer to Offer.
func (m *Media) SetAnswer(answer string) error {
	r, err := ParseRemote(answer)
	if err != nil {
		return err
	}
	var te uint8
	for _, p := range r.Payloads[1:] {
		if strings.HasPrefix(strings.ToLower(rtpmapOf(answer, p)), "telephone-event/") {
			te = p
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.remote, m.pt, m.te = r, r.Payloads[0], te
	return nil
}

// Remote returns what the last offer or answer from the far end said.
func (m *Media) Remote() Remote {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.remote
}

// Direction returns this endpoint's own direction from the last SDP it
// made.
func (m *Media) Direction() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dir
}

// Send sends n packets of this endpoint's own stream to the far end's SDP
// address, one every PacketInterval, with payloads from Payload.
func (m *Media) Send(ctx context.Context, n int) error {
	tick := time.NewTicker(PacketInterval)
	defer tick.Stop()
	for i := 0; i < n; i++ {
		m.mu.Lock()
		dst, pt, seq := m.remote.Addr, m.pt, m.seq
		m.seq++
		m.mu.Unlock()
		if !dst.IsValid() {
			return ErrNoRemote
		}
		pkt := make([]byte, 12, 12+160)
		pkt[0] = 0x80
		pkt[1] = pt
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*160)
		binary.BigEndian.PutUint32(pkt[8:], m.ssrc)
		pkt = append(pkt, Payload(m.id, int(seq))...)
		if _, err := m.conn.WriteToUDPAddrPort(pkt, dst); err != nil {
			return fmt.Errorf("rtpecho: send rtp: %w", err)
		}
		m.mu.Lock()
		m.stats.Sent++
		m.mu.Unlock()
		if i == n-1 {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Payload returns the 160-byte payload of packet seq of the stream id:
// "rtpecho <id> seq <n>" padded with 0xff (PCMU silence).
func Payload(id string, seq int) []byte {
	b := make([]byte, 160)
	for i := range b {
		b[i] = 0xff
	}
	copy(b, fmt.Sprintf("rtpecho %s seq %d", id, seq))
	return b
}

// IsPayloadOf reports whether an RTP payload belongs to the stream id.
func IsPayloadOf(payload []byte, id string) bool {
	p := "rtpecho " + id + " seq "
	return len(payload) >= len(p) && string(payload[:len(p)]) == p
}

func isOwn(pkt []byte, id string) bool {
	cc := int(pkt[0] & 0x0f)
	off := 12 + 4*cc
	if pkt[0]&0x10 != 0 && len(pkt) >= off+4 { // header extension
		off += 4 + 4*int(binary.BigEndian.Uint16(pkt[off+2:]))
	}
	return off <= len(pkt) && IsPayloadOf(pkt[off:], id)
}

// WaitIn waits until at least n packets were received or ctx ends.
func (m *Media) WaitIn(ctx context.Context, n int) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if m.Stats().PacketsIn >= n {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("rtpecho: %d of %d packets received: %w", m.Stats().PacketsIn, n, ctx.Err())
		}
	}
}

// Stats returns a snapshot of the counters.
func (m *Media) Stats() MediaStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.ByPayloadType = maps.Clone(m.stats.ByPayloadType)
	return s
}

// Close closes the RTP socket and waits for the reader. It is idempotent.
func (m *Media) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	err := m.conn.Close()
	m.wg.Wait()
	return err
}
