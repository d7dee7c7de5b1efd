//go:build linux

package gateway

import (
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestUDPReadBuffer: the gateway's UDP listener has the receive buffer it
// asked for (as much of udpReadBuffer as net.core.rmem_max allows), not
// the kernel's default, which bursts of a few hundred datagrams overflowed.
func TestUDPReadBuffer(t *testing.T) {
	raw, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Fatalf("rmem_max: %v", err)
	}
	rmemMax, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	def, err := os.ReadFile("/proc/sys/net/core/rmem_default")
	if err != nil {
		t.Fatal(err)
	}
	rmemDefault, _ := strconv.Atoi(strings.TrimSpace(string(def)))
	gw := startGW(t, baseConfig())
	uc, ok := gw.g.udpConn.(*net.UDPConn)
	if !ok {
		t.Fatalf("udp listener is a %T", gw.g.udpConn)
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		got, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	}); err != nil || gerr != nil {
		t.Fatalf("getsockopt: %v %v", err, gerr)
	}
	// Linux doubles the size asked for (bookkeeping overhead) and reports that.
	want := 2 * min(udpReadBuffer, rmemMax)
	if got < want {
		t.Errorf("SO_RCVBUF %d, want >= %d (rmem_max %d, rmem_default %d)", got, want, rmemMax, rmemDefault)
	}
	t.Logf("SO_RCVBUF %d (default would be %d)", got, 2*rmemDefault)
}
