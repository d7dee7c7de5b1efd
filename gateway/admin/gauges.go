package admin

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sipedge/sipedge/rtpengine"
)

var ( //nolint:gochecknoglobals // immutable descriptors
	descDialogs = prometheus.NewDesc("sipedge_dialogs_active",
		"Confirmed calls (dialogs) tracked.", nil, nil)
	descTransactions = prometheus.NewDesc("sipedge_sip_transactions_active",
		"SIP requests being handled (server transactions in progress in the proxy).", nil, nil)
	descRegistrations = prometheus.NewDesc("sipedge_registrations",
		"Addresses of record with at least one registered contact.", nil, nil)
	descContacts = prometheus.NewDesc("sipedge_registration_contacts",
		"Registered contacts (bindings), every address of record.", nil, nil)
	descWSConns = prometheus.NewDesc("sipedge_ws_connections",
		"Open WebSocket flows, by transport (ws, wss).", []string{"transport"}, nil)
	descWSRefusals = prometheus.NewDesc("sipedge_ws_refusals_total",
		"WebSocket upgrade requests refused, by reason.", []string{"reason"}, nil)
	descDraining = prometheus.NewDesc("sipedge_draining",
		"1 while the gateway drains (new calls and registrations get 503).", nil, nil)
	descNodeUp = prometheus.NewDesc("sipedge_rtpengine_node_up",
		"1 when an rtpengine node takes new calls (healthy and not disabled by an operator).", []string{"node"}, nil)
	descNodeDisabled = prometheus.NewDesc("sipedge_rtpengine_node_disabled",
		"1 when an operator disabled an rtpengine node.", []string{"node"}, nil)
	descNodeTimeouts = prometheus.NewDesc("sipedge_rtpengine_command_timeouts_total",
		"rtpengine commands given up without a reply, by node.", []string{"node"}, nil)
	descNodeErrors = prometheus.NewDesc("sipedge_rtpengine_command_errors_total",
		"rtpengine error, malformed or oversize replies, by node.", []string{"node"}, nil)
	descNodeLatency = prometheus.NewDesc("sipedge_rtpengine_command_duration_seconds",
		"Round-trip time of rtpengine commands answered, by node.", []string{"node"}, nil)
)

// sourceCollector reads the gauges and the counters other owners keep
// (rtpengine, ws) when /metrics is scraped: nothing on the hot path.
type sourceCollector struct{ src Sources }

func (c sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDialogs, descTransactions, descRegistrations, descContacts,
		descWSConns, descWSRefusals, descDraining, descNodeUp, descNodeDisabled, descNodeTimeouts,
		descNodeErrors, descNodeLatency} {
		ch <- d
	}
}

func (c sourceCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	if d := c.src.Dialogs; d != nil {
		gauge(descDialogs, float64(d.DialogCount()))
		gauge(descTransactions, float64(d.ActiveTransactions()))
	}
	if r := c.src.Registrations; r != nil {
		aors, contacts := r.RegistrationCounts()
		gauge(descRegistrations, float64(aors))
		gauge(descContacts, float64(contacts))
	}
	if w := c.src.WebSockets; w != nil {
		n, ns := w.WSConns()
		gauge(descWSConns, float64(n), "ws")
		gauge(descWSConns, float64(ns), "wss")
		for _, r := range w.WSRefusals() {
			counter(descWSRefusals, r.Count, r.Reason)
		}
	}
	if d := c.src.Drainer; d != nil {
		gauge(descDraining, b2f(d.Draining()))
	}
	if r := c.src.RTPEngine; r != nil {
		bounds := rtpengine.LatencyBounds()
		for _, n := range r.Stats() {
			gauge(descNodeUp, b2f(n.State == rtpengine.StateUp && !n.Disabled), n.Address)
			gauge(descNodeDisabled, b2f(n.Disabled), n.Address)
			counter(descNodeTimeouts, n.Timeouts, n.Address)
			counter(descNodeErrors, n.Errors, n.Address)
			buckets := make(map[float64]uint64, len(bounds))
			var cum uint64
			for i, b := range bounds {
				cum += n.LatencyBuckets[i]
				buckets[b.Seconds()] = cum
			}
			total := cum + n.LatencyBuckets[len(bounds)]
			ch <- prometheus.MustNewConstHistogram(descNodeLatency, total, n.LatencySum.Seconds(), buckets, n.Address)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
