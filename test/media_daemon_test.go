package test

import (
	"testing"

	"github.com/sipedge/sipedge/rtpengine/rtpenginetest"
)

// rtpengineProc is a real rtpengine started by a test on loopback.
type rtpengineProc struct {
	// NG is the control address as sipedge's config wants it:
	// "udp:127.0.0.1:PORT".
	NG string
}

// startRTPEngine runs /usr/bin/rtpengine in userspace on 127.0.0.1 with a
// small private media port range (rtpenginetest.StartDaemon), waits until
// it answers an ng ping and kills it when the test ends. A missing binary
// fails the test.
func startRTPEngine(t *testing.T) *rtpengineProc {
	t.Helper()
	return &rtpengineProc{NG: rtpenginetest.StartDaemon(t).UDP}
}
