package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipedge/sipedge/test/webrtcpeer"
	"github.com/sipedge/sipedge/test/wsua"
)

// counter counts the attempts of one kind of load and keeps the last few
// failures for the report.
type counter struct {
	ok, fail atomic.Int64
	mu       sync.Mutex
	errs     []string // the first failures, with their time
	start    time.Time
}

const keptErrors = 5

func (c *counter) done(err error) {
	if err == nil {
		c.ok.Add(1)
		return
	}
	c.fail.Add(1)
	c.mu.Lock()
	if len(c.errs) < keptErrors {
		c.errs = append(c.errs, fmt.Sprintf("%s: %v", time.Since(c.start).Round(time.Second), err))
	}
	c.mu.Unlock()
}

// counts is a snapshot of every kind's counters.
type counts struct {
	udpOK, udpFail, udpCreated int64 // from SIPp's statistics
	ws, browser, probe         [2]int64
	bad                        int64
}

// load is the running load generators.
type load struct {
	env *env
	wg  sync.WaitGroup
	uac *proc
	// uacTotal is the number of calls SIPp places in all.
	uacTotal int

	ws, browser, probe counter
	bad                atomic.Int64
	uacErr             error
}

// startLoad starts every generator; they stop when ctx is done.
func startLoad(ctx context.Context, e *env, o options) *load {
	l := &load{env: e}
	now := time.Now()
	l.ws.start, l.browser.start, l.probe.start = now, now, now
	l.uacTotal = o.udpRate * int(o.duration/time.Second)
	if l.uacTotal > 0 {
		l.uac, l.uacErr = e.startUAC(o.udpRate, o.udpHold, l.uacTotal, o.sippNice)
	}
	for i := range o.wsClients {
		l.goLoop(ctx, func(ctx context.Context) { l.wsChurn(ctx, e.wsUsers[i]) })
	}
	for range o.browsers {
		l.goLoop(ctx, l.browserCalls)
	}
	l.goLoop(ctx, l.drainEcho)
	if o.badRate > 0 {
		l.goLoop(ctx, func(ctx context.Context) { l.badInput(ctx, o.badRate) })
	}
	l.goLoop(ctx, l.probeLoop)
	return l
}

func (l *load) goLoop(ctx context.Context, f func(context.Context)) {
	l.wg.Add(1)
	go func() { // owner: l; stopped by ctx, waited by l.wait
		defer l.wg.Done()
		f(ctx)
	}()
}

// wait waits for the Go generators and for SIPp to finish its calls
// (bounded: 60s after its last call, then it is stopped).
func (l *load) wait(ctx context.Context) {
	l.wg.Wait()
	if l.uac == nil {
		return
	}
	select {
	case <-l.uac.done:
	case <-time.After(60 * time.Second):
		fmt.Println("soak: SIPp UAC still running 60s after the load; stopped")
		l.uac.stop()
	case <-ctx.Done():
		l.uac.stop()
	}
}

func (l *load) counts() counts {
	c := counts{
		ws:      [2]int64{l.ws.ok.Load(), l.ws.fail.Load()},
		browser: [2]int64{l.browser.ok.Load(), l.browser.fail.Load()},
		probe:   [2]int64{l.probe.ok.Load(), l.probe.fail.Load()},
		bad:     l.bad.Load(),
	}
	if row := lastCSVRow(l.env.sippStat); row != nil {
		c.udpOK, _ = strconv.ParseInt(row["SuccessfulCall(C)"], 10, 64)
		c.udpFail, _ = strconv.ParseInt(row["FailedCall(C)"], 10, 64)
		c.udpCreated, _ = strconv.ParseInt(row["TotalCallCreated"], 10, 64)
	}
	return c
}

// printErrors prints the first failures of each kind.
func (l *load) printErrors() {
	for _, k := range []struct {
		name string
		c    *counter
	}{{"ws registration", &l.ws}, {"browser call", &l.browser}, {"probe", &l.probe}} {
		k.c.mu.Lock()
		for _, e := range k.c.errs {
			fmt.Printf("  %s failed at %s\n", k.name, e)
		}
		k.c.mu.Unlock()
	}
	if c := l.counts(); c.udpFail > 0 {
		fmt.Println("  udp call failures: see uac-errors.log in the work directory")
	}
}

// sleep waits d or until ctx is done; false means ctx is done.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// jitter is a random duration in [lo, hi).
func jitter(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(mrand.Int64N(int64(hi-lo)))
}

// wsChurn registers user over plain WS again and again: dial, REGISTER
// (digest), hold 0.5-3s, leave by un-REGISTER + close, by close alone, or
// by dropping the TCP connection (no close frame), and start over.
func (l *load) wsChurn(ctx context.Context, user string) {
	for round := 0; ctx.Err() == nil; round++ {
		err := l.wsOnce(ctx, user, round%3)
		if ctx.Err() != nil {
			return // the load stopped mid-round: not a failure of sipedge
		}
		l.ws.done(err)
		if err != nil && !sleep(ctx, time.Second) {
			return
		}
	}
}

func (l *load) wsOnce(ctx context.Context, user string, leave int) error {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ua, err := wsua.Dial(dctx, wsua.Config{URL: l.env.wsURL, User: user, Domain: "example.test", Password: user + "-pw"})
	if err != nil {
		return err
	}
	if _, err := ua.Register(dctx, 300); err != nil {
		ua.Drop()
		return fmt.Errorf("register %s: %w", user, err)
	}
	cancel()
	if !sleep(ctx, jitter(500*time.Millisecond, 3*time.Second)) {
		ua.Drop()
		return nil
	}
	switch leave {
	case 0:
		uctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := ua.Register(uctx, 0)
		_ = ua.Close()
		if err != nil {
			return fmt.Errorf("unregister %s: %w", user, err)
		}
	case 1:
		_ = ua.Close()
	default:
		ua.Drop()
	}
	return nil
}

// browserCalls places browser-style calls over WSS to rtpecho through
// rtpengine, one after another.
func (l *load) browserCalls(ctx context.Context) {
	for ctx.Err() == nil {
		err := l.browserCall(ctx)
		if ctx.Err() != nil {
			return
		}
		l.browser.done(err)
		if err != nil && !sleep(ctx, time.Second) {
			return
		}
	}
}

// browserCall is one call: a fresh pion peer and WSS connection, INVITE
// (407 + digest), ICE + DTLS with rtpengine, 1s of media that must come
// back from rtpecho (at least 80% of it), a random 0-2s more, BYE.
func (l *load) browserCall(ctx context.Context) error {
	const packets, minBack = 50, 40
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	peer, err := webrtcpeer.NewPeer(webrtcpeer.Config{})
	if err != nil {
		return err
	}
	defer peer.Close()
	ua, err := wsua.Dial(cctx, wsua.Config{
		URL: l.env.wssURL, TLS: &tls.Config{RootCAs: l.env.certPool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		User: browserUser, Domain: "example.test", Password: browserPass,
	})
	if err != nil {
		return err
	}
	defer ua.Close()
	offer, err := peer.CreateOffer()
	if err != nil {
		return err
	}
	call, err := ua.Invite(cctx, "sip:"+echoNumber+"@example.test", offer)
	if err != nil {
		return fmt.Errorf("invite: %w", err)
	}
	if err := peer.SetAnswer(call.RemoteSDP); err != nil {
		_ = call.Bye(cctx)
		return err
	}
	if err := peer.WaitConnected(cctx); err != nil {
		_ = call.Bye(cctx)
		return err
	}
	if err := peer.Send(cctx, packets); err != nil {
		_ = call.Bye(cctx)
		return err
	}
	_ = until(cctx, time.Second, func() bool { return peer.Stats().Echoed >= packets })
	back := peer.Stats().Echoed
	if ctx.Err() == nil {
		sleep(ctx, jitter(0, 2*time.Second))
	}
	bctx, bcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer bcancel()
	if err := call.Bye(bctx); err != nil {
		return fmt.Errorf("bye: %w", err)
	}
	if back < minBack {
		return fmt.Errorf("media: %d of %d packets came back", back, packets)
	}
	return nil
}

// drainEcho takes rtpecho's incoming calls off its queue (the calls are
// checked from the browser's side).
func (l *load) drainEcho(ctx context.Context) {
	for {
		if _, err := l.env.echo.WaitCall(ctx); err != nil {
			return
		}
	}
}

// badSIP are requests sipedge must reject or drop, never forward or crash
// on.
var badSIP = []string{
	"INVITE sip:1555@example.test SIP/2.0\r\n\r\n",
	"INVITE sip:1555@example.test SIP/7.0\r\nVia: SIP/7.0/UDP 127.0.0.9;branch=z9hG4bKbad1\r\nMax-Forwards: 70\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: bad1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
	"OPTIONS sip:example.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.9;branch=z9hG4bKbad2\r\nMax-Forwards: x\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: bad2\r\nCSeq: one OPTIONS\r\nContent-Length: 0\r\n\r\n",
	"REGISTER sip:example.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.9;branch=z9hG4bKbad3\r\nFrom: <sip:a@example.test>;tag=1\r\nTo: <sip:a@example.test>\r\nCall-ID: bad3\r\nCSeq: 1 REGISTER\r\nContent-Length: 9999\r\n\r\nshort",
	"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.9;branch=z9hG4bKstray\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: stray\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
	"\x00\x01\x02 sip:\xff\xfe SIP/2.0\r\nVia: \r\n\r\n",
}

// halfRequest is the start of a request that never ends.
const halfRequest = "INVITE sip:15551234@example.test SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.9:5060;branch=z9hG4bKhalf\r\nFrom: <sip:x@example.test>;tag=h\r\n"

// badInput sends rate bad inputs per second, in turn: a junk UDP
// datagram, a broken SIP message over UDP, a TCP connection left with
// half a request (at most 20 held; the oldest is closed), a broken SIP
// message over TCP.
func (l *load) badInput(ctx context.Context, rate int) {
	udp, err := net.Dial("udp", l.env.gwUDP)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak: bad input:", err)
		return
	}
	defer udp.Close()
	var held []net.Conn
	defer func() {
		for _, c := range held {
			_ = c.Close()
		}
	}()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	d := net.Dialer{Timeout: time.Second}
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		switch i % 4 {
		case 0:
			junk := make([]byte, 1+mrand.IntN(1200))
			for j := range junk {
				junk[j] = byte(mrand.IntN(256))
			}
			_, _ = udp.Write(junk)
		case 1:
			_, _ = udp.Write([]byte(badSIP[(i/4)%len(badSIP)]))
		case 2:
			c, err := d.DialContext(ctx, "tcp", l.env.gwUDP)
			if err != nil {
				continue
			}
			_, _ = c.Write([]byte(halfRequest))
			held = append(held, c)
			if len(held) > 20 {
				_ = held[0].Close()
				held = held[1:]
			}
		case 3:
			c, err := d.DialContext(ctx, "tcp", l.env.gwUDP)
			if err != nil {
				continue
			}
			_, _ = c.Write([]byte(badSIP[(i/4)%len(badSIP)]))
			_ = c.Close()
		}
		l.bad.Add(1)
	}
}

// probeLoop sends an OPTIONS to sipedge itself every second from a
// trusted address and wants its 200 within 2s.
func (l *load) probeLoop(ctx context.Context) {
	c, err := net.ListenPacket("udp", uacIP+":0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak: probe:", err)
		return
	}
	defer c.Close()
	dst, _ := net.ResolveUDPAddr("udp", l.env.gwUDP)
	local := c.LocalAddr().String()
	buf := make([]byte, 65536)
	for i := 0; sleep(ctx, time.Second); i++ {
		branch := fmt.Sprintf("z9hG4bKprobe%d", i)
		msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\nMax-Forwards: 70\r\nFrom: <sip:probe@%s>;tag=p%d\r\nTo: <sip:%s>\r\nCall-ID: probe-%d@soak\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
			l.env.gwUDP, local, branch, local, i, l.env.gwUDP, i)
		if _, err := c.WriteTo([]byte(msg), dst); err != nil {
			l.probe.done(err)
			continue
		}
		l.probe.done(readProbe(c, buf, branch))
	}
}

func readProbe(c net.PacketConn, buf []byte, branch string) error {
	deadline := time.Now().Add(2 * time.Second)
	_ = c.SetReadDeadline(deadline)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return fmt.Errorf("no answer to OPTIONS: %w", err)
		}
		s := string(buf[:n])
		if !strings.Contains(s, branch+";") {
			continue // a late answer to an earlier probe
		}
		if strings.HasPrefix(s, "SIP/2.0 200 ") {
			return nil
		}
		line, _, _ := strings.Cut(s, "\r\n")
		return errors.New("OPTIONS answered " + line)
	}
}
