package ws

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/emiago/sipgo/sip"
)

// logBuf collects log output for assertions on log lines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitLog waits (bounded) until the log contains all of parts.
func (l *logBuf) waitLog(t *testing.T, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := l.String()
		ok := true
		for _, p := range parts {
			if !strings.Contains(s, p) {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("log lacks %q:\n%s", parts, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testHandler answers requests with fn (default: 200 OK) and records flows
// that closed.
type testHandler struct {
	fn     func(req *sip.Request, tx sip.ServerTransaction)
	mu     sync.Mutex
	reqs   []*sip.Request
	closed chan *Flow
}

func newTestHandler() *testHandler { return &testHandler{closed: make(chan *Flow, 100)} }

func (h *testHandler) ServeSIP(req *sip.Request, tx sip.ServerTransaction) {
	h.mu.Lock()
	h.reqs = append(h.reqs, req)
	fn := h.fn
	h.mu.Unlock()
	if fn != nil {
		fn(req, tx)
		return
	}
	if req.IsAck() {
		return
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
}

func (h *testHandler) FlowClosed(f *Flow) { h.closed <- f }

func (h *testHandler) requests() []*sip.Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*sip.Request(nil), h.reqs...)
}

// testServer runs a Server behind httptest (TLS if secure).
type testServer struct {
	*Server
	url  string
	http *httptest.Server
	log  *logBuf
	h    *testHandler
}

func startServer(t *testing.T, cfg Config, secure bool) *testServer {
	t.Helper()
	lb := &logBuf{}
	log := slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newTestHandler()
	s := NewServer(cfg, h, log)
	mux := http.NewServeMux()
	mux.Handle("/ws", s)
	var hs *httptest.Server
	if secure {
		hs = httptest.NewTLSServer(mux)
	} else {
		hs = httptest.NewServer(mux)
	}
	ts := &testServer{Server: s, http: hs, log: lb, h: h,
		url: strings.Replace(hs.URL, "http", "ws", 1) + "/ws"}
	t.Cleanup(func() {
		s.Close()
		hs.Close()
		if t.Failed() && os.Getenv("WS_TEST_LOG") != "" {
			t.Log(lb.String())
		}
	})
	return ts
}

func (ts *testServer) dialOpts() *websocket.DialOptions {
	o := &websocket.DialOptions{Subprotocols: []string{"sip"}}
	if strings.HasPrefix(ts.url, "wss:") {
		tr := ts.http.Client().Transport.(*http.Transport).Clone()
		o.HTTPClient = &http.Client{Transport: tr}
	}
	return o
}

func (ts *testServer) dial(t *testing.T) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, ts.url, ts.dialOpts())
	if err != nil {
		t.Fatalf("dial %s: %v", ts.url, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// httpURL is the upgrade endpoint as http(s).
func (ts *testServer) httpURL() string { return ts.http.URL + "/ws" }

// upgradeStatus sends a raw upgrade request and returns the HTTP status.
func (ts *testServer) upgradeStatus(t *testing.T, host string, hdr map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.httpURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	req.Header.Set("Sec-WebSocket-Protocol", "sip")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	if host != "" {
		req.Host = host
	}
	res, err := ts.http.Client().Do(req)
	if err != nil {
		t.Fatalf("upgrade request: %v", err)
	}
	res.Body.Close()
	return res.StatusCode
}

// sample reads a SIP message from testdata.
func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withBranch returns a sample with its top Via branch replaced.
func withBranch(b []byte, old, branch string) []byte {
	return bytes.Replace(b, []byte("branch="+old), []byte("branch="+branch), 1)
}

func send(t *testing.T, c *websocket.Conn, b []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatalf("client write: %v", err)
	}
}

func sendMsg(t *testing.T, c *websocket.Conn, m sip.Message) {
	t.Helper()
	send(t, c, []byte(m.String()))
}

// recv reads one SIP message on the client side.
func recv(t *testing.T, c *websocket.Conn) sip.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("client read: %v", err)
	}
	m, err := sip.ParseMessage(b)
	if err != nil {
		t.Fatalf("client parse %q: %v", b, err)
	}
	return m
}

func recvResponse(t *testing.T, c *websocket.Conn) *sip.Response {
	t.Helper()
	m := recv(t, c)
	r, ok := m.(*sip.Response)
	if !ok {
		t.Fatalf("want a response, got %s", m.String())
	}
	return r
}

// waitFlow returns the only flow once the server has registered it.
func (ts *testServer) waitFlow(t *testing.T) *Flow {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ts.mu.Lock()
		for _, f := range ts.flows {
			ts.mu.Unlock()
			return f
		}
		ts.mu.Unlock()
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("no flow")
	return nil
}

// waitTxZero waits until f tracks no transactions.
func waitTxZero(t *testing.T, f *Flow) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, c := f.TxCount()
		if s == 0 && c == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("transactions leaked: server=%d client=%d", s, c)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
