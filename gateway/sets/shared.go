package sets

import "strings"

// In a cluster, least-calls and members' max_calls count the calls of
// every node: the owner publishes this node's counts (ActiveCounts) and
// hands back the other nodes' (SetRemoteCounts) every heartbeat or so.

// MemberKey names a member across nodes and reloads: "SET/URI".
func MemberKey(set, uri string) string { return set + "/" + uri }

// ActiveCounts returns this node's calls in progress per member
// (MemberKey), members without calls included.
func (s *Sets) ActiveCounts() map[string]int {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	out := make(map[string]int, len(s.reg.members))
	for k, h := range s.reg.members {
		set, uri, _ := strings.Cut(k, "\x00")
		h.mu.Lock()
		out[MemberKey(set, uri)] = h.active
		h.mu.Unlock()
	}
	return out
}

// SetRemoteCounts sets the calls in progress through the other nodes per
// member (MemberKey); a member not listed has none.
func (s *Sets) SetRemoteCounts(remote map[string]int) {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	for k, h := range s.reg.members {
		set, uri, _ := strings.Cut(k, "\x00")
		h.mu.Lock()
		h.remote = max(0, remote[MemberKey(set, uri)])
		h.mu.Unlock()
	}
}
