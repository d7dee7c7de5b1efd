package test

import (
	"testing"
)

// registerConfig is a registrar for example.test with alice and bob,
// offering the given digest algorithms.
func registerConfig(algorithms ...string) proxyConfig {
	return proxyConfig{
		Users:      map[string]string{"alice": "alice-secret", "bob": "bob-secret"},
		Algorithms: algorithms,
		Routes:     []proxyRoute{{To: []string{"sip:127.0.0.1:9"}}},
	}
}

// TestRegisterSIPp registers with SIPp's MD5 digest: the right password gets
// 200; a wrong one gets 403 or a new 401 (never 200). The registrar offers
// only MD5 because SIPp 3.6 cannot answer a SHA-256 challenge.
func TestRegisterSIPp(t *testing.T) {
	tests := []struct {
		name, scenario, password string
	}{
		{"md5 ok", "uac_register.xml", "alice-secret"},
		{"wrong password", "uac_register_wrongpass.xml", "not-the-password"},
	}
	gw := startSipedge(t, registerConfig("MD5"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uac := startSIPp(t, sippRun{Name: "uac", Scenario: tt.scenario, Remote: gw.Addr(t, "udp"), Service: "alice",
				Args: []string{"-au", "alice", "-ap", tt.password}})
			uac.expectAllSuccessful(t, 1)
		})
	}
}

// TestRegisterDigest registers with a Go client (SIPp has no SHA-256) for
// each algorithm the registrar offers by default.
func TestRegisterDigest(t *testing.T) {
	gw := startSipedge(t, registerConfig())
	for _, alg := range []string{"SHA-256", "MD5"} {
		t.Run(alg, func(t *testing.T) {
			c := newUDPClient(t, gw.Addr(t, "udp"))
			registerDigest(t, c, "alice", "alice-secret", alg, "")
		})
	}
}

// TestRegisterReplayedNonceCount resends an Authorization header that was
// already accepted (same nonce, same nc) in a new transaction: it must not
// be accepted again. A higher nc with the same nonce is still fine.
func TestRegisterReplayedNonceCount(t *testing.T) {
	gw := startSipedge(t, registerConfig())
	for _, alg := range []string{"SHA-256", "MD5"} {
		t.Run(alg, func(t *testing.T) {
			c := newUDPClient(t, gw.Addr(t, "udp"))
			res := c.register(t, "alice", "", "")
			if res.StatusCode != 401 {
				t.Fatalf("REGISTER without credentials: got %d %s, want 401", res.StatusCode, res.Reason)
			}
			ch := challenge(t, res, alg)
			auth1 := authorize(t, ch, "alice", "alice-secret", 1)
			if res := c.register(t, "alice", "", auth1); res.StatusCode != 200 {
				t.Fatalf("first use of nc=1: got %d %s, want 200", res.StatusCode, res.Reason)
			}
			if res := c.register(t, "alice", "", auth1); res.StatusCode != 401 && res.StatusCode != 403 {
				t.Fatalf("replayed nc=1: got %d %s, want 401 or 403", res.StatusCode, res.Reason)
			}
			if res := c.register(t, "alice", "", authorize(t, ch, "alice", "alice-secret", 2)); res.StatusCode != 200 {
				t.Errorf("next nc=2 on the same nonce: got %d %s, want 200", res.StatusCode, res.Reason)
			}
		})
	}
}
