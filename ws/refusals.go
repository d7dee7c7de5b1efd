package ws

import "sync/atomic"

// Refusal reasons counted by the Server (the "reason" label of
// sipedge_ws_refusals_total).
const (
	RefusedHost        = "host"
	RefusedOrigin      = "origin"
	RefusedSubprotocol = "subprotocol"
	RefusedCapacity    = "capacity"
	RefusedPerAddress  = "per_address"
	RefusedClosing     = "closing"
	RefusedUpgrade     = "upgrade"
)

// refusalReasons is the order of Server.refused.
var refusalReasons = [...]string{RefusedHost, RefusedOrigin, RefusedSubprotocol, RefusedCapacity, RefusedPerAddress, RefusedClosing, RefusedUpgrade} //nolint:gochecknoglobals // constant table

// refusals counts refused upgrades by reason, without locks.
type refusals [len(refusalReasons)]atomic.Uint64

func (r *refusals) add(reason string) {
	for i, s := range refusalReasons {
		if s == reason {
			r[i].Add(1)
			return
		}
	}
}

// Refusal is how many upgrade requests were refused for one reason.
type Refusal struct {
	Reason string
	Count  uint64
}

// Refusals returns the count of refused upgrades for every reason, zero
// counts included, in a fixed order.
func (s *Server) Refusals() []Refusal {
	out := make([]Refusal, len(refusalReasons))
	for i, r := range refusalReasons {
		out[i] = Refusal{Reason: r, Count: s.refused[i].Load()}
	}
	return out
}

// Conns returns the number of open flows by transport.
func (s *Server) Conns() (ws, wss int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.flows {
		if f.transport == "WSS" {
			wss++
		} else {
			ws++
		}
	}
	return ws, wss
}

// refusalReason maps a refusal of ServeHTTP to its counted reason.
func refusalReason(status int, reason string) string {
	switch reason {
	case "host not allowed":
		return RefusedHost
	case "origin not allowed":
		return RefusedOrigin
	case "subprotocol sip required":
		return RefusedSubprotocol
	case "server closing":
		return RefusedClosing
	}
	if status == 429 {
		return RefusedPerAddress
	}
	return RefusedCapacity
}
