package admin

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sipedge/sipedge/gateway/cdr"
)

// qualityMetrics are the media quality histograms fed by call records.
type qualityMetrics struct {
	mos, jitter, loss prometheus.Histogram
	duration          prometheus.Histogram
	calls             *prometheus.CounterVec
}

func newQualityMetrics() *qualityMetrics {
	return &qualityMetrics{
		mos: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sipedge_call_leg_mos",
			Help:    "Average MOS rtpengine reported per call leg (legs with RTCP only).",
			Buckets: []float64{1, 2, 2.5, 3, 3.5, 3.8, 4, 4.2, 4.4}}),
		jitter: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sipedge_call_leg_jitter_seconds",
			Help:    "Average jitter rtpengine reported per call leg (legs with RTCP only).",
			Buckets: []float64{0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2}}),
		loss: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sipedge_call_leg_packet_loss_ratio",
			Help:    "Average packet loss rtpengine reported per call leg, 0..1 (legs with RTCP only).",
			Buckets: []float64{0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2}}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sipedge_call_duration_seconds",
			Help:    "Duration of answered calls, from answer to end.",
			Buckets: []float64{1, 10, 30, 60, 120, 300, 600, 1800, 3600, 14400}}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sipedge_calls_total",
			Help: "Calls recorded (call records written), by disposition."}, []string{"disposition"}),
	}
}

func (q *qualityMetrics) register(reg *prometheus.Registry) {
	reg.MustRegister(q.mos, q.jitter, q.loss, q.duration, q.calls)
	for _, d := range []string{cdr.Answered, cdr.Busy, cdr.NoAnswer, cdr.Canceled, cdr.Failed} {
		q.calls.WithLabelValues(d)
	}
}

// Record implements cdr.Recorder: a finished call feeds the histograms.
func (m *Metrics) Record(r *cdr.Record) {
	q := m.quality
	q.calls.WithLabelValues(r.Disposition).Inc()
	if r.Disposition == cdr.Answered {
		q.duration.Observe(r.Duration)
	}
	if r.Media == nil {
		return
	}
	for _, l := range []*cdr.Leg{r.Media.Caller, r.Media.Callee} {
		if l == nil {
			continue
		}
		if l.MOS != nil {
			q.mos.Observe(*l.MOS)
		}
		if l.JitterMS != nil {
			q.jitter.Observe(*l.JitterMS / 1000)
		}
		if l.LossPercent != nil {
			q.loss.Observe(*l.LossPercent / 100)
		}
	}
}
