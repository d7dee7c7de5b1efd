package gateway

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// captureHandler records every record at Info and above.
type captureHandler struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *captureHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

func (h *captureHandler) records() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), h.recs...)
}

// TestJunkFloodLogs sends 10,000 junk datagrams (garbage, a refused
// request, a broken response) and checks they give a handful of log lines,
// none at Error and none carrying the junk, and that the gateway still
// answers.
func TestJunkFloodLogs(t *testing.T) {
	h := &captureHandler{}
	cfg := baseConfig()
	cfg.Domains = []string{"example.com"}
	gw := startGWWith(t, cfg, Deps{Logger: slog.New(h)})
	c, err := net.Dial("udp", gw.addr["udp"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	junk := [][]byte{
		[]byte("\x00\x01garbage-XYZZY\r\n\r\nnot sip at all"),
		[]byte("OPTIONS sip:a@example.test SIP/7.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKXYZZY\r\n\r\n"),
		[]byte("SIP/2.0 999999 XYZZY\r\n\r\n"),
	}
	for i := range 10000 {
		if _, err := c.Write(junk[i%len(junk)]); err != nil {
			t.Fatal(err)
		}
		if i%500 == 0 {
			time.Sleep(time.Millisecond) // let the reader keep up with the socket buffer
		}
	}
	// The backlog is worked off in order, slowly under the race detector:
	// ask until the gateway answers.
	p := newUDPPeer(t)
	answered := false
	for i := 0; i < 30 && !answered; i++ {
		p.send(gw.addr["udp"], msg(p.addr(), "OPTIONS sip:example.com SIP/2.0", "Via: SIP/2.0/UDP {src};branch=z9hG4bK-flood"+itoa(i)+";rport",
			"Max-Forwards: 70", "From: <sip:a@example.com>;tag=1", "To: <sip:example.com>", "Call-ID: flood-"+itoa(i), "CSeq: 1 OPTIONS",
			"Content-Length: 0", "", ""))
		answered = strings.HasPrefix(p.recvStatus(time.Second), "SIP/2.0 200")
	}
	if !answered {
		t.Fatal("gateway not answering after the flood")
	}
	recs := h.records()
	if len(recs) == 0 || len(recs) > 8 {
		t.Fatalf("%d log lines for 10,000 junk packets, want a handful", len(recs))
	}
	for _, r := range recs {
		if r.Level >= slog.LevelError {
			t.Errorf("junk logged at %v: %s", r.Level, r.Message)
		}
		r.Attrs(func(a slog.Attr) bool {
			if strings.Contains(a.Value.String(), "XYZZY") {
				t.Errorf("junk's octets logged: %s %s=%s", r.Message, a.Key, a.Value)
			}
			return true
		})
	}
	t.Logf("%d log lines", len(recs))
}
