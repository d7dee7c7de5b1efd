package nat

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

func TestKeepaliveCRLF(t *testing.T) {
	// client is a NATed UDP contact; server is our SIP UDP socket.
	client, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	crlf := CRLFSender(server)
	failures := 0
	send := func(ctx context.Context, addr string) error {
		if addr == "bad" {
			failures++
			return errors.New("unreachable")
		}
		return crlf(ctx, addr)
	}
	targets := func() []string { return []string{"bad", client.LocalAddr().String()} }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewKeepalive(20*time.Millisecond, targets, send, nil).Run(ctx) }()

	buf := make([]byte, 64)
	for i := range 3 {
		_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := client.ReadFrom(buf)
		if err != nil {
			t.Fatalf("ping %d: %v", i, err)
		}
		if string(buf[:n]) != "\r\n\r\n" || from.String() != server.LocalAddr().String() {
			t.Fatalf("ping %d: %q from %s", i, buf[:n], from)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	if failures < 3 {
		t.Fatalf("failing target tried %d times; a failure must not stop the round", failures)
	}
}
