package metrics

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "paraphe"

// httpBuckets are latency buckets for HTTP answers, in seconds. They reach 30 s because
// device long polls (GET /v1/device/requests?wait=) legitimately last up to the server's
// maximum wait of 25 s; finer buckets below 1 s cover ordinary API calls.
var httpBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// hsmBuckets are latency buckets for one HSM signature, in seconds: a local SoftHSM2
// token answers in well under a millisecond, a network HSM in a few to tens of
// milliseconds; above a second something is wrong (a saturated session pool).
var hsmBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// Metrics holds the service's metrics and the registry that exposes them. It is safe
// for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	created      prometheus.Counter
	finished     *prometheus.CounterVec
	signatures   *prometheus.CounterVec
	hsmSign      *prometheus.HistogramVec
	webhooks     *prometheus.CounterVec
	pinFailures  prometheus.Counter
	refusals     *prometheus.CounterVec
	pending      atomic.Pointer[func() float64]
}

// New returns metrics registered on a new registry of their own, together with the Go
// runtime and process collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "http_requests_total",
		Help: "HTTP requests answered, by route pattern, method and status code.",
	}, []string{"route", "method", "status"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern and method.",
		Buckets: httpBuckets,
	}, []string{"route", "method"})
	m.created = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "signature_requests_created_total",
		Help: "Signature requests created.",
	})
	m.finished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "signature_requests_finished_total",
		Help: "Signature requests that reached a final state, by state.",
	}, []string{"status"})
	m.signatures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "signatures_total",
		Help: "Signatures produced, by format (CAdES, PAdES) and level (B-B, B-T, B-LT, B-LTA).",
	}, []string{"format", "level"})
	m.hsmSign = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "hsm_sign_duration_seconds",
		Help:    "Time of one HSM signature operation, by result (ok, error).",
		Buckets: hsmBuckets,
	}, []string{"result"})
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "webhook_deliveries_total",
		Help: "Integrator webhook delivery attempts, by outcome.",
	}, []string{"outcome"})
	m.pinFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "pin_failures_total",
		Help: "Wrong PINs entered on approval.",
	})
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "refusals_total",
		Help: "Signature requests refused, by reason.",
	}, []string{"reason"})

	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration, m.created, m.finished, m.signatures,
		m.hsmSign, m.webhooks, m.pinFailures, m.refusals,
		pendingCollector{m: m, desc: prometheus.NewDesc(namespace+"_signature_requests_pending",
			"Signature requests waiting for their signer.", nil, nil)},
	)
	return m
}

// Handler returns the HTTP handler that serves the metrics in the Prometheus text format.
// A collector that fails is reported in the scrape's log and skipped; the other metrics
// are still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Registry returns the registry, for registering further collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveHTTP records one answered HTTP request. route must be the router's pattern
// ("/v1/signature-requests/:id"), never the raw path, so that series stay bounded; an
// empty route (no route matched) is recorded as "unmatched".
func (m *Metrics) ObserveHTTP(route, method string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

// RequestCreated records a new signature request.
func (m *Metrics) RequestCreated() { m.created.Inc() }

// RequestFinished records a signature request reaching the final state status
// ("signed", "refused", "expired", "cancelled", "failed").
func (m *Metrics) RequestFinished(status string) { m.finished.WithLabelValues(status).Inc() }

// Signed records n signatures of the given format ("CAdES", "PAdES") and level
// ("B-B", "B-T", "B-LT", "B-LTA"). n below 1 records nothing.
func (m *Metrics) Signed(format, level string, n int) {
	if n < 1 {
		return
	}
	m.signatures.WithLabelValues(format, level).Add(float64(n))
}

// HSMSign records the duration of one HSM signature and whether it failed.
func (m *Metrics) HSMSign(d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.hsmSign.WithLabelValues(result).Observe(d.Seconds())
}

// Webhook records one webhook delivery attempt by outcome, a constant of the caller such
// as "delivered", "retry" or "gave_up".
func (m *Metrics) Webhook(outcome string) { m.webhooks.WithLabelValues(outcome).Inc() }

// PINFailure records one wrong PIN.
func (m *Metrics) PINFailure() { m.pinFailures.Inc() }

// Refused records a refused signature request by reason, a constant of the signer
// package such as "wrong_icon" or "user_refused".
func (m *Metrics) Refused(reason string) { m.refusals.WithLabelValues(reason).Inc() }

// SetPendingFunc sets the function that gives the number of pending signature requests;
// it is called on every scrape, so it should be cheap and bound its own time (a scrape
// that hangs is worse than a missing value). Until it is set, the pending gauge is not
// exported. A nil f unsets it.
func (m *Metrics) SetPendingFunc(f func() float64) {
	if f == nil {
		m.pending.Store(nil)
		return
	}
	m.pending.Store(&f)
}

// pendingCollector exports the pending gauge from the callback, when one is set.
type pendingCollector struct {
	m    *Metrics
	desc *prometheus.Desc
}

func (p pendingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- p.desc }

func (p pendingCollector) Collect(ch chan<- prometheus.Metric) {
	f := p.m.pending.Load()
	if f == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(p.desc, prometheus.GaugeValue, (*f)())
}
