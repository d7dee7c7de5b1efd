// Package test holds sipedge's whole-system tests: the real sipedge binary
// started from a generated configuration on free loopback ports, driven by
// real peers (SIPp UACs and UASs, Go SIP clients for what SIPp cannot do),
// asserting on the peers' exit codes and statistics.
//
// The binary comes from $SIPEDGE_BIN (set by `make test`); without it the
// tests build cmd/sipedge once per test run. Scenarios live in
// testdata/sipp, the benchmark harness in bench/.
package test
