package route

import "github.com/emiago/sipgo/sip"

// Outcome is how one branch of a forwarded request ended: the final
// response it got, or the one the proxy made up for it (a timeout, an
// unreachable hop) when Synthetic is set. A nil Res is a branch that has
// not ended.
type Outcome struct {
	Res       *sip.Response
	Synthetic bool
}

// Best picks the answer to relay among outcomes (RFC 3261 §16.7 step 6): a
// 2xx if any, else a 6xx, else the lowest class, preferring answers from
// downstream over the proxy's own, and other codes over 408 and 503 within
// a class. It returns the index of the chosen outcome, or -1 if no branch
// has an answer.
func Best(outs []Outcome) int {
	best := -1
	for i, o := range outs {
		if o.Res == nil {
			continue
		}
		if best < 0 || rank(o) < rank(outs[best]) {
			best = i
		}
	}
	return best
}

func rank(o Outcome) int {
	c := o.Res.StatusCode
	switch {
	case c >= 200 && c < 300:
		return -1
	case c >= 600:
		return 0
	}
	k := (c/100)*10 + 1
	if o.Synthetic {
		k += 5
	}
	if c == 408 || c == 503 {
		k += 2
	}
	return k
}

// Retryable reports whether serial failover moves on to the next group
// after the best answer code (0: no answer at all): on no answer, 408 and
// any 5xx.
func Retryable(code int) bool {
	return code == 0 || code == 408 || (code >= 500 && code < 600)
}

// MergeChallenges copies into out the digest challenges of every other
// 401/407 outcome (RFC 3261 §16.7 step 7: the caller answers them all at
// once). best is the index of the outcome out was made from.
func MergeChallenges(out *sip.Response, outs []Outcome, best int) {
	for i, o := range outs {
		r := o.Res
		if i == best || r == nil || o.Synthetic || (r.StatusCode != 401 && r.StatusCode != 407) {
			continue
		}
		for _, name := range []string{"WWW-Authenticate", "Proxy-Authenticate"} {
			for _, h := range r.GetHeaders(name) {
				out.AppendHeader(sip.HeaderClone(h))
			}
		}
	}
}
