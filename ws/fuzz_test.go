package ws

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/coder/websocket"
	"github.com/emiago/sipgo/sip"
)

// answerHandler answers every request but ACK with 200.
type answerHandler struct{}

func (answerHandler) ServeSIP(req *sip.Request, tx sip.ServerTransaction) {
	if !req.IsAck() {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	}
}

func (answerHandler) FlowClosed(*Flow) {}

type discardWriter struct{}

func (discardWriter) Write(context.Context, websocket.MessageType, []byte) error { return nil }

// FuzzHandleMessage feeds arbitrary bytes through the inbound path (parse,
// label, transaction matching, handler, responses) of one flow.
func FuzzHandleMessage(f *testing.F) {
	for _, name := range []string{"jssip-register.sip", "jssip-invite.sip", "jssip-cancel.sip", "bad-contact.sip"} {
		f.Add(sample(f, name))
	}
	f.Add([]byte("\r\n\r\n"))
	f.Add([]byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/WS a.invalid;branch=z9hG4bK1\r\nCSeq: 1 OPTIONS\r\n\r\n"))
	f.Add([]byte("ACK sip:a@b SIP/2.0\r\nVia: SIP/2.0/WS a.invalid;branch=z9hG4bK1\r\nCSeq: 1 ACK\r\n\r\n"))

	s := NewServer(Config{}, answerHandler{}, nil)
	defer s.Close()
	fl := newFlow(s, "WS", httptest.NewRequest("GET", "/ws", nil), "192.0.2.1")
	fl.w = discardWriter{}
	f.Fuzz(func(t *testing.T, data []byte) {
		fl.handleMessage(data)
	})
}

// BenchmarkInboundRegister measures the inbound path of one REGISTER: parse,
// label, new server transaction, handler answering 200, serialised write.
func BenchmarkInboundRegister(b *testing.B) {
	s := NewServer(Config{}, answerHandler{}, nil)
	defer s.Close()
	fl := newFlow(s, "WS", httptest.NewRequest("GET", "/ws", nil), "192.0.2.1")
	fl.w = discardWriter{}
	reg := sample(b, "jssip-register.sip")
	msgs := make([][]byte, 1024)
	for i := range msgs {
		msgs[i] = withBranch(reg, "z9hG4bK5584185", "z9hG4bKb"+strconv.Itoa(i))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		fl.handleMessage(msgs[i%len(msgs)])
		i++
	}
}
