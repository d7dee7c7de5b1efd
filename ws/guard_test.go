package ws

import (
	"net"
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/loopback"
)

func TestGuardRefusesBeyondCaps(t *testing.T) {
	s := NewServer(Config{MaxConns: 1000, MaxConnsPerIP: 2}, nil, nil)
	defer s.Close()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := s.Guard(raw)
	defer ln.Close()
	accepted := make(chan net.Conn, 64)
	done := make(chan struct{})
	go func() { // owner: this test; ends when ln closes, waited below
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	defer func() { _ = ln.Close(); <-done }()
	next := func() net.Conn {
		t.Helper()
		select {
		case c := <-accepted:
			return c
		case <-time.After(2 * time.Second):
			t.Fatal("connection not accepted")
			return nil
		}
	}

	limit := 2 + acceptSlack
	var held []net.Conn
	for range limit {
		loopback.DialFrom(t, "127.0.0.1", raw.Addr().String())
		held = append(held, next())
	}
	// One more from the same address is closed at accept.
	extra := loopback.DialFrom(t, "127.0.0.1", raw.Addr().String())
	if !loopback.ClosedByPeer(extra, 2*time.Second) {
		t.Fatalf("connection %d from one address was not closed at accept", limit+1)
	}
	// Another address is not affected.
	loopback.DialFrom(t, "127.0.0.2", raw.Addr().String())
	other := next()
	// Closing an accepted connection frees its slot.
	_ = held[0].Close()
	again := loopback.DialFrom(t, "127.0.0.1", raw.Addr().String())
	c := next()
	if loopback.ClosedByPeer(again, 100*time.Millisecond) {
		t.Fatal("a connection after a slot was freed was closed")
	}
	for _, c := range append(held[1:], other, c) {
		_ = c.Close()
	}
	total, per := s.tcpCaps.Count()
	if total != 0 || per != 0 {
		t.Fatalf("after closing everything: %d counted, %d addresses", total, per)
	}
}
