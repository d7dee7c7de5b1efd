package trunk

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/auth"
	"github.com/sipedge/sipedge/gateway/route"
)

// sent is one REGISTER the scripted registrar received.
type sent struct {
	at         time.Time
	hop        string
	expires    int
	authorized bool
	code       int
	cseq       uint32
	callID     string
}

// scripted is a registrar demanding digest (gateway/auth with the trunk's
// account), whose answers a test can override per request.
type scripted struct {
	t     *testing.T
	clock *fakeClock
	auth  *auth.Authenticator
	grant int // Contact expires in the 200; 0 = the asked expiry

	mu   sync.Mutex
	log  []sent
	hook func(n int, req *sip.Request, hop route.Target) (*sip.Response, error) // nil answer: default
}

func newScripted(t *testing.T, c *fakeClock) *scripted {
	a, err := auth.New(auth.Config{Realm: "carrier.test"}, map[string]auth.Secret{"acct": {Password: "pw"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &scripted{t: t, clock: c, auth: a}
}

func (s *scripted) Send(_ context.Context, req *sip.Request, hop route.Target) (*sip.Response, error) {
	s.mu.Lock()
	n := len(s.log)
	hook := s.hook
	s.mu.Unlock()
	exp, _ := strconv.Atoi(req.GetHeader("Expires").Value())
	e := sent{at: s.clock.Now(), hop: hop.Addr, expires: exp, authorized: req.GetHeader("Authorization") != nil,
		cseq: req.CSeq().SeqNo, callID: req.CallID().Value()}
	var res *sip.Response
	var err error
	if hook != nil {
		res, err = hook(n, req, hop)
	}
	if res == nil && err == nil {
		res = s.answer(req)
	}
	if res != nil {
		e.code = res.StatusCode
	}
	s.mu.Lock()
	s.log = append(s.log, e)
	s.mu.Unlock()
	return res, err
}

// answer is a digest-demanding registrar's answer.
func (s *scripted) answer(req *sip.Request) *sip.Response {
	_, err := s.auth.Check(req, false)
	switch {
	case errors.Is(err, auth.ErrNoCredentials):
		return s.auth.Challenge(req, false, false)
	case errors.Is(err, auth.ErrStale):
		return s.auth.Challenge(req, false, true)
	case err != nil:
		return sip.NewResponseFromRequest(req, 403, "Forbidden", nil)
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	exp, _ := strconv.Atoi(req.GetHeader("Expires").Value())
	if s.grant > 0 && exp > 0 {
		exp = s.grant
	}
	ct := req.Contact().Clone()
	ct.Params = sip.NewParams()
	ct.Params.Add("expires", strconv.Itoa(exp))
	res.AppendHeader(ct)
	return res
}

func (s *scripted) sent() []sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sent(nil), s.log...)
}

// reply builds a scripted answer with extra headers.
func reply(req *sip.Request, code int, reason string, hdr ...sip.Header) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdr {
		res.AppendHeader(h)
	}
	return res
}
