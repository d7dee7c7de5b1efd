package rtpengine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// transport carries ng messages to one node. Replies are handed to the
// node's dispatch by one reader goroutine per socket or connection.
type transport interface {
	send(ctx context.Context, msg []byte) error
	close()
}

// udpTransport is one connected UDP socket, shared by every request to the
// node, read by one goroutine.
type udpTransport struct {
	conn *net.UDPConn
}

func dialUDP(n *node, wg *sync.WaitGroup) (*udpTransport, error) {
	raddr, err := net.ResolveUDPAddr(n.network, n.hostport)
	if err != nil {
		return nil, err
	}
	c, err := net.DialUDP(n.network, nil, raddr)
	if err != nil {
		return nil, err
	}
	_ = c.SetReadBuffer(1 << 20)
	_ = c.SetWriteBuffer(1 << 20)
	t := &udpTransport{conn: c}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t.read(n)
	}()
	return t, nil
}

func (t *udpTransport) send(_ context.Context, msg []byte) error {
	_, err := t.conn.Write(msg)
	return err
}

func (t *udpTransport) close() { _ = t.conn.Close() }

// read hands every datagram to the node until the socket is closed. Errors
// other than "closed" (e.g. ICMP port unreachable as ECONNREFUSED) are not
// fatal: the node may come back.
func (t *udpTransport) read(n *node) {
	size := n.maxReply
	if size > 65535 {
		size = 65535
	}
	buf := make([]byte, size+1)
	for {
		k, err := t.conn.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		n.dispatch(buf[:k], k > n.maxReply)
	}
}

// tcpTransport is one TCP-ng connection, dialled on first use and again
// after it broke. Messages are framed only by where the bencode ends.
type tcpTransport struct {
	n  *node
	wg *sync.WaitGroup

	mu     sync.Mutex
	conn   net.Conn
	closed bool
}

func (t *tcpTransport) send(ctx context.Context, msg []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	if t.conn == nil {
		c, err := t.dial(ctx)
		if err != nil {
			return err
		}
		t.conn = c
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			t.read(c)
		}()
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(time.Second)
	}
	_ = t.conn.SetWriteDeadline(dl)
	if _, err := t.conn.Write(msg); err != nil {
		_ = t.conn.Close()
		t.conn = nil
		return err
	}
	return nil
}

// dial connects to the node; Close ends a dial in progress (close waits
// for t.mu, which send holds). The goroutine that ends it is owned by the
// dial and waited for before dial returns.
func (t *tcpTransport) dial(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-t.n.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	var d net.Dialer
	c, err := d.DialContext(ctx, t.n.network, t.n.hostport)
	cancel()
	<-watched
	select {
	case <-t.n.closing:
		if err == nil {
			_ = c.Close()
		}
		return nil, ErrClosed
	default:
	}
	return c, err
}

func (t *tcpTransport) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	if t.conn != nil {
		_ = t.conn.Close()
		t.conn = nil
	}
}

// drop forgets c if it is still the current connection.
func (t *tcpTransport) drop(c net.Conn) {
	_ = c.Close()
	t.mu.Lock()
	if t.conn == c {
		t.conn = nil
	}
	t.mu.Unlock()
}

// read splits the stream into messages and hands them to the node. A
// malformed or oversized message cannot be skipped in a stream, so it ends
// the connection (the waiting caller gets the error if its cookie is known;
// others resend over a new connection).
func (t *tcpTransport) read(c net.Conn) {
	defer t.drop(c)
	n := t.n
	buf := make([]byte, 0, 64<<10)
	chunk := make([]byte, 32<<10)
	for {
		for len(buf) > 0 {
			m, err := MessageLen(buf)
			if errors.Is(err, ErrIncomplete) {
				if len(buf) > n.maxReply+maxCookieLen+1 {
					n.dispatch(buf, true)
					return
				}
				break
			}
			if err != nil {
				n.dispatchError(buf, err)
				return
			}
			if m > n.maxReply+maxCookieLen+1 {
				n.dispatch(buf[:m], true)
				return
			}
			n.dispatch(buf[:m], false)
			buf = buf[:copy(buf, buf[m:])]
		}
		k, err := c.Read(chunk)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				n.log.Debug("tcp-ng connection ended", "node", n.addr, "error", err)
			}
			return
		}
		buf = append(buf, chunk[:k]...)
	}
}

// newTransport opens the node's transport.
func newTransport(n *node, wg *sync.WaitGroup) (transport, error) {
	switch n.network {
	case "udp", "udp4", "udp6":
		return dialUDP(n, wg)
	case "tcp", "tcp4", "tcp6":
		return &tcpTransport{n: n, wg: wg}, nil
	}
	return nil, fmt.Errorf("network %q not supported", n.network)
}
