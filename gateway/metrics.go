package gateway

import (
	"time"

	"github.com/emiago/sipgo/sip"
)

// Metrics receives what the gateway counts at the places that decide:
// requests handled, responses sent (local or relayed), authentication
// failures, answered INVITEs. admin.Metrics implements it. Implementations
// are called on the hot path: they must not block nor allocate (atomic
// adds). Gauges (dialogs, registrations, connections) are not pushed: the
// admin server reads them from the gateway when scraped.
type Metrics interface {
	// Request counts a request received and handed to the pipeline
	// (retransmissions absorbed by a transaction are not counted).
	Request(method sip.RequestMethod)
	// Response counts a response sent upstream for a request of method.
	Response(method sip.RequestMethod, code int)
	// AuthFailure counts a request refused for bad credentials (403) or a
	// malformed Authorization header (400); challenges are not failures.
	AuthFailure()
	// CallAnswered records the setup time of an initial INVITE: from its
	// arrival to the first 2xx relayed upstream.
	CallAnswered(setup time.Duration)
}

// noMetrics is the Metrics of a gateway built without any.
type noMetrics struct{}

func (noMetrics) Request(sip.RequestMethod)       {}
func (noMetrics) Response(sip.RequestMethod, int) {}
func (noMetrics) AuthFailure()                    {}
func (noMetrics) CallAnswered(time.Duration)      {}

// respond sends res on tx and counts it.
func (g *Gateway) respond(tx sip.ServerTransaction, req *sip.Request, res *sip.Response) error {
	g.metrics.Response(req.Method, res.StatusCode)
	return tx.Respond(res)
}
