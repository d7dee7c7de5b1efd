package test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// adminAddrRE finds the admin server's address in sipedge's log.
var adminAddrRE = regexp.MustCompile(`msg="admin listening" addr=(\S+)`)

// adminAddr returns the admin listener's address from p's log (cmd logs
// it before the SIP listeners, so it is there once p is ready).
func adminAddr(t *testing.T, p *sipedgeProc) string {
	t.Helper()
	m := adminAddrRE.FindStringSubmatch(p.Log())
	if m == nil {
		t.Fatalf("no \"admin listening\" line in the log:\n%s", p.Log())
	}
	return m[1]
}

// adminGet fetches path from the admin server with token (none if empty)
// and returns the status and body.
func adminDo(t *testing.T, method, addr, token, path string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	cl := &http.Client{Timeout: 10 * time.Second}
	res, err := cl.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, body
}

// scrape fetches /metrics and parses it.
func scrape(t *testing.T, addr, token string) (map[string]*dto.MetricFamily, []byte) {
	t.Helper()
	code, body := adminDo(t, "GET", addr, token, "/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams, body
}

// metricValue is the value of the sample of family name whose labels are
// exactly labels (name=value pairs); ok is false when there is none.
// Counters and gauges give their value, histograms their sample count.
func metricValue(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(want) {
			continue
		}
		for _, l := range m.GetLabel() {
			if want[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		case m.Untyped != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

// runCtl runs "sipedge ctl" with args and returns its stdout, stderr and
// exit code.
func runCtl(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(sipedgeBin, append([]string{"ctl"}, args...)...)
	cmd.Env = append(os.Environ(), "SIPEDGE_ADMIN=", "SIPEDGE_ADMIN_TOKEN=")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("sipedge ctl %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// ctlJSON runs "sipedge ctl --json" and decodes its answer into v.
func ctlJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out, errs, code := runCtl(t, append([]string{"--json"}, args...)...)
	if code != 0 {
		t.Fatalf("sipedge ctl %v: exit %d: %s", args, code, errs)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("sipedge ctl %v: %v\n%s", args, err, out)
	}
}
