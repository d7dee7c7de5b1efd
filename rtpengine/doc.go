// Package rtpengine is sipedge's client for rtpengine's ng control protocol:
// it asks rtpengine to rewrite the SDP of each call leg (offer, answer),
// tears calls down (delete) and runs the other ng commands.
//
// # Flow of one command
//
//  1. The typed call (Offer, Answer, Delete, ...) builds an ng dictionary;
//     Options and the recipes ToBrowser / ToPlainRTP spell every flag out
//     (rtpengine 10.5 has no "WebRTC" shortcut).
//  2. The node is chosen. A new call (the first Offer of a Call-ID) goes to
//     the best usable node of its set, ranked by weighted rendezvous hashing
//     of the Call-ID; once a node answers, the call is pinned to it (NodeOf)
//     and every later command of the call (answer, re-offer, delete, query,
//     ...) goes to that node, never elsewhere. If the pinned node has failed
//     the command fails at once with ErrNodeDown instead of moving the call,
//     because its media lives on that node. A whole-call Delete unpins.
//  3. The message "cookie SP bencode-dict" gets a cookie unique to this
//     request and is written to the node's one shared socket (UDP, or one
//     TCP-ng connection). The caller waits for the reply with its cookie,
//     which the node's one reader goroutine hands over; replies nobody waits
//     for (late, duplicate, foreign) are dropped and counted.
//  4. Without a reply, the same bytes are resent after resend_interval,
//     then after doubling waits, until the deadline: the earlier of the
//     caller's context and the configured timeout. rtpengine's cookie cache
//     answers a resent command without running it twice.
//  5. An offer for a new call moves to the next node after node_timeout or
//     an overload answer ("load limit", "Ran out of ports", "Parallel
//     session limit reached"), still within the same deadline.
//  6. The reply is checked (result ok/pong; error with error-reason becomes
//     a *CommandError wrapping ErrRejected or ErrOverloaded) and returned.
//
// # Node health
//
// A node that times out is StateFailed, one that reports overload is
// StateOverloaded; both take no new calls for disable_duration, after which
// the next successful health ping (Run, every ping_interval) brings them
// back. Disable and Enable take a node out of rotation at run time while its
// calls go on. Stats returns per-node counters and a latency histogram.
//
// Package rtpenginetest has a fake ng server for fault injection.
package rtpengine
