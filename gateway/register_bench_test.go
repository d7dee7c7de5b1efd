package gateway

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkRegisterFlowUDP measures whole digest REGISTER flows through the
// gateway over loopback UDP, as SIPp's uac_register.xml makes them:
// REGISTER, 401, REGISTER with MD5 credentials, 200; a new Call-ID per
// flow, one user. allocs/op and B/op are per flow, the gateway's and the
// clients' together (the clients' share is small: one buffer and a few
// strings), and so is cpu-µs/flow (user+system CPU of the process).
func BenchmarkRegisterFlowUDP(b *testing.B) {
	gw := startGW(b, baseConfig())
	dst, err := net.ResolveUDPAddr("udp", gw.addr["udp"])
	if err != nil {
		b.Fatal(err)
	}
	const workers = 8
	peers := make([]*udpPeer, workers)
	for i := range peers {
		peers[i] = newUDPPeer(b)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for w := range workers {
		wg.Add(1)
		go func(p *udpPeer) {
			defer wg.Done()
			buf := make([]byte, 65535)
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				if err := registerFlow(p, dst, n, buf); err != nil {
					errs <- err
					return
				}
			}
		}(peers[w])
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/flow")
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// registerFlow runs one REGISTER/401/REGISTER/200 flow from p.
func registerFlow(p *udpPeer, dst *net.UDPAddr, n int64, buf []byte) error {
	read := func(want string) (string, error) {
		_ = p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		m, _, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			return "", fmt.Errorf("flow %d: waiting for %s: %w", n, want, err)
		}
		s := string(buf[:m])
		if !strings.HasPrefix(s, "SIP/2.0 "+want) {
			line, _, _ := strings.Cut(s, "\r\n")
			return "", fmt.Errorf("flow %d: got %q, want %s", n, line, want)
		}
		return s, nil
	}
	send := func(m string) error {
		_, err := p.conn.WriteToUDP([]byte(m), dst)
		return err
	}
	if err := send(registerRequest(p.addr(), n, 1, "")); err != nil {
		return err
	}
	res, err := read("401")
	if err != nil {
		return err
	}
	if err := send(registerRequest(p.addr(), n, 2, digestMD5(res, 1))); err != nil {
		return err
	}
	_, err = read("200")
	return err
}

// registerRequest is REGISTER number cseq of flow n from src for alice, with
// the Authorization value authz if not "". Every flow registers the same
// Contact, as SIPp's do (one binding, replaced by each new Call-ID).
func registerRequest(src string, n int64, cseq int, authz string) string {
	callID := fmt.Sprintf("flow-%d@bench", n)
	s := "REGISTER sip:example.test SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + src + ";branch=z9hG4bK-" + itoa(int(n)) + "-" + itoa(cseq) + ";rport\r\n" +
		"From: <sip:alice@example.test>;tag=t" + itoa(int(n)) + "\r\n" +
		"To: <sip:alice@example.test>\r\n" +
		"Call-ID: " + callID + "\r\n" +
		"CSeq: " + itoa(cseq) + " REGISTER\r\n" +
		"Contact: <sip:alice@192.0.2.9:5060;transport=udp>\r\n"
	if authz != "" {
		s += "Authorization: " + authz + "\r\n"
	}
	return s + "Expires: 300\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
}

// digestMD5 answers the MD5 challenge of the 401 res for alice with nonce
// count nc.
func digestMD5(res string, nc int) string {
	nonce, opaque := challengeParams(res)
	uri := "sip:example.test"
	ncs := fmt.Sprintf("%08x", nc)
	ha1 := md5hex("alice:example.test:alice-secret")
	ha2 := md5hex("REGISTER:" + uri)
	resp := md5hex(ha1 + ":" + nonce + ":" + ncs + ":c0ffee:auth:" + ha2)
	return `Digest username="alice", realm="example.test", nonce="` + nonce + `", uri="` + uri +
		`", response="` + resp + `", algorithm=MD5, qop=auth, nc=` + ncs + `, cnonce="c0ffee", opaque="` + opaque + `"`
}

// challengeParams returns the nonce and opaque of the first MD5 challenge.
func challengeParams(res string) (nonce, opaque string) {
	for _, line := range strings.Split(res, "\r\n") {
		if !strings.HasPrefix(line, "WWW-Authenticate:") || !strings.Contains(line, "algorithm=MD5") {
			continue
		}
		return quotedParam(line, "nonce"), quotedParam(line, "opaque")
	}
	return "", ""
}

func quotedParam(s, name string) string {
	_, v, ok := strings.Cut(s, name+`="`)
	if !ok {
		return ""
	}
	v, _, _ = strings.Cut(v, `"`)
	return v
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
