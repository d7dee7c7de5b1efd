package hep

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"time"
)

// Chunk types of the generic vendor (0x0000) used here.
const (
	ChunkIPFamily    = 0x0001
	ChunkIPProto     = 0x0002
	ChunkIPv4Src     = 0x0003
	ChunkIPv4Dst     = 0x0004
	ChunkIPv6Src     = 0x0005
	ChunkIPv6Dst     = 0x0006
	ChunkSrcPort     = 0x0007
	ChunkDstPort     = 0x0008
	ChunkTimeSec     = 0x0009
	ChunkTimeMicro   = 0x000a
	ChunkProtoType   = 0x000b
	ChunkCaptureID   = 0x000c
	ChunkAuthKey     = 0x000e
	ChunkPayload     = 0x000f
	ChunkCorrelation = 0x0011
)

// Values of the IP family, IP protocol and protocol type chunks.
const (
	FamilyIPv4   = 0x02
	FamilyIPv6   = 0x0a
	ProtoTCP     = 0x06
	ProtoUDP     = 0x11
	ProtoTypeSIP = 0x01
)

// maxPacket is the largest HEP packet: its length field is 16 bits.
const maxPacket = 0xffff

// ErrTooLarge is returned for a message that does not fit in one packet.
var ErrTooLarge = errors.New("hep: message too large for one packet")

// ErrFamily is returned when source and destination are not both IPv4 or
// both IPv6.
var ErrFamily = errors.New("hep: source and destination of different IP families")

// Packet is one captured message.
type Packet struct {
	Src, Dst    netip.AddrPort
	TCP         bool // carried over TCP, TLS or WebSocket; else UDP
	Time        time.Time
	CaptureID   uint32
	AuthKey     string // optional
	Correlation []byte // the Call-ID; optional (bytes: taken from the message without a copy)
	Payload     []byte
}

// Append appends p encoded as HEPv3 to dst and returns the result.
func Append(dst []byte, p Packet) ([]byte, error) {
	src, to := p.Src.Addr().Unmap(), p.Dst.Addr().Unmap()
	if src.Is4() != to.Is4() || !src.IsValid() || !to.IsValid() {
		return dst, ErrFamily
	}
	start := len(dst)
	dst = append(dst, 'H', 'E', 'P', '3', 0, 0)
	family, proto := byte(FamilyIPv6), byte(ProtoUDP)
	if src.Is4() {
		family = FamilyIPv4
	}
	if p.TCP {
		proto = ProtoTCP
	}
	dst = chunk8(dst, ChunkIPFamily, family)
	dst = chunk8(dst, ChunkIPProto, proto)
	if src.Is4() {
		s, d := src.As4(), to.As4()
		dst = chunk(dst, ChunkIPv4Src, s[:])
		dst = chunk(dst, ChunkIPv4Dst, d[:])
	} else {
		s, d := src.As16(), to.As16()
		dst = chunk(dst, ChunkIPv6Src, s[:])
		dst = chunk(dst, ChunkIPv6Dst, d[:])
	}
	dst = chunk16(dst, ChunkSrcPort, p.Src.Port())
	dst = chunk16(dst, ChunkDstPort, p.Dst.Port())
	dst = chunk32(dst, ChunkTimeSec, uint32(p.Time.Unix()))
	dst = chunk32(dst, ChunkTimeMicro, uint32(p.Time.Nanosecond()/1000))
	dst = chunk8(dst, ChunkProtoType, ProtoTypeSIP)
	dst = chunk32(dst, ChunkCaptureID, p.CaptureID)
	if p.AuthKey != "" {
		dst = chunkString(dst, ChunkAuthKey, p.AuthKey)
	}
	if len(p.Correlation) > 0 {
		dst = chunkBytes(dst, ChunkCorrelation, p.Correlation)
	}
	if len(dst)-start+6+len(p.Payload) > maxPacket {
		return dst[:start], ErrTooLarge
	}
	dst = chunk(dst, ChunkPayload, p.Payload)
	binary.BigEndian.PutUint16(dst[start+4:], uint16(len(dst)-start))
	return dst, nil
}

func header(dst []byte, typ uint16, n int) []byte {
	return append(dst, 0, 0, byte(typ>>8), byte(typ), byte((n+6)>>8), byte(n+6))
}

func chunk(dst []byte, typ uint16, v []byte) []byte {
	return append(header(dst, typ, len(v)), v...)
}

func chunkString(dst []byte, typ uint16, v string) []byte {
	if len(v) > 0xff00 {
		v = v[:0xff00]
	}
	return append(header(dst, typ, len(v)), v...)
}

func chunkBytes(dst []byte, typ uint16, v []byte) []byte {
	if len(v) > 0xff00 {
		v = v[:0xff00]
	}
	return append(header(dst, typ, len(v)), v...)
}

func chunk8(dst []byte, typ uint16, v byte) []byte { return append(header(dst, typ, 1), v) }

func chunk16(dst []byte, typ uint16, v uint16) []byte {
	return binary.BigEndian.AppendUint16(header(dst, typ, 2), v)
}

func chunk32(dst []byte, typ uint16, v uint32) []byte {
	return binary.BigEndian.AppendUint32(header(dst, typ, 4), v)
}
