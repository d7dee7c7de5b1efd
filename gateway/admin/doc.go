// Package admin is sipedge's operator HTTP endpoint, off unless
// admin.listen is set. It serves:
//
//   - /metrics: Prometheus exposition of the gateway's registry (Metrics),
//     one registry per gateway. The request path pushes its counters with
//     atomic adds (Metrics implements gateway.Metrics); gauges and the
//     counters other owners keep (rtpengine nodes, WebSocket refusals) are
//     read from Sources when scraped.
//   - /api/v1/: a JSON API mirroring kamcli's verbs (api.go), which
//     "sipedge ctl" speaks.
//   - /debug/pprof/: the Go runtime's profiles.
//
// Without a token it only listens on a loopback address; with one, every
// request must carry "Authorization: Bearer TOKEN" (401 otherwise).
package admin
