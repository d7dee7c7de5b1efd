package route

// Observer learns how the branches sent to a target go (destination sets
// count calls in progress and the health of their members). The proxy
// calls Started when it sends a branch and Ended once with the final
// answer: code 0 when there is none, local when the proxy made it up (an
// unreachable hop, the branch timer). A 2xx to an INVITE (invite) leaves
// a call in progress, which ends when the gateway reports its BYE to
// whoever keeps count.
type Observer interface {
	Started(callID string)
	Ended(callID string, code int, local, invite bool)
}

// Failover reports whether serial failover moves on from grp to the next
// group after the outcomes of grp's branches (best is Best's index): a
// branch the proxy gave up (no answer, unreachable, branch timer) always
// fails over; an answer does when grp's first target's Failover accepts
// its code, or, without one, when Retryable does.
func Failover(grp Group, outs []Outcome, best int) bool {
	if best < 0 || outs[best].Synthetic {
		return true
	}
	code := outs[best].Res.StatusCode
	if len(grp) > 0 && grp[0].Failover != nil {
		return grp[0].Failover(code)
	}
	return Retryable(code)
}
