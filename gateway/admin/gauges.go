package admin

import (
	"time"

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
	descTrunkState = prometheus.NewDesc("sipedge_trunk_registration_state",
		"1 for the state a registering trunk is in, 0 for the other states.", []string{"trunk", "state"}, nil)
	descTrunkCalls = prometheus.NewDesc("sipedge_trunk_calls_active",
		"Calls in progress through a trunk (holding a max_calls slot).", []string{"trunk"}, nil)
	descSetMemberUp = prometheus.NewDesc("sipedge_set_member_up",
		"1 when a destination set member takes new calls (answers its probes, or has none, and is not disabled by an operator), 0 otherwise.", []string{"set", "member"}, nil)
	descSetMemberDisabled = prometheus.NewDesc("sipedge_set_member_disabled",
		"1 when an operator disabled a destination set member.", []string{"set", "member"}, nil)
	descSetSelections = prometheus.NewDesc("sipedge_set_member_selections_total",
		"Branches sent to a destination set member.", []string{"set", "member"}, nil)
	descSetFailovers = prometheus.NewDesc("sipedge_set_member_failovers_total",
		"Branches to a destination set member that failed (408, 5xx, no answer), so the call moved on.", []string{"set", "member"}, nil)
	descBansActive = prometheus.NewDesc("sipedge_bans_active",
		"Source addresses banned now.", nil, nil)
	descBans = prometheus.NewDesc("sipedge_bans_total",
		"Bans entered since start, by reason (rate, auth, scanner, manual).", []string{"reason"}, nil)
	descCertExpiry = prometheus.NewDesc("sipedge_tls_certificate_expiry_timestamp_seconds",
		"When a TLS certificate in service expires (its not-after, Unix time), by name: the first of its configured names, or default for tls.cert.", []string{"name"}, nil)
)

// trunkStates are the values of sipedge_trunk_registration_state's state
// label (trunk.State's names).
var trunkStates = []string{"starting", "registering", "registered", "failed", "forbidden", "closed", "standby"} //nolint:gochecknoglobals // constant table

// sourceCollector reads the gauges and the counters other owners keep
// (rtpengine, ws) when /metrics is scraped: nothing on the hot path.
type sourceCollector struct{ src Sources }

func (c sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDialogs, descTransactions, descRegistrations, descContacts,
		descWSConns, descWSRefusals, descDraining, descNodeUp, descNodeDisabled, descNodeTimeouts,
		descNodeErrors, descNodeLatency, descTrunkState, descTrunkCalls, descSetMemberUp, descSetMemberDisabled, descSetSelections, descSetFailovers, descBansActive, descBans, descCertExpiry} {
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
	if e := c.src.Edge; e != nil {
		for _, t := range e.TrunkStats() {
			gauge(descTrunkCalls, float64(t.Calls), t.Name)
			if t.State == "" {
				continue
			}
			for _, st := range trunkStates {
				gauge(descTrunkState, b2f(st == t.State), t.Name, st)
			}
		}
		for _, m := range e.SetMemberStats() {
			gauge(descSetMemberUp, b2f(m.Up), m.Set, m.Member)
			gauge(descSetMemberDisabled, b2f(m.Disabled), m.Set, m.Member)
			counter(descSetSelections, m.Selections, m.Set, m.Member)
			counter(descSetFailovers, m.Failovers, m.Set, m.Member)
		}
		active, total := e.BanStats()
		gauge(descBansActive, float64(active))
		for _, r := range []string{"rate", "auth", "scanner", "manual"} {
			counter(descBans, total[r], r)
		}
	}
	if cs := c.src.Certificates; cs != nil {
		for name, at := range earliestExpiry(cs.CertificateExpiries()) {
			gauge(descCertExpiry, float64(at.Unix()), name)
		}
	}
}

// earliestExpiry maps each certificate name to its earliest not-after:
// one series per name, though a name may be served by two certificates
// (an ECDSA and an RSA one); the sooner expiry is the one to act on.
func earliestExpiry(cs []CertificateExpiry) map[string]time.Time {
	out := make(map[string]time.Time, len(cs))
	for _, c := range cs {
		if at, ok := out[c.Name]; !ok || c.NotAfter.Before(at) {
			out[c.Name] = c.NotAfter
		}
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
