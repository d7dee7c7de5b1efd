package listen

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/loopback"
)

// acceptAll accepts from ln onto a channel until ln closes; the returned
// stop closes ln and waits for the loop.
func acceptAll(t *testing.T, ln net.Listener) (<-chan net.Conn, func()) {
	t.Helper()
	accepted := make(chan net.Conn, 256)
	done := make(chan error, 1)
	go func() { // owner: this test; ends when ln closes, waited by stop
		for {
			c, err := ln.Accept()
			if err != nil {
				done <- err
				return
			}
			accepted <- c
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = ln.Close()
			if err := <-done; !errors.Is(err, net.ErrClosed) {
				t.Errorf("Accept ended with %v, want net.ErrClosed", err)
			}
		})
	}
	t.Cleanup(stop)
	return accepted, stop
}

func next(t *testing.T, accepted <-chan net.Conn) net.Conn {
	t.Helper()
	select {
	case c := <-accepted:
		t.Cleanup(func() { _ = c.Close() })
		return c
	case <-time.After(2 * time.Second):
		t.Fatal("connection not accepted")
		return nil
	}
}

func TestLimitCaps(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	caps := NewCaps(6, 3)
	accepted, stop := acceptAll(t, Limit(raw, caps, nil))
	addr := raw.Addr().String()

	// 127.0.0.1 gets 3; its 4th and 5th are closed at accept.
	var held []net.Conn
	for range 3 {
		loopback.DialFrom(t, "127.0.0.1", addr)
		held = append(held, next(t, accepted))
	}
	for range 2 {
		if c := loopback.DialFrom(t, "127.0.0.1", addr); !loopback.ClosedByPeer(c, 2*time.Second) {
			t.Fatal("a connection beyond max_connections_per_ip was not closed")
		}
	}
	// Other sources are still served, up to the total of 6.
	loopback.DialFrom(t, "127.0.0.2", addr)
	next(t, accepted)
	loopback.DialFrom(t, "127.0.0.3", addr)
	next(t, accepted)
	loopback.DialFrom(t, "127.0.0.4", addr)
	next(t, accepted)
	if c := loopback.DialFrom(t, "127.0.0.5", addr); !loopback.ClosedByPeer(c, 2*time.Second) {
		t.Fatal("a connection beyond max_connections was not closed")
	}
	if total, addrs := caps.Count(); total != 6 || addrs != 4 {
		t.Fatalf("counted %d connections from %d addresses, want 6 from 4", total, addrs)
	}
	// Closing one (twice: Close is idempotent for the count) frees a slot.
	_ = held[0].Close()
	_ = held[0].Close()
	c := loopback.DialFrom(t, "127.0.0.5", addr)
	next(t, accepted)
	if loopback.ClosedByPeer(c, 100*time.Millisecond) {
		t.Fatal("a connection after a slot was freed was closed")
	}
	stop()
}

// flakyListener fails Accept with errs, one per call, then hands out conns.
type flakyListener struct {
	mu    sync.Mutex
	errs  []error
	conns chan net.Conn
	calls []time.Time
	done  chan struct{}
	once  sync.Once
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	l.calls = append(l.calls, time.Now())
	if len(l.errs) > 0 {
		err := l.errs[0]
		l.errs = l.errs[1:]
		l.mu.Unlock()
		return nil, err
	}
	l.mu.Unlock()
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *flakyListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *flakyListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060} }

func TestLimitRetriesAcceptErrors(t *testing.T) {
	errs := []error{
		&net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE},
		&net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE},
		&net.OpError{Op: "accept", Net: "tcp", Err: syscall.ENFILE},
		&net.OpError{Op: "accept", Net: "tcp", Err: syscall.ENOBUFS},
		&net.OpError{Op: "accept", Net: "tcp", Err: syscall.ECONNABORTED},
		errors.New("something unexpected"),
	}
	fl := &flakyListener{errs: errs, conns: make(chan net.Conn, 1), done: make(chan struct{})}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	fl.conns <- &pipeConn{Conn: a}
	ln := Limit(fl, NewCaps(10, 10), nil)
	start := time.Now()
	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("Accept returned %v", err)
	}
	if c == nil {
		t.Fatal("no connection")
	}
	// 6 failures: 5+10+20+40+80+160 ms of backoff.
	if el := time.Since(start); el < 300*time.Millisecond || el > 2*time.Second {
		t.Errorf("6 accept errors took %v, want about 315ms of backoff", el)
	}
	fl.mu.Lock()
	calls := fl.calls
	fl.mu.Unlock()
	if len(calls) != 7 {
		t.Fatalf("%d Accept calls, want 7", len(calls))
	}
	// Doubling: the wait before call i is at least minBackoff<<(i-1). A
	// timer never fires early, but a loaded machine can make any wait
	// longer, so only the lower bounds (and the total above) are checked.
	for i := 1; i < len(calls); i++ {
		if d, want := calls[i].Sub(calls[i-1]), minBackoff<<(i-1); d < want {
			t.Errorf("backoff %d (%v) shorter than %v", i, d, want)
		}
	}
	_ = c.Close()

	// Close ends a backoff wait at once with net.ErrClosed.
	fl2 := &flakyListener{conns: make(chan net.Conn), done: make(chan struct{})}
	for range 20 {
		fl2.errs = append(fl2.errs, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE})
	}
	ln2 := Limit(fl2, nil, nil)
	res := make(chan error, 1)
	go func() { _, err := ln2.Accept(); res <- err }() // owner: this test, waited below
	time.Sleep(1500 * time.Millisecond)                // into a wait of the 1s cap (1275ms of waits before)
	start = time.Now()
	_ = ln2.Close()
	_ = ln2.Close() // idempotent
	select {
	case err := <-res:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
		}
		if el := time.Since(start); el > 200*time.Millisecond {
			t.Errorf("Close took %v to end the backoff", el)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Accept did not end after Close")
	}
}

// pipeConn is a net.Pipe end with a TCP remote address.
type pipeConn struct{ net.Conn }

func (pipeConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 9), Port: 1} }
