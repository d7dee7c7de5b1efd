package loopback

import (
	"errors"
	"net"
	"testing"
	"time"
)

// DialFrom connects over TCP from ip (a 127.0.0.0/8 address, so tests can
// stand for several sources) to addr; the connection closes with the test.
func DialFrom(tb testing.TB, ip, addr string) net.Conn {
	tb.Helper()
	d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// ClosedByPeer reports whether the other end closed c (EOF or reset)
// within d; the read deadline is cleared again afterwards.
func ClosedByPeer(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}
