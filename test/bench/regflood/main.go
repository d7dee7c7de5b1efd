// Command regflood sends a flood of unauthenticated REGISTERs over UDP from
// one socket (a new Call-ID, branch and From tag each, as an attacker at the
// edge would) and counts the answers by status code. register.sh uses it
// for the challenge-flood case of make bench; edge.sh sends INVITEs or
// OPTIONS from a second loopback address (-source) that the proxy bans, and
// counts what the proxy still answered.
//
//	regflood -target 127.0.0.1:15060 -n 100000 -rate 40000
//	regflood -target 127.0.0.1:15060 -source 127.0.0.9 -method INVITE -n 30000 -rate 2000
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"
)

func main() {
	target := flag.String("target", "127.0.0.1:5060", "sipedge UDP address")
	n := flag.Int("n", 100000, "REGISTERs to send")
	rate := flag.Int("rate", 40000, "REGISTERs per second (0: as fast as possible)")
	domain := flag.String("domain", "example.test", "domain in the Request-URI, From and To")
	user := flag.String("user", "alice", "user in From and To")
	wait := flag.Duration("wait", 2*time.Second, "how long to wait for answers after the last send")
	source := flag.String("source", "", "local address to send from (e.g. 127.0.0.9; default: chosen by the kernel)")
	method := flag.String("method", "REGISTER", "request method: REGISTER, INVITE or OPTIONS")
	flag.Parse()
	switch *method {
	case "REGISTER", "INVITE", "OPTIONS":
	default:
		fmt.Fprintf(os.Stderr, "regflood: -method %q: want REGISTER, INVITE or OPTIONS\n", *method)
		os.Exit(2)
	}
	if err := run(*target, *source, *method, *n, *rate, *domain, *user, *wait); err != nil {
		fmt.Fprintln(os.Stderr, "regflood:", err)
		os.Exit(1)
	}
}

func run(target, source, method string, n, rate int, domain, user string, wait time.Duration) error {
	raddr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return err
	}
	var laddr *net.UDPAddr
	if source != "" {
		if laddr, err = net.ResolveUDPAddr("udp", net.JoinHostPort(source, "0")); err != nil {
			return err
		}
	}
	conn, err := net.DialUDP("udp", laddr, raddr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetReadBuffer(8 << 20)
	_ = conn.SetWriteBuffer(8 << 20)
	local := conn.LocalAddr().String()

	var mu sync.Mutex
	codes := map[int]int{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			m, err := conn.Read(buf)
			if err != nil {
				return
			}
			// "SIP/2.0 401 ..."
			if m > 12 && bytes.HasPrefix(buf[:m], []byte("SIP/2.0 ")) {
				if c, err := strconv.Atoi(string(buf[8:11])); err == nil {
					mu.Lock()
					codes[c]++
					mu.Unlock()
				}
			}
		}
	}()

	start := time.Now()
	var id [12]byte
	msg := make([]byte, 0, 512)
	for i := range n {
		if rate > 0 {
			if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
				time.Sleep(d)
			}
		}
		_, _ = rand.Read(id[:])
		h := hex.EncodeToString(id[:])
		ruri := domain
		if method != "REGISTER" {
			ruri = user + "@" + domain
		}
		msg = fmt.Appendf(msg[:0], "%s sip:%s SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\n"+
			"From: <sip:%s@%s>;tag=%s\r\n"+
			"To: <sip:%s@%s>\r\n"+
			"Call-ID: %s@flood\r\n"+
			"CSeq: 1 %s\r\n"+
			"Contact: <sip:%s@%s>\r\n"+
			"Expires: 300\r\n"+
			"Max-Forwards: 70\r\n"+
			"Content-Length: 0\r\n\r\n",
			method, ruri, local, h, user, domain, h[:8], user, domain, h, method, user, local)
		if _, err := conn.Write(msg); err != nil {
			return fmt.Errorf("send %d: %w", i, err)
		}
	}
	sent := time.Since(start)
	time.Sleep(wait)
	_ = conn.Close()
	<-done

	mu.Lock()
	defer mu.Unlock()
	total := 0
	keys := make([]int, 0, len(codes))
	for c, k := range codes {
		keys = append(keys, c)
		total += k
	}
	sort.Ints(keys)
	fmt.Printf("sent %d in %.2fs (%.0f/s), answered %d", n, sent.Seconds(), float64(n)/sent.Seconds(), total)
	for _, c := range keys {
		fmt.Printf(", %d: %d", c, codes[c])
	}
	fmt.Println()
	return nil
}
