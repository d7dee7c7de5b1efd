package test

import (
	"bufio"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// leanWS is the REGISTER/s load generator's WebSocket client: a raw TCP
// (or TLS) connection, a hand-written upgrade and frames, and MD5 digest
// computed directly, so that the client, sharing the machine's two cores
// with sipedge, spends as little CPU as it can. What sipedge sees is the
// same as from any client: upgrade with subprotocol sip, REGISTER, 401,
// REGISTER with credentials, 200, close.
type leanWS struct {
	c  net.Conn
	br *bufio.Reader
}

// errLean reports a protocol surprise in the lean client.
var errLean = errors.New("lean ws client")

// dialLean connects from ip (port 0) to addr and upgrades at path.
func dialLean(addr, ip, path string, tc *tls.Config, timeout time.Duration) (*leanWS, error) {
	d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(timeout))
	if tc != nil {
		tcn := tls.Client(c, tc)
		if err := tcn.Handshake(); err != nil {
			_ = c.Close()
			return nil, err
		}
		c = tcn
	}
	var key [16]byte
	_, _ = rand.Read(key[:])
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key[:]) + "\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Protocol: sip\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		_ = c.Close()
		return nil, err
	}
	w := &leanWS{c: c, br: bufio.NewReaderSize(c, 2048)}
	status, err := w.br.ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 101") {
		_ = c.Close()
		return nil, fmt.Errorf("%w: upgrade answered %q: %v", errLean, strings.TrimSpace(status), err)
	}
	for {
		line, err := w.br.ReadString('\n')
		if err != nil {
			_ = c.Close()
			return nil, err
		}
		if line == "\r\n" {
			return w, nil
		}
	}
}

// write sends one masked text frame.
func (w *leanWS) write(p []byte) error {
	hdr := make([]byte, 0, 14)
	hdr = append(hdr, 0x81)
	switch n := len(p); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 65536:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	hdr = append(hdr, mask[:]...)
	buf := make([]byte, len(hdr)+len(p))
	copy(buf, hdr)
	for i, b := range p {
		buf[len(hdr)+i] = b ^ mask[i%4]
	}
	_, err := w.c.Write(buf)
	return err
}

// read returns the payload of the next data frame (server frames are not
// masked; control frames are skipped).
func (w *leanWS) read() ([]byte, error) {
	for {
		var h [2]byte
		if _, err := io.ReadFull(w.br, h[:]); err != nil {
			return nil, err
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var e [2]byte
			if _, err := io.ReadFull(w.br, e[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(e[:]))
		case 127:
			var e [8]byte
			if _, err := io.ReadFull(w.br, e[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(e[:])
		}
		if n > 1<<20 {
			return nil, fmt.Errorf("%w: frame of %d bytes", errLean, n)
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(w.br, p); err != nil {
			return nil, err
		}
		if op := h[0] & 0x0f; op == 1 || op == 2 {
			return p, nil
		} else if op == 8 {
			return nil, fmt.Errorf("%w: closed by server", errLean)
		}
	}
}

// close sends a close frame and closes the connection without waiting.
func (w *leanWS) close() {
	_, _ = w.c.Write([]byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8})
	_ = w.c.Close()
}

// register runs REGISTER, 401, REGISTER with an MD5 digest, 200.
func (w *leanWS) register(user, password string) error {
	host := randHex(6) + ".invalid"
	callID := randHex(8)
	msg := func(cseq int, auth string) []byte {
		return []byte("REGISTER sip:example.test SIP/2.0\r\nVia: SIP/2.0/WSS " + host + ";branch=z9hG4bK" + randHex(6) +
			"\r\nFrom: <sip:" + user + "@example.test>;tag=" + callID + "\r\nTo: <sip:" + user + "@example.test>\r\nCall-ID: " +
			callID + "\r\nCSeq: " + fmt.Sprint(cseq) + " REGISTER\r\nContact: <sip:" + user + "@" + host +
			";transport=ws>;expires=3600\r\nMax-Forwards: 70\r\n" + auth + "Content-Length: 0\r\n\r\n")
	}
	final := func() (string, error) {
		for {
			p, err := w.read()
			if err != nil {
				return "", err
			}
			s := string(p)
			if !strings.HasPrefix(s, "SIP/2.0 1") {
				return s, nil
			}
		}
	}
	if err := w.write(msg(1, "")); err != nil {
		return err
	}
	res, err := final()
	if err != nil {
		return err
	}
	if !strings.HasPrefix(res, "SIP/2.0 401") {
		return fmt.Errorf("%w: first REGISTER got %.40q", errLean, res)
	}
	realm, nonce, opaque := challengeParam(res, "realm"), challengeParam(res, "nonce"), challengeParam(res, "opaque")
	cnonce := randHex(8)
	ha1 := md5hex(user + ":" + realm + ":" + password)
	ha2 := md5hex("REGISTER:sip:example.test")
	resp := md5hex(ha1 + ":" + nonce + ":00000001:" + cnonce + ":auth:" + ha2)
	auth := `Authorization: Digest username="` + user + `", realm="` + realm + `", nonce="` + nonce +
		`", uri="sip:example.test", response="` + resp + `", algorithm=MD5, qop=auth, nc=00000001, cnonce="` + cnonce + `"`
	if opaque != "" {
		auth += `, opaque="` + opaque + `"`
	}
	if err := w.write(msg(2, auth+"\r\n")); err != nil {
		return err
	}
	if res, err = final(); err != nil {
		return err
	}
	if !strings.HasPrefix(res, "SIP/2.0 200") {
		return fmt.Errorf("%w: REGISTER with credentials got %.40q", errLean, res)
	}
	return nil
}

// challengeParam reads a quoted parameter of the (MD5) WWW-Authenticate
// challenge in a 401.
func challengeParam(res, name string) string {
	i := strings.Index(res, "WWW-Authenticate:")
	if i < 0 {
		return ""
	}
	h := res[i:]
	if j := strings.Index(h, "\r\n"); j >= 0 {
		h = h[:j]
	}
	k := strings.Index(h, name+`="`)
	if k < 0 {
		return ""
	}
	v := h[k+len(name)+2:]
	if e := strings.IndexByte(v, '"'); e >= 0 {
		return v[:e]
	}
	return ""
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
