package ws

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/http"
)

// Buffer sizes of a hijacked connection. net/http hands over its own 4 KiB
// reader and 4 KiB writer, which coder/websocket keeps for the life of the
// connection: 8 KiB per idle flow, about half of its cost. Small buffers do
// the same job here:
//
//   - Reading: coder/websocket reads frame headers byte by byte through the
//     bufio.Reader and payloads with io.ReadFull into our (pooled) message
//     buffer, which bypasses a bufio.Reader smaller than the read. Over TLS
//     the decrypted record already sits in crypto/tls, so a small buffer
//     costs no system calls; over plain TCP a message takes two reads (the
//     buffer fill with the header, then the rest of the payload).
//   - Writing: coder/websocket writes a frame header and the payload into
//     the bufio.Writer and flushes at the end of the frame. A tiny writer
//     in front of frameGather, which collects whole frames in a pooled
//     buffer and writes each batch of complete frames with one Write, keeps
//     one TLS record (one system call) per message without holding a buffer
//     between messages.
const (
	hijackReadBuf  = 256
	hijackWriteBuf = 16 // bufio's minimum useful size; frameGather does the batching
)

// slimResponseWriter is the http.ResponseWriter given to websocket.Accept:
// its Hijack swaps net/http's 4 KiB buffers for small ones.
type slimResponseWriter struct {
	http.ResponseWriter
	srv *Server
}

// Hijack implements http.Hijacker. net/http has flushed the 101 response
// before it returns the connection, so its writer is empty. If the client
// already sent bytes after its upgrade request (they sit in net/http's
// reader), that reader is kept so nothing is lost.
func (w slimResponseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil {
		return nil, nil, err
	}
	r := brw.Reader
	if r.Buffered() == 0 {
		r = bufio.NewReaderSize(conn, hijackReadBuf)
	}
	g := &frameGather{conn: conn, srv: w.srv}
	return conn, bufio.NewReadWriter(r, bufio.NewWriterSize(g, hijackWriteBuf)), nil
}

// frameGather sits between coder/websocket's bufio.Writer and the network
// connection. It parses the (unmasked, server-side) WebSocket frame headers
// in the byte stream it is given, holds bytes in a pooled buffer until every
// frame it holds is complete, then writes them with one Write and returns
// the buffer to the pool. Between messages it holds no buffer. Writes are
// serialised by coder/websocket (one frame at a time).
type frameGather struct {
	conn io.Writer
	srv  *Server
	buf  *bytes.Buffer // nil between messages
	next int           // offset in buf of the first frame not yet complete
}

// Write implements io.Writer.
func (g *frameGather) Write(p []byte) (int, error) {
	if g.buf == nil {
		g.buf = g.srv.getBuf()
		g.next = 0
	}
	g.buf.Write(p)
	b := g.buf.Bytes()
	for g.next < len(b) {
		n, ok := frameSize(b[g.next:])
		if !ok || n > len(b)-g.next {
			return len(p), nil // the frame goes on in a later Write
		}
		g.next += n
	}
	_, err := g.conn.Write(b)
	g.release()
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

func (g *frameGather) release() {
	if g.buf.Cap() <= maxPooledBuf {
		g.srv.bufs.Put(g.buf)
	}
	g.buf, g.next = nil, 0
}

// frameSize returns the total length (header and payload) of the WebSocket
// frame that b starts with, or false when b does not hold its whole header
// yet.
func frameSize(b []byte) (int, bool) {
	if len(b) < 2 {
		return 0, false
	}
	hdr, n := 2, uint64(b[1]&0x7f)
	switch n {
	case 126:
		if len(b) < 4 {
			return 0, false
		}
		hdr, n = 4, uint64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		if len(b) < 10 {
			return 0, false
		}
		hdr, n = 10, binary.BigEndian.Uint64(b[2:])
	}
	if b[1]&0x80 != 0 {
		hdr += 4 // masking key (client frames; not written by a server)
	}
	const maxFrame = 1 << 40 // far above anything written here; avoids overflow
	if n > maxFrame {
		n = maxFrame
	}
	return hdr + int(n), true
}
