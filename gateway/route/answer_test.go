package route

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

func res(code int) *sip.Response { return sip.NewResponse(code, "x") }

func TestBest(t *testing.T) {
	for _, tc := range []struct {
		name string
		outs []Outcome
		want int
	}{
		{"nothing answered", []Outcome{{}, {}}, -1},
		{"empty", nil, -1},
		{"2xx beats 6xx", []Outcome{{Res: res(603)}, {Res: res(200)}}, 1},
		{"6xx beats 4xx", []Outcome{{Res: res(486)}, {Res: res(600)}}, 1},
		{"4xx beats 5xx", []Outcome{{Res: res(503)}, {Res: res(404)}}, 1},
		{"downstream beats our own", []Outcome{{Res: res(480), Synthetic: true}, {Res: res(486)}}, 1},
		{"our 408 loses to a real 408", []Outcome{{Res: res(408), Synthetic: true}, {Res: res(408)}}, 1},
		{"486 beats 408 in a class", []Outcome{{Res: res(408)}, {Res: res(486)}}, 1},
		{"500 beats 503", []Outcome{{Res: res(503)}, {Res: res(500)}}, 1},
		{"first of equals", []Outcome{{Res: res(486)}, {Res: res(486)}}, 0},
		{"3xx beats 4xx", []Outcome{{Res: res(404)}, {Res: res(302)}}, 1},
		{"pending ignored", []Outcome{{}, {Res: res(404)}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Best(tc.outs); got != tc.want {
				t.Fatalf("Best = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	for code, want := range map[int]bool{0: true, 408: true, 500: true, 503: true, 599: true,
		200: false, 302: false, 404: false, 486: false, 487: false, 600: false, 603: false} {
		if got := Retryable(code); got != want {
			t.Errorf("Retryable(%d) = %v, want %v", code, got, want)
		}
	}
}

func TestMergeChallenges(t *testing.T) {
	challenge := func(code int, name, realm string) *sip.Response {
		r := res(code)
		r.AppendHeader(sip.NewHeader(name, `Digest realm="`+realm+`", nonce="n"`))
		return r
	}
	outs := []Outcome{
		{Res: challenge(407, "Proxy-Authenticate", "a")},
		{Res: challenge(401, "WWW-Authenticate", "b")},
		{Res: res(486)},
		{Res: challenge(407, "Proxy-Authenticate", "ours"), Synthetic: true},
	}
	out := challenge(407, "Proxy-Authenticate", "a")
	MergeChallenges(out, outs, 0)
	if n := len(out.GetHeaders("Proxy-Authenticate")); n != 1 {
		t.Fatalf("Proxy-Authenticate: %d, want 1 (the best's own, not a synthetic one)", n)
	}
	if n := len(out.GetHeaders("WWW-Authenticate")); n != 1 {
		t.Fatalf("WWW-Authenticate: %d, want 1 (from branch b)", n)
	}
}
