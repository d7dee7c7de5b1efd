package gateway

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/self"
)

// refuseSender never touches the network: every send fails as if the next
// hop were unreachable.
type refuseSender struct{}

var errRefused = errors.New("test: sending disabled")

func (refuseSender) request(context.Context, *sip.Request) (sip.ClientTransaction, error) {
	return nil, errRefused
}
func (refuseSender) write(*sip.Request) error { return errRefused }

// recordTx is a server transaction that records responses.
type recordTx struct {
	mu   sync.Mutex
	resp []*sip.Response
	done chan struct{}
}

func newRecordTx() *recordTx { return &recordTx{done: make(chan struct{})} }

func (r *recordTx) Respond(res *sip.Response) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resp = append(r.resp, res)
	return nil
}
func (r *recordTx) Acks() <-chan *sip.Request          { return nil }
func (r *recordTx) OnCancel(sip.FnTxCancel) bool       { return true }
func (r *recordTx) Terminate()                         {}
func (r *recordTx) OnTerminate(sip.FnTxTerminate) bool { return true }
func (r *recordTx) Done() <-chan struct{}              { return r.done }
func (r *recordTx) Err() error                         { return nil }

// fuzzGateway is a gateway that is not running: no sockets, a refusing
// sender, our address 127.0.0.1:5060.
func fuzzGateway(t testing.TB) *Gateway {
	cfg := baseConfig()
	cfg.Trusted = []string{"10.0.0.0/8"}
	cfg.Routes = []route.Rule{{To: []string{"sip:127.0.0.1:9"}}}
	cfg.SetDefaults()
	g, err := New(cfg, Deps{Logger: slog.New(slog.DiscardHandler), Listeners: []Listener{{Transport: "udp", Addr: "127.0.0.1:5060"}}})
	if err != nil {
		t.Fatal(err)
	}
	// Close without Run releases what New made and waits for the
	// background work the requests started.
	t.Cleanup(func() { _ = g.Close() })
	g.out = refuseSender{}
	g.self = self.New("", cfg.Domains, []self.Listener{{Transport: "udp", Addr: "127.0.0.1:5060"}})
	return g
}

// FuzzRequestPath feeds arbitrary bytes through sipgo's parser and the
// gateway's whole request pipeline (checks, routing, auth, registrar,
// forwarding up to the wire). It must never panic, and every non-ACK
// request must get at most one final response.
func FuzzRequestPath(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.sip")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("OPTIONS sip:example.test SIP/2.0\r\nVia: SIP/2.0/UDP 10.1.1.1;branch=z9hG4bK1\r\nFrom: <sip:a@example.test>;tag=1\r\nTo: <sip:example.test>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n"))
	g := fuzzGateway(f)
	parser := sip.NewParser()
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parser.ParseSIP(data)
		if err != nil {
			return
		}
		req, ok := m.(*sip.Request)
		if !ok {
			return
		}
		for _, src := range []string{"10.1.1.1:5060", "192.0.2.7:5060"} {
			r := req.Clone()
			r.SetSource(src)
			r.SetTransport("UDP")
			tx := newRecordTx()
			g.wrap(g.handle)(r, tx)
			finals := 0
			for _, res := range tx.resp {
				if res.StatusCode >= 200 {
					finals++
				}
			}
			if finals > 1 {
				t.Fatalf("%d final responses for %s", finals, r.StartLine())
			}
		}
	})
}
