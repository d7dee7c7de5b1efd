package admin

import (
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// methods are the request methods counted by name; anything else is
// counted as "other" (a method is client input: no unbounded label).
var methods = [...]string{"INVITE", "ACK", "CANCEL", "BYE", "REGISTER", "OPTIONS", "SUBSCRIBE", //nolint:gochecknoglobals // constant table
	"NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE", "PRACK", "other"}

const numMethods = len(methods)

// methodIndex is the index of m in methods, without allocating.
func methodIndex(m sip.RequestMethod) int {
	switch m {
	case sip.INVITE:
		return 0
	case sip.ACK:
		return 1
	case sip.CANCEL:
		return 2
	case sip.BYE:
		return 3
	case sip.REGISTER:
		return 4
	case sip.OPTIONS:
		return 5
	case sip.SUBSCRIBE:
		return 6
	case sip.NOTIFY:
		return 7
	case sip.PUBLISH:
		return 8
	case sip.INFO:
		return 9
	case sip.REFER:
		return 10
	case sip.MESSAGE:
		return 11
	case sip.UPDATE:
		return 12
	case sip.PRACK:
		return 13
	}
	return numMethods - 1
}

// classes are the status classes, index code/100 - 1.
var classes = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx", "6xx"} //nolint:gochecknoglobals // constant table

// Metrics is the gateway's Prometheus registry (one per gateway, never the
// global one) and the counters the gateway pushes into it on the request
// path (it implements gateway.Metrics): plain atomic adds into fixed
// arrays, no allocation, no lock; the label values are only built when
// /metrics is scraped. The registry also carries the Go runtime and
// process collectors, and whatever Server adds (gauges read from the
// gateway and rtpengine at scrape time).
type Metrics struct {
	reg       *prometheus.Registry
	requests  [numMethods]atomic.Uint64
	responses [numMethods][len(classes)]atomic.Uint64
	authFails atomic.Uint64
	setup     prometheus.Histogram
	quality   *qualityMetrics
}

// NewMetrics returns a registry with the SIP counters, the INVITE
// setup-time histogram and the Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.setup = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "sipedge_invite_setup_seconds",
		Help:    "Time from an initial INVITE's arrival to the first 2xx relayed upstream.",
		Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
	})
	m.quality = newQualityMetrics()
	m.quality.register(m.reg)
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.setup,
		sipCollector{m},
	)
	return m
}

// Registry is the registry /metrics serves.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Request counts a request handed to the gateway's pipeline.
func (m *Metrics) Request(method sip.RequestMethod) { m.requests[methodIndex(method)].Add(1) }

// Response counts a response sent for a request of method.
func (m *Metrics) Response(method sip.RequestMethod, code int) {
	c := code/100 - 1
	if c < 0 || c >= len(classes) {
		return
	}
	m.responses[methodIndex(method)][c].Add(1)
}

// AuthFailure counts a request refused for its credentials.
func (m *Metrics) AuthFailure() { m.authFails.Add(1) }

// CallAnswered records an INVITE's setup time.
func (m *Metrics) CallAnswered(setup time.Duration) { m.setup.Observe(setup.Seconds()) }

var ( //nolint:gochecknoglobals // immutable descriptors
	descRequests = prometheus.NewDesc("sipedge_sip_requests_received_total",
		"SIP requests received and handled, by method (retransmissions absorbed by a transaction are not counted).",
		[]string{"method"}, nil)
	descResponses = prometheus.NewDesc("sipedge_sip_responses_sent_total",
		"SIP responses sent, local or relayed, by the method of the request and the status class.",
		[]string{"method", "code_class"}, nil)
	descAuthFails = prometheus.NewDesc("sipedge_auth_failures_total",
		"Requests refused for their credentials (wrong password, unknown user, replayed nonce, malformed header).",
		nil, nil)
)

// sipCollector exposes the pushed counters.
type sipCollector struct{ m *Metrics }

func (c sipCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descRequests
	ch <- descResponses
	ch <- descAuthFails
}

func (c sipCollector) Collect(ch chan<- prometheus.Metric) {
	for i, name := range methods {
		ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(c.m.requests[i].Load()), name)
		for j, class := range classes {
			ch <- prometheus.MustNewConstMetric(descResponses, prometheus.CounterValue, float64(c.m.responses[i][j].Load()), name, class)
		}
	}
	ch <- prometheus.MustNewConstMetric(descAuthFails, prometheus.CounterValue, float64(c.m.authFails.Load()))
}
