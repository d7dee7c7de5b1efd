// Package loopback gives tests free ports on 127.0.0.1 and TCP connections
// from chosen loopback sources.
package loopback

import (
	"fmt"
	"net"
	"testing"
)

// FreePort returns a port on 127.0.0.1 that is free for both UDP and TCP at
// the time of the call (a listener may still take it before the caller
// does; tests use it for peers that cannot report the port they bound).
func FreePort(tb testing.TB) int {
	tb.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		_ = l.Close()
		if err != nil {
			continue
		}
		_ = u.Close()
		return port
	}
	tb.Fatal("no port free for both UDP and TCP in 50 tries")
	return 0
}
