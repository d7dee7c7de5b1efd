package test

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/gateway/resolve/resolvetest"
	"github.com/sipedge/sipedge/tls/tlstest"
)

// TestTrunkTLSName calls through a trunk whose URI names a host over TLS
// (sip:carrier.test:PORT;transport=tls, an A record on a loopback DNS
// server): the provider's certificate carries that DNS name only, no IP,
// and the call completes, verified against the name (SNI and ServerName,
// RFC 5922), not the address it resolved to. A provider whose certificate
// is for another name gets no call: the caller gets 503 at once and the
// log names the trunk, the name and the certificate error.
func TestTrunkTLSName(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "carrier CA")
	caFile := ca.WriteCA(t, dir, "ca")
	edge := ca.Issue(t, dir, "edge", "sipedge", false, "sipedge.example.com")
	for _, tt := range []struct {
		name, certName string
		ok             bool
	}{
		{"right name", "carrier.test", true},
		{"other name", "other.test", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			leaf := ca.Issue(t, dir, strings.ReplaceAll(tt.name, " ", "-"), tt.certName, false, tt.certName) // a DNS name, no IP
			pair, err := tls.LoadX509KeyPair(leaf.CertFile, leaf.KeyFile)
			if err != nil {
				t.Fatal(err)
			}
			var sni string
			uas := startGoUAS(t, edgeUASIP, "tls", &tls.Config{MinVersion: tls.VersionTLS12,
				GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) { sni = h.ServerName; return &pair, nil }})
			_, port, _ := net.SplitHostPort(uas.Addr)
			zone := resolvetest.NewZone(t, "carrier.test. 60 IN A "+edgeUASIP)
			cfg := callConfig()
			cfg.Listen = []string{"udp://127.0.0.1:0", "tls://127.0.0.1:0"} // a tls listener to send from
			cfg.TLS = map[string]any{"cert": edge.CertFile, "key": edge.KeyFile, "ca": caFile}
			cfg.Routes = []proxyRoute{{User: `^\+?[0-9]+$`, To: []string{"trunk:carrier"}}}
			cfg.Extra = map[string]any{
				"trunks":    map[string]any{"carrier": map[string]any{"uris": []string{"sip:carrier.test:" + port + ";transport=tls"}}},
				"trunk_dns": []string{zone.Addr},
			}
			gw := startSipedge(t, cfg)
			if tt.ok {
				uac := startSIPp(t, sippRun{Name: "caller", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"), Service: "+15550199", Calls: 2})
				uac.expectAllSuccessful(t, 2)
				if n := uas.invites.Load(); n != 2 {
					t.Errorf("the provider got %d INVITEs, want 2", n)
				}
				if sni != "carrier.test" {
					t.Errorf("SNI %q, want carrier.test", sni)
				}
				return
			}
			c := newUDPClient(t, gw.Addr(t, "udp"))
			if res := c.invite(t, "+15550199", "tlsname-"+randHex(4)); res.StatusCode != 503 {
				t.Fatalf("call to a provider with another name's certificate: %d, want 503", res.StatusCode)
			}
			if n := uas.invites.Load(); n != 0 {
				t.Errorf("the provider got %d INVITEs over a connection that failed verification", n)
			}
			gw.logWithin(t, 2*time.Second, "trunk TLS certificate refused", "trunk=carrier", "name=carrier.test", "certificate is valid for other.test")
		})
	}
}
