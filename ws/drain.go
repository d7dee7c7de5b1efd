package ws

import "github.com/coder/websocket"

// StatusServiceRestart is the close code a draining server sends (RFC 6455
// 1012): the client is told to reconnect, which a load balancer sends to
// another node. JsSIP and browsers' softphones reconnect on it.
const StatusServiceRestart websocket.StatusCode = 1012

// Drain refuses new upgrades from now on (503, counted as "closing") and
// closes every flow keep does not want kept (a call in progress) with
// close code 1012 "service restart"; it returns how many it closed. A kept
// flow stays until its call ends or the server closes. It may be called
// again to close flows whose calls have ended.
func (s *Server) Drain(keep func(flowID string) bool) int {
	s.mu.Lock()
	s.draining = true
	var flows []*Flow
	for id, f := range s.flows {
		if keep == nil || !keep(id) {
			flows = append(flows, f)
		}
	}
	s.mu.Unlock()
	for _, f := range flows {
		f.closeWith(StatusServiceRestart, "service restart: reconnect", true)
	}
	return len(flows)
}
