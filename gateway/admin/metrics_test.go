package admin

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsCount(t *testing.T) {
	m := NewMetrics()
	steps := []func(){
		func() { m.Request(sip.INVITE) },
		func() { m.Request(sip.INVITE) },
		func() { m.Request("FOO") },
		func() { m.Response(sip.INVITE, 100) },
		func() { m.Response(sip.INVITE, 486) },
		func() { m.Response(sip.REGISTER, 200) },
		func() { m.Response(sip.REGISTER, 99) }, // not a status: ignored
		func() { m.Response(sip.REGISTER, 700) },
		func() { m.AuthFailure() },
		func() { m.CallAnswered(30 * time.Millisecond) },
	}
	for _, s := range steps {
		s()
	}
	want := `
# HELP sipedge_auth_failures_total Requests refused for their credentials (wrong password, unknown user, replayed nonce, malformed header).
# TYPE sipedge_auth_failures_total counter
sipedge_auth_failures_total 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "sipedge_auth_failures_total"); err != nil {
		t.Error(err)
	}
	tests := []struct {
		method sip.RequestMethod
		class  int
		got    uint64
		want   uint64
	}{
		{sip.INVITE, -1, m.requests[methodIndex(sip.INVITE)].Load(), 2},
		{"FOO", -1, m.requests[numMethods-1].Load(), 1},
		{sip.INVITE, 0, m.responses[methodIndex(sip.INVITE)][0].Load(), 1},
		{sip.INVITE, 3, m.responses[methodIndex(sip.INVITE)][3].Load(), 1},
		{sip.REGISTER, 1, m.responses[methodIndex(sip.REGISTER)][1].Load(), 1},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s class %d: %d, want %d", tc.method, tc.class, tc.got, tc.want)
		}
	}
	if n := testutil.CollectAndCount(m.setup); n != 1 {
		t.Errorf("setup histogram: %d series", n)
	}
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "sipedge_") {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
}

// TestMetricsNoAlloc: the counters the request path calls allocate nothing.
func TestMetricsNoAlloc(t *testing.T) {
	m := NewMetrics()
	n := testing.AllocsPerRun(1000, func() {
		m.Request(sip.BYE)
		m.Response(sip.BYE, 200)
		m.Request("X-CUSTOM")
		m.AuthFailure()
		m.CallAnswered(time.Millisecond)
	})
	if n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

func BenchmarkMetricsRequestResponse(b *testing.B) {
	m := NewMetrics()
	b.ReportAllocs()
	for b.Loop() {
		m.Request(sip.INVITE)
		m.Response(sip.INVITE, 200)
	}
}

// fakeCerts is a TLS certificate source with fixed expiries.
type fakeCerts []CertificateExpiry

func (f fakeCerts) ListCertificates() any {
	return map[string]any{"certificates": []CertificateExpiry(f)}
}
func (f fakeCerts) CertificateExpiries() []CertificateExpiry { return f }

// TestCertificateExpiryGauge: one series per name, the not-after in Unix
// seconds; a name served by two certificates shows the sooner expiry.
func TestCertificateExpiryGauge(t *testing.T) {
	m := NewMetrics()
	certs := fakeCerts{
		{Name: "default", NotAfter: time.Unix(1925000000, 0)},
		{Name: "sip.example.test", NotAfter: time.Unix(1930000000, 0)},
		{Name: "sip.example.test", NotAfter: time.Unix(1920000000, 0)}, // the RSA twin, sooner
	}
	m.reg.MustRegister(sourceCollector{Sources{Certificates: certs}})
	want := `
# HELP sipedge_tls_certificate_expiry_timestamp_seconds When a TLS certificate in service expires (its not-after, Unix time), by name: the first of its configured names, or default for tls.cert.
# TYPE sipedge_tls_certificate_expiry_timestamp_seconds gauge
sipedge_tls_certificate_expiry_timestamp_seconds{name="default"} 1.925e+09
sipedge_tls_certificate_expiry_timestamp_seconds{name="sip.example.test"} 1.92e+09
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "sipedge_tls_certificate_expiry_timestamp_seconds"); err != nil {
		t.Error(err)
	}
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "sipedge_") {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
}
