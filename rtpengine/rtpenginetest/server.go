// Package rtpenginetest is a fake rtpengine ng server for tests: it speaks
// the ng framing over UDP or TCP on 127.0.0.1, answers every command with a
// plausible reply (or a Handler's), records what it received, and injects
// faults per command: dropped, delayed, duplicated, garbage, wrong-cookie
// and oversize replies. Use it beside the real daemon, not instead of it.
package rtpenginetest

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zeebo/bencode"

	"github.com/sipedge/sipedge/rtpengine"
)

// Fault describes how the server misbehaves for a command.
type Fault struct {
	// Drop ignores the first Drop copies of each request (counted per
	// cookie); a resend after that gets an answer.
	Drop int
	// DropAll never answers.
	DropAll bool
	// Delay waits this long before answering.
	Delay time.Duration
	// Duplicate sends every reply twice.
	Duplicate bool
	// Garbage answers with the right cookie followed by bytes that are not
	// bencode.
	Garbage bool
	// WrongCookie answers with a cookie the client never sent.
	WrongCookie bool
	// Oversize pads the reply dictionary to at least this many bytes.
	Oversize int
	// Result, when set, replaces the reply by {result: Result,
	// error-reason: Reason}, e.g. "load limit" or "error".
	Result string
	// Reason goes with Result.
	Reason string
}

// Request is one request the server received (each copy of a resend is
// recorded).
type Request struct {
	Cookie  string
	Command string
	Dict    map[string]any
	Raw     []byte // the whole message as received
}

// Handler computes the reply dictionary for a request.
type Handler func(Request) map[string]any

// Server is a fake ng server. Its methods are safe for concurrent use.
type Server struct {
	network string
	pc      net.PacketConn
	ln      net.Listener

	mu       sync.Mutex
	faults   map[string]Fault
	handlers map[string]Handler
	requests []Request
	seen     map[string]int
	conns    map[net.Conn]struct{}

	wg        sync.WaitGroup
	closeOnce sync.Once
	done      chan struct{}
}

// maxRecorded bounds the request log.
const maxRecorded = 100000

// New starts a fake server on 127.0.0.1:0 with network "udp" or "tcp" and
// closes it when the test ends.
func New(tb testing.TB, network string) *Server {
	tb.Helper()
	s := &Server{
		network:  network,
		faults:   map[string]Fault{},
		handlers: map[string]Handler{},
		seen:     map[string]int{},
		conns:    map[net.Conn]struct{}{},
		done:     make(chan struct{}),
	}
	switch network {
	case "udp":
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("rtpenginetest: %v", err)
		}
		s.pc = pc
		s.wg.Add(1)
		go s.serveUDP()
	case "tcp":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("rtpenginetest: %v", err)
		}
		s.ln = ln
		s.wg.Add(1)
		go s.serveTCP()
	default:
		tb.Fatalf("rtpenginetest: network %q: want udp or tcp", network)
	}
	tb.Cleanup(s.Close)
	return s
}

// Addr returns the node address to put in rtpengine.Config, e.g.
// "udp:127.0.0.1:40000".
func (s *Server) Addr() string {
	if s.pc != nil {
		return "udp:" + s.pc.LocalAddr().String()
	}
	return "tcp:" + s.ln.Addr().String()
}

// SetFault sets the fault for a command ("" applies to commands that have
// no fault of their own). A zero Fault removes it.
func (s *Server) SetFault(command string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f == (Fault{}) {
		delete(s.faults, command)
		return
	}
	s.faults[command] = f
}

// Handle replaces the reply of a command.
func (s *Server) Handle(command string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[command] = h
}

// Requests returns a copy of the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns how many copies of command were received ("" counts all).
func (s *Server) Count(command string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if command == "" || r.Command == command {
			n++
		}
	}
	return n
}

// Close stops the server and waits for its goroutines. It is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		if s.pc != nil {
			_ = s.pc.Close()
		}
		if s.ln != nil {
			_ = s.ln.Close()
		}
		s.mu.Lock()
		for c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
}

func (s *Server) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		msg := append([]byte(nil), buf[:n]...)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(msg, func(b []byte) { _, _ = s.pc.WriteTo(b, from) })
		}()
	}
}

func (s *Server) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
		}()
	}
}

func (s *Server) serveConn(c net.Conn) {
	defer func() {
		_ = c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	var wmu sync.Mutex
	write := func(b []byte) {
		wmu.Lock()
		defer wmu.Unlock()
		_, _ = c.Write(b)
	}
	var buf []byte
	chunk := make([]byte, 32<<10)
	for {
		for len(buf) > 0 {
			n, err := rtpengine.MessageLen(buf)
			if errors.Is(err, rtpengine.ErrIncomplete) {
				break
			}
			if err != nil {
				return
			}
			msg := append([]byte(nil), buf[:n]...)
			buf = buf[n:]
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.handle(msg, write)
			}()
		}
		n, err := c.Read(chunk)
		if err != nil {
			return
		}
		buf = append(buf, chunk[:n]...)
	}
}

// handle answers one message through write, applying the command's fault.
func (s *Server) handle(msg []byte, write func([]byte)) {
	cookie, dict, err := rtpengine.SplitMessage(msg)
	if err != nil {
		return
	}
	req := Request{Cookie: cookie, Raw: msg}
	if err := bencode.DecodeBytes(dict, &req.Dict); err != nil {
		return
	}
	req.Command, _ = req.Dict["command"].(string)

	s.mu.Lock()
	if len(s.requests) < maxRecorded {
		s.requests = append(s.requests, req)
	}
	s.seen[cookie]++
	copyNo := s.seen[cookie]
	f, ok := s.faults[req.Command]
	if !ok {
		f = s.faults[""]
	}
	h := s.handlers[req.Command]
	s.mu.Unlock()

	if f.DropAll || copyNo <= f.Drop {
		return
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-s.done:
			t.Stop()
			return
		}
	}
	var reply map[string]any
	switch {
	case f.Result != "":
		reply = map[string]any{"result": f.Result}
		if f.Reason != "" {
			reply["error-reason"] = f.Reason
		}
	case h != nil:
		reply = h(req)
	default:
		reply = defaultReply(req)
	}
	if f.Oversize > 0 {
		reply["zz-padding"] = strings.Repeat("x", f.Oversize)
	}
	body, err := bencode.EncodeBytes(reply)
	if err != nil {
		return
	}
	if f.Garbage {
		body = []byte("this is not bencode \xff\x00 d3:foo")
	}
	out := cookie
	if f.WrongCookie {
		out = "wrong" + cookie
	}
	var b bytes.Buffer
	b.WriteString(out)
	b.WriteByte(' ')
	b.Write(body)
	write(b.Bytes())
	if f.Duplicate {
		write(b.Bytes())
	}
}

// defaultReply answers like rtpengine would, echoing an offer's or
// answer's SDP unchanged.
func defaultReply(r Request) map[string]any {
	switch r.Command {
	case "ping":
		return map[string]any{"result": "pong"}
	case "offer", "answer":
		sdp, _ := r.Dict["sdp"].(string)
		return map[string]any{"result": "ok", "sdp": sdp}
	case "list":
		return map[string]any{"result": "ok", "calls": []string{}}
	case "":
		return map[string]any{"result": "error", "error-reason": "Dictionary contains no key \"command\""}
	}
	return map[string]any{"result": "ok"}
}
