// Package cluster lets several sipedge nodes share state on Redis: the
// location store behind the registrar (RedisStore), each node's liveness
// (a heartbeat key), and later leases and shared counters.
//
// Redis holds soft state that REGISTER refreshes re-create, so every node
// keeps serving from what it holds locally when Redis is down or slow
// (bounded by Config.Timeout per command), counts the trouble, and
// re-publishes its own bindings when Redis is back.
package cluster
