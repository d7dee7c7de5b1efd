// Package admin is sipedge's operator HTTP endpoint, off unless
// admin.listen is set. Today it serves only the Go runtime's profiles
// (net/http/pprof) under /debug/pprof/: goroutines, heap, CPU, traces. The
// metrics and the JSON API (issue 15) will join it here.
//
// Without a token it only listens on a loopback address; with one, every
// request must carry "Authorization: Bearer TOKEN".
package admin
