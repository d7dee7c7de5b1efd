// Command sigdelay measures the signalling delay sipedge adds to a call:
// INVITE in → INVITE out and 200 in → 200 out, including the rtpengine
// round trips, at increasing call rates. It plays both ends of each call
// over UDP on loopback (one clock for both sides), so the delay measured is
// what the proxy (and rtpengine) add.
//
//	sigdelay -proxy 127.0.0.1:5080 -callee 127.0.0.1:5091 -rates 50,100,200 -duration 5s
//
// sipedge must route the Request-URI user (default "100") to -callee.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

const offer = "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
const answer = "v=0\r\no=callee 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"

type call struct {
	inviteSent, inviteSeen time.Time
	okSent, okSeen         time.Time
}

type run struct {
	mu    sync.Mutex
	calls map[string]*call
}

func main() {
	proxy := flag.String("proxy", "127.0.0.1:5080", "sipedge UDP address")
	calleeAddr := flag.String("callee", "127.0.0.1:5091", "address to receive the forwarded INVITEs on")
	user := flag.String("user", "100", "Request-URI user routed to -callee")
	rates := flag.String("rates", "50,100,200,400", "call rates to try (calls/s)")
	dur := flag.Duration("duration", 5*time.Second, "how long each rate runs")
	pingNG := flag.String("ping-ng", "", "only wait (at most 10s) until rtpengine answers an ng ping at this address, then exit")
	flag.Parse()
	if *pingNG != "" {
		if err := waitPong(*pingNG, 10*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "sigdelay:", err)
			os.Exit(1)
		}
		return
	}
	if err := measure(*proxy, *calleeAddr, *user, *rates, *dur); err != nil {
		fmt.Fprintln(os.Stderr, "sigdelay:", err)
		os.Exit(1)
	}
}

func measure(proxy, calleeAddr, user, rates string, dur time.Duration) error {
	caller, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer caller.Close()
	callee, err := net.ListenPacket("udp", calleeAddr)
	if err != nil {
		return err
	}
	defer callee.Close()
	pa, err := net.ResolveUDPAddr("udp", proxy)
	if err != nil {
		return err
	}
	fmt.Printf("%8s %8s %8s %10s %10s %10s %10s %10s %10s %8s\n", "rate", "calls", "ok", "inv p50", "inv p95", "inv p99", "200 p50", "200 p95", "200 p99", "lost")
	best := 0
	for _, rs := range strings.Split(rates, ",") {
		rate, err := strconv.Atoi(strings.TrimSpace(rs))
		if err != nil || rate <= 0 {
			return fmt.Errorf("bad rate %q", rs)
		}
		r := &run{calls: map[string]*call{}}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); r.serveCallee(ctx, callee) }()
		go func() { defer wg.Done(); r.serveCaller(ctx, caller, pa) }()
		n := r.drive(caller, pa, user, rate, dur)
		time.Sleep(2 * time.Second) // let the last calls finish (bounded)
		cancel()
		_ = caller.SetReadDeadline(time.Now())
		_ = callee.SetReadDeadline(time.Now())
		wg.Wait()
		_ = caller.SetReadDeadline(time.Time{})
		_ = callee.SetReadDeadline(time.Time{})
		var inv, ok []time.Duration
		lost := 0
		r.mu.Lock()
		for _, c := range r.calls {
			if c.inviteSeen.IsZero() || c.okSeen.IsZero() {
				lost++
				continue
			}
			inv = append(inv, c.inviteSeen.Sub(c.inviteSent))
			ok = append(ok, c.okSeen.Sub(c.okSent))
		}
		r.mu.Unlock()
		p := func(d []time.Duration, q float64) string {
			if len(d) == 0 {
				return "-"
			}
			slices.Sort(d)
			return fmt.Sprintf("%.2fms", float64(d[int(q*float64(len(d)-1))].Microseconds())/1000)
		}
		fmt.Printf("%8d %8d %8d %10s %10s %10s %10s %10s %10s %8d\n", rate, n, len(inv), p(inv, .5), p(inv, .95), p(inv, .99), p(ok, .5), p(ok, .95), p(ok, .99), lost)
		if len(inv) > 0 && lost == 0 {
			slices.Sort(inv)
			slices.Sort(ok)
			if inv[int(.99*float64(len(inv)-1))] < 5*time.Millisecond && ok[int(.99*float64(len(ok)-1))] < 5*time.Millisecond {
				best = rate
			}
		}
	}
	fmt.Printf("highest rate with p99 < 5 ms both ways and no lost call: %d calls/s\n", best)
	return nil
}

// waitPong pings rtpengine's ng port until it answers pong, at most d.
func waitPong(addr string, d time.Duration) error {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 256)
	end := time.Now().Add(d)
	for i := 0; time.Now().Before(end); i++ {
		if _, err := fmt.Fprintf(c, "p%d d7:command4:pinge", i); err != nil {
			return err
		}
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, err := c.Read(buf); err == nil && strings.Contains(string(buf[:n]), "pong") {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("rtpengine at %s did not answer a ping within %s", addr, d)
}

// drive sends INVITEs at rate for dur and returns how many.
func (r *run) drive(c net.PacketConn, proxy *net.UDPAddr, user string, rate int, dur time.Duration) int {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.Now().Add(dur)
	n := 0
	for time.Now().Before(end) {
		<-tick.C
		n++
		id := fmt.Sprintf("sd-%d-%d-%d", rate, n, time.Now().UnixNano())
		m := strings.Join([]string{
			"INVITE sip:" + user + "@example.test SIP/2.0",
			"Via: SIP/2.0/UDP " + c.LocalAddr().String() + ";branch=z9hG4bK-" + id + ";rport",
			"Max-Forwards: 70", "From: <sip:load@example.test>;tag=c" + strconv.Itoa(n), "To: <sip:" + user + "@example.test>",
			"Call-ID: " + id, "CSeq: 1 INVITE", "Contact: <sip:load@" + c.LocalAddr().String() + ">",
			"Content-Type: application/sdp", "Content-Length: " + strconv.Itoa(len(offer)), "", offer}, "\r\n")
		r.mu.Lock()
		r.calls[id] = &call{inviteSent: time.Now()}
		r.mu.Unlock()
		_, _ = c.WriteTo([]byte(m), proxy)
	}
	return n
}

// receive reads SIP messages from c until ctx ends or c fails (its read
// deadline is set to stop it), passing each parsed one to fn with its
// source and arrival time.
func receive(ctx context.Context, c net.PacketConn, fn func(m sip.Message, from net.Addr, at time.Time)) {
	buf := make([]byte, 65535)
	p := sip.NewParser()
	for ctx.Err() == nil {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		at := time.Now()
		if m, err := p.ParseSIP(buf[:n]); err == nil {
			fn(m, from, at)
		}
	}
}

// serveCallee answers every INVITE 200 at once and every BYE 200.
func (r *run) serveCallee(ctx context.Context, c net.PacketConn) {
	receive(ctx, c, func(m sip.Message, from net.Addr, now time.Time) {
		req, ok := m.(*sip.Request)
		if !ok {
			return
		}
		var res *sip.Response
		switch req.Method {
		case sip.INVITE:
			r.mu.Lock()
			if cl := r.calls[req.CallID().Value()]; cl != nil && cl.inviteSeen.IsZero() {
				cl.inviteSeen = now
			}
			r.mu.Unlock()
			res = sip.NewResponseFromRequest(req, 200, "OK", []byte(answer))
			res.To().Params.Add("tag", "callee")
			res.AppendHeader(sip.NewHeader("Contact", "<sip:callee@"+c.LocalAddr().String()+">"))
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		case sip.BYE:
			res = sip.NewResponseFromRequest(req, 200, "OK", nil)
		default:
			return
		}
		if req.Method == sip.INVITE {
			r.mu.Lock()
			if cl := r.calls[req.CallID().Value()]; cl != nil && cl.okSent.IsZero() {
				cl.okSent = time.Now()
			}
			r.mu.Unlock()
		}
		_, _ = c.WriteTo([]byte(res.String()), from)
	})
}

// serveCaller takes the 200s, sends ACK and BYE along the route set.
func (r *run) serveCaller(ctx context.Context, c net.PacketConn, proxy *net.UDPAddr) {
	receive(ctx, c, func(m sip.Message, _ net.Addr, now time.Time) {
		res, ok := m.(*sip.Response)
		if !ok || res.StatusCode != 200 || res.CSeq().MethodName != sip.INVITE {
			return
		}
		id := res.CallID().Value()
		r.mu.Lock()
		cl := r.calls[id]
		first := cl != nil && cl.okSeen.IsZero()
		if first {
			cl.okSeen = now
		}
		r.mu.Unlock()
		if !first {
			return
		}
		var routes []string
		for _, h := range res.GetHeaders("Record-Route") {
			routes = append(routes, h.Value())
		}
		slices.Reverse(routes)
		target := "sip:callee@127.0.0.1"
		if ct := res.Contact(); ct != nil {
			target = ct.Address.String()
		}
		totag, _ := res.To().Params.Get("tag")
		ft, _ := res.From().Params.Get("tag")
		for i, method := range []string{"ACK", "BYE"} {
			seq := "1 ACK"
			if i == 1 {
				seq = "2 BYE"
			}
			hdr := []string{method + " " + target + " SIP/2.0",
				"Via: SIP/2.0/UDP " + c.LocalAddr().String() + ";branch=z9hG4bK-" + method + id + ";rport",
				"Max-Forwards: 70"}
			if len(routes) > 0 {
				hdr = append(hdr, "Route: "+strings.Join(routes, ", "))
			}
			hdr = append(hdr, "From: <sip:load@example.test>;tag="+ft, "To: "+res.To().Value()[:strings.Index(res.To().Value(), ";tag=")]+";tag="+totag,
				"Call-ID: "+id, "CSeq: "+seq, "Content-Length: 0", "", "")
			_, _ = c.WriteTo([]byte(strings.Join(hdr, "\r\n")), proxy)
		}
	})
}
