package webrtcpeer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Codec names accepted in Config.Codec.
const (
	CodecPCMU = "PCMU" // payload type 0, 8000 Hz, 160-byte payloads
	CodecOpus = "opus" // payload type 111, 48000 Hz
)

// TelephoneEventPT is the payload type of telephone-event/8000 offered with
// Config.TelephoneEvent.
const TelephoneEventPT = 101

// MimeTypeTelephoneEvent is the MIME type of RFC 4733 events.
const MimeTypeTelephoneEvent = "audio/telephone-event"

// PacketInterval is the time between two RTP packets sent by Send.
const PacketInterval = 20 * time.Millisecond

// Config shapes a Peer. The zero value is a PCMU peer.
type Config struct {
	// Codec is CodecPCMU (default) or CodecOpus: the only codec the peer
	// offers, accepts and sends.
	Codec string
	// Lenient accepts remote SDPs that Chromium would refuse (no BUNDLE
	// group, no a=rtcp-mux); pion itself accepts them. Default false: the
	// peer checks CheckChromiumRules like a max-bundle browser.
	Lenient bool
	// SetupTimeout bounds CreateOffer and AcceptOffer's wait for ICE
	// gathering. Default 5s.
	SetupTimeout time.Duration
	// TelephoneEvent also offers and accepts telephone-event/8000 (RFC
	// 4733 DTMF, payload type 101), as Chromium does. The peer never
	// sends it; received events are counted in Stats.Events.
	TelephoneEvent bool
}

// Stats are a Peer's media counters.
type Stats struct {
	// PacketsSent and BytesSent count RTP packets (and payload bytes)
	// written to the track by Send.
	PacketsSent, BytesSent int
	// PacketsReceived and BytesReceived count decrypted RTP packets (and
	// payload bytes) received on all remote tracks.
	PacketsReceived, BytesReceived int
	// Echoed counts received packets whose payload is one this peer sent.
	Echoed int
	// Foreign counts received packets whose payload this peer never sent.
	Foreign int
	// Tracks counts remote tracks (SSRCs) seen.
	Tracks int
	// PayloadType is the payload type of the last received audio packet.
	PayloadType uint8
	// Events counts received telephone-event packets (Config.TelephoneEvent).
	Events int
}

// Peer is a browser-like WebRTC audio endpoint.
type Peer struct {
	cfg   Config
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP
	id    string // random prefix of every payload
	pt    uint8
	tsInc uint32

	connected chan struct{} // closed once on PeerConnectionStateConnected
	failed    chan struct{} // closed once on failed/closed before connected
	connOnce  sync.Once
	failOnce  sync.Once

	wg      sync.WaitGroup
	mu      sync.Mutex
	closed  bool
	sentSet map[[32]byte]struct{}
	stats   Stats
	seq     uint16
	ts      uint32
}

// ErrNotConnected is returned by WaitConnected when the connection failed
// or was closed before it was ever connected.
var ErrNotConnected = errors.New("webrtcpeer: connection failed before it was connected")

// NewPeer creates a Peer that gathers only 127.0.0.1 UDP host candidates.
func NewPeer(cfg Config) (*Peer, error) {
	if cfg.Codec == "" {
		cfg.Codec = CodecPCMU
	}
	if cfg.SetupTimeout <= 0 {
		cfg.SetupTimeout = 5 * time.Second
	}
	var codec webrtc.RTPCodecParameters
	p := &Peer{cfg: cfg, connected: make(chan struct{}), failed: make(chan struct{}), sentSet: map[[32]byte]struct{}{}}
	switch cfg.Codec {
	case CodecPCMU:
		codec = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}, PayloadType: 0}
		p.tsInc = 160
	case CodecOpus:
		codec = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111}
		p.tsInc = 960
	default:
		return nil, fmt.Errorf("webrtcpeer: unknown codec %q (want %q or %q)", cfg.Codec, CodecPCMU, CodecOpus)
	}
	p.pt = uint8(codec.PayloadType)

	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(codec, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("webrtcpeer: register codec: %w", err)
	}
	if cfg.TelephoneEvent {
		te := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: MimeTypeTelephoneEvent, ClockRate: 8000, SDPFmtpLine: "0-16"}, PayloadType: TelephoneEventPT}
		if err := me.RegisterCodec(te, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("webrtcpeer: register telephone-event: %w", err)
		}
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// rtpengine's answer carries no a=ssrc: accept the SSRCs it sends on
	// the single audio section, as a browser does.
	se.SetHandleUndeclaredSSRCWithoutAnswer(true)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))

	pc, err := api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	})
	if err != nil {
		return nil, fmt.Errorf("webrtcpeer: new peer connection: %w", err)
	}
	p.pc = pc
	p.id = randHex(4)
	track, err := webrtc.NewTrackLocalStaticRTP(codec.RTPCodecCapability, "audio", "webrtcpeer-"+p.id)
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("webrtcpeer: new track: %w", err)
	}
	p.track = track
	sender, err := pc.AddTrack(track)
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("webrtcpeer: add track: %w", err)
	}
	pc.OnConnectionStateChange(p.onState)
	pc.OnTrack(p.onTrack)
	p.wg.Add(1)
	go func() { // drain RTCP so interceptors run; ends when pc closes
		defer p.wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	return p, nil
}

func (p *Peer) onState(s webrtc.PeerConnectionState) {
	switch s {
	case webrtc.PeerConnectionStateConnected:
		p.connOnce.Do(func() { close(p.connected) })
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		p.failOnce.Do(func() { close(p.failed) })
	}
}

func (p *Peer) onTrack(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.stats.Tracks++
	p.wg.Add(1)
	p.mu.Unlock()
	defer p.wg.Done()
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		sum := sha256.Sum256(pkt.Payload)
		p.mu.Lock()
		if p.cfg.TelephoneEvent && pkt.PayloadType == TelephoneEventPT {
			p.stats.Events++
			p.mu.Unlock()
			continue
		}
		p.stats.PacketsReceived++
		p.stats.BytesReceived += len(pkt.Payload)
		p.stats.PayloadType = pkt.PayloadType
		if _, ok := p.sentSet[sum]; ok {
			p.stats.Echoed++
		} else {
			p.stats.Foreign++
		}
		p.mu.Unlock()
	}
}

// CreateOffer creates the caller's offer, waits until ICE gathering is
// complete and returns the SDP with its candidates, rewritten by
// BrowserLikeSDP.
func (p *Peer) CreateOffer() (string, error) {
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		return "", fmt.Errorf("webrtcpeer: create offer: %w", err)
	}
	return p.setLocal(offer)
}

// SetAnswer applies the callee's answer to this peer's offer. Unless
// Config.Lenient, an answer Chromium would refuse (CheckChromiumRules)
// is refused with ErrNotBrowserSDP.
func (p *Peer) SetAnswer(sdp string) error {
	if !p.cfg.Lenient {
		if err := CheckChromiumRules(sdp); err != nil {
			return err
		}
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		return fmt.Errorf("webrtcpeer: set answer: %w", err)
	}
	return nil
}

// AcceptOffer applies a remote offer (the called side) and returns the
// answer; unless Config.Lenient it first refuses, with ErrNotBrowserSDP,
// an offer Chromium would refuse (CheckChromiumRules). It returns the
// answer SDP with its candidates, once ICE gathering is complete, rewritten
// by BrowserLikeSDP. A max-bundle peer rejects (port 0) every m= line that
// the offer has outside an a=group:BUNDLE (see rtpengine.EnsureBundle).
func (p *Peer) AcceptOffer(sdp string) (string, error) {
	if !p.cfg.Lenient {
		if err := CheckChromiumRules(sdp); err != nil {
			return "", err
		}
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return "", fmt.Errorf("webrtcpeer: set offer: %w", err)
	}
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("webrtcpeer: create answer: %w", err)
	}
	return p.setLocal(answer)
}

func (p *Peer) setLocal(d webrtc.SessionDescription) (string, error) {
	done := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(d); err != nil {
		return "", fmt.Errorf("webrtcpeer: set local %s: %w", d.Type, err)
	}
	select {
	case <-done:
	case <-time.After(p.cfg.SetupTimeout):
		return "", fmt.Errorf("webrtcpeer: ICE gathering not complete after %s", p.cfg.SetupTimeout)
	}
	return BrowserLikeSDP(p.pc.LocalDescription().SDP), nil
}

// WaitConnected waits until ICE and DTLS are connected, the connection
// failed (ErrNotConnected) or ctx ends.
func (p *Peer) WaitConnected(ctx context.Context) error {
	select {
	case <-p.connected:
		return nil
	case <-p.failed:
		return fmt.Errorf("%w (state %s)", ErrNotConnected, p.pc.ConnectionState())
	case <-ctx.Done():
		return fmt.Errorf("webrtcpeer: waiting for connected (ice %s, state %s): %w",
			p.pc.ICEConnectionState(), p.pc.ConnectionState(), ctx.Err())
	}
}

// Connected reports whether the connection reached the connected state.
func (p *Peer) Connected() bool {
	select {
	case <-p.connected:
		return true
	default:
		return false
	}
}

// State returns the PeerConnection state ("new", "connecting",
// "connected", "failed", "closed", ...).
func (p *Peer) State() string { return p.pc.ConnectionState().String() }

// Send writes n RTP packets, one every PacketInterval, and returns when
// they are written or ctx ends. Each payload holds "webrtcpeer <id> seq
// <n>" padded to 160 bytes, so echoes are recognized.
func (p *Peer) Send(ctx context.Context, n int) error {
	tick := time.NewTicker(PacketInterval)
	defer tick.Stop()
	for i := 0; i < n; i++ {
		p.mu.Lock()
		seq, ts := p.seq, p.ts
		p.seq++
		p.ts += p.tsInc
		payload := Payload(p.id, int(seq))
		p.sentSet[sha256.Sum256(payload)] = struct{}{}
		p.mu.Unlock()
		pkt := &rtp.Packet{
			Header:  rtp.Header{Version: 2, PayloadType: p.pt, SequenceNumber: seq, Timestamp: ts, Marker: seq == 0},
			Payload: payload,
		}
		if err := p.track.WriteRTP(pkt); err != nil {
			return fmt.Errorf("webrtcpeer: write rtp: %w", err)
		}
		p.mu.Lock()
		p.stats.PacketsSent++
		p.stats.BytesSent += len(payload)
		p.mu.Unlock()
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

// Payload returns the recognizable 160-byte payload of packet seq of the
// stream named id; bytes after the text are 0xff (PCMU silence).
func Payload(id string, seq int) []byte {
	b := make([]byte, 160)
	for i := range b {
		b[i] = 0xff
	}
	copy(b, fmt.Sprintf("webrtcpeer %s seq %d", id, seq))
	return b
}

// WaitReceived waits until at least n packets were received, or ctx ends
// (then it returns ctx's error); it polls every 10 ms.
func (p *Peer) WaitReceived(ctx context.Context, n int) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if p.Stats().PacketsReceived >= n {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("webrtcpeer: %d of %d packets received: %w", p.Stats().PacketsReceived, n, ctx.Err())
		}
	}
}

// Stats returns a snapshot of the media counters.
func (p *Peer) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// SDPHasCandidates reports whether sdp has at least one a=candidate line
// (a no-trickle SDP must).
func SDPHasCandidates(sdp string) bool { return strings.Contains(sdp, "a=candidate:") }

// Close closes the PeerConnection and waits for the peer's goroutines.
// It is idempotent.
func (p *Peer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	err := p.pc.Close()
	p.wg.Wait()
	if err != nil {
		return fmt.Errorf("webrtcpeer: close: %w", err)
	}
	return nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
