package test

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/sipedge/sipedge/tls/tlstest"
)

// TestAdminTLSCertificates: the certificates sipedge serves (a default
// pair and one for sip.example.test, made here with their own not-after)
// are listed by "sipedge ctl tls" and exported as
// sipedge_tls_certificate_expiry_timestamp_seconds with exactly their
// not-after; a renewal picked up by "sipedge ctl reload" shows at once.
func TestAdminTLSCertificates(t *testing.T) {
	defDir, namedDir := t.TempDir(), t.TempDir()
	defUntil := time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)
	namedUntil := time.Date(2032, 7, 8, 9, 10, 11, 0, time.UTC)
	defCert, defKey, _ := tlstest.WriteCertUntil(t, defDir, "sipedge default", defUntil)
	namedCert, namedKey, _ := tlstest.WriteCertUntil(t, namedDir, "sipedge named", namedUntil)
	gw := startSipedge(t, proxyConfig{
		Listen: []string{"udp://127.0.0.1:0", "tls://127.0.0.1:0"},
		TLS: map[string]any{"cert": defCert, "key": defKey, "watch": "1h", "certificates": []map[string]any{
			{"names": []string{"sip.example.test"}, "cert": namedCert, "key": namedKey}}},
		Admin: map[string]any{"listen": "127.0.0.1:0"},
	})
	adm := adminAddr(t, gw)
	const metric = "sipedge_tls_certificate_expiry_timestamp_seconds"
	check := func(wantDefault time.Time) {
		t.Helper()
		fams, body := scrape(t, adm, "")
		if n := len(fams[metric].GetMetric()); n != 2 {
			t.Errorf("%s: %d series, want 2", metric, n)
		}
		for name, want := range map[string]time.Time{"default": wantDefault, "sip.example.test": namedUntil} {
			if v, ok := metricValue(fams, metric, "name", name); !ok || v != float64(want.Unix()) {
				t.Errorf("%s{name=%q} = %v (present %v), want %d", metric, name, v, ok, want.Unix())
			}
		}
		problems, err := promlint.New(bytes.NewReader(body)).Lint()
		if err != nil {
			t.Fatalf("lint: %v", err)
		}
		for _, p := range problems {
			if strings.HasPrefix(p.Metric, "sipedge_") {
				t.Errorf("lint: %s: %s", p.Metric, p.Text)
			}
		}
		out, stderr, code := runCtl(t, "--addr", adm, "tls")
		if code != 0 {
			t.Fatalf("sipedge ctl tls: exit %d: %s", code, stderr)
		}
		for _, row := range []string{
			`(?m)^default\s+file\s+` + regexp.QuoteMeta(wantDefault.Format(time.RFC3339)) + `\s+\S+\s+localhost,127\.0\.0\.1,::1\s+CN=sipedge default$`,
			`(?m)^sip\.example\.test\s+file\s+` + regexp.QuoteMeta(namedUntil.Format(time.RFC3339)) + `\s+\S+\s+localhost,127\.0\.0\.1,::1\s+CN=sipedge named$`,
		} {
			if !regexp.MustCompile(row).MatchString(out) {
				t.Errorf("sipedge ctl tls lacks %s:\n%s", row, out)
			}
		}
		var v struct {
			Certificates []struct {
				Name, File string
				NotAfter   time.Time `json:"not_after"`
			}
		}
		ctlJSON(t, &v, "--addr", adm, "tls")
		if len(v.Certificates) != 2 || v.Certificates[0].Name != "default" || v.Certificates[0].File != defCert ||
			!v.Certificates[0].NotAfter.Equal(wantDefault) || v.Certificates[1].File != filepath.Join(namedDir, "cert.pem") {
			t.Errorf("sipedge ctl --json tls: %+v", v)
		}
	}
	check(defUntil)

	// Renewal: new files in place, then the admin reload (the watcher is
	// set to 1h so that only the reload can have picked them up).
	renewed := defUntil.Add(90 * 24 * time.Hour)
	tlstest.WriteCertUntil(t, defDir, "sipedge default", renewed)
	if out, stderr, code := runCtl(t, "--addr", adm, "reload"); code != 0 {
		t.Fatalf("sipedge ctl reload: exit %d: %s %s", code, out, stderr)
	}
	check(renewed)
}
