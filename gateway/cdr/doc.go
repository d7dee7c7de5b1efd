// Package cdr holds sipedge's call records: one JSON object per call,
// written when the call ends (or fails) as a log line, and optionally
// appended to a file and POSTed to a webhook. A record carries the call's
// times, parties, direction, destination, disposition and SIP code, who
// hung up, and the media quality rtpengine reports for each leg (from the
// statistics of its delete reply: packets, bytes, errors, and MOS, jitter
// and loss when RTCP gave rtpengine those).
package cdr
