package campaign

import (
	"sync"
	"time"

	"github.com/couponbridge/couponbridge/woo"
	"github.com/prometheus/client_golang/prometheus"
)

// StoreStats is what the metrics read from the store client: satisfied by
// *woo.Client.
type StoreStats interface {
	Stats() woo.Stats
	Rate() float64
}

// Metrics are the Prometheus metrics of the daemon and its jobs. Build one
// with NewMetrics; a nil *Metrics records nothing, so code paths that run
// without a daemon (run-job, tests) need no registry.
type Metrics struct {
	couponsCreated *prometheus.CounterVec
	couponsFailed  *prometheus.CounterVec
	emailsSent     *prometheus.CounterVec
	emailsFailed   *prometheus.CounterVec
	jobRuns        *prometheus.CounterVec
	jobDuration    *prometheus.HistogramVec
	jobLastSuccess *prometheus.GaugeVec
	queued         *prometheus.GaugeVec
	webhooks       *prometheus.CounterVec

	mu    sync.Mutex
	store StoreStats
	// base holds the totals of store clients replaced by a reload, so the
	// exported counters never go down.
	base woo.Stats
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered, as in tests that only read values).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		couponsCreated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "couponbridge_coupons_created_total",
			Help: "Coupons the store confirmed and that were read back as asked.",
		}, []string{"campaign"}),
		couponsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "couponbridge_coupons_failed_total",
			Help: "Coupons that could not be created or did not verify.",
		}, []string{"campaign"}),
		emailsSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "couponbridge_emails_sent_total",
			Help: "Emails accepted by the mail server.",
		}, []string{"campaign"}),
		emailsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "couponbridge_emails_failed_total",
			Help: "Emails that failed permanently.",
		}, []string{"campaign"}),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "couponbridge_job_runs_total",
			Help: "Job runs by outcome (success, failed, interrupted).",
		}, []string{"job", "outcome"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "couponbridge_job_run_duration_seconds",
			Help:    "Duration of job runs.",
			Buckets: []float64{0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600},
		}, []string{"job"}),
		jobLastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "couponbridge_job_last_success_timestamp_seconds",
			Help: "Unix time of the end of the last successful run of a job.",
		}, []string{"job"}),
		queued: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "couponbridge_work_queued",
			Help: "Work waiting for a job: webhook deliveries not yet consumed, by job.",
		}, []string{"job"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "couponbridge_webhook_deliveries_total",
			Help: "Webhook deliveries received, by outcome: queued, duplicate (the same signed body again), ping, " +
				"ignored (answered 200, nobody queued: no job for the topic, no usable address) and refused (bad or " +
				"missing signature, too large, not a WooCommerce delivery). Alert on ignored and refused.",
		}, []string{"outcome"}),
	}
	if reg == nil {
		return m
	}
	reg.MustRegister(m.couponsCreated, m.couponsFailed, m.emailsSent, m.emailsFailed,
		m.jobRuns, m.jobDuration, m.jobLastSuccess, m.queued, m.webhooks,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "couponbridge_store_requests_total",
			Help: "HTTP requests sent to the store, retries included.",
		}, func() float64 { return float64(m.storeStats().Requests) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "couponbridge_store_throttled_total",
			Help: "429 Too Many Requests answers from the store.",
		}, func() float64 { return float64(m.storeStats().Throttled429) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "couponbridge_store_rate_limit_rps",
			Help: "Current adaptive request rate towards the store (requests per second).",
		}, m.storeRate),
	)
	return m
}

// WatchStore makes the store metrics read s (the current store client). A
// reload that builds a new client calls it again; totals carry over.
func (m *Metrics) WatchStore(s StoreStats) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.store == s {
		return
	}
	if m.store != nil {
		old := m.store.Stats()
		m.base.Requests += old.Requests
		m.base.Throttled429 += old.Throttled429
	}
	m.store = s
}

func (m *Metrics) storeStats() woo.Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.base
	if m.store != nil {
		cur := m.store.Stats()
		st.Requests += cur.Requests
		st.Throttled429 += cur.Throttled429
	}
	return st
}

func (m *Metrics) storeRate() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.store == nil {
		return 0
	}
	return m.store.Rate()
}

// jobOutcome names how a run ended, for metrics and the summary line.
type jobOutcome string

// The outcomes of a run, as the ledger records them.
const (
	outcomeSuccess     jobOutcome = "success"
	outcomeFailed      jobOutcome = "failed"
	outcomeInterrupted jobOutcome = "interrupted"
)

// issueCounts are what the issuing pipeline did during one job run.
type issueCounts struct {
	Created, CreateFailed, Emailed, Exported, EmailFailed int
}

// observeRun records a finished job run.
func (m *Metrics) observeRun(job, campaign string, outcome jobOutcome, took time.Duration, end time.Time, c issueCounts) {
	if m == nil {
		return
	}
	m.jobRuns.WithLabelValues(job, string(outcome)).Inc()
	m.jobDuration.WithLabelValues(job).Observe(took.Seconds())
	if outcome == outcomeSuccess {
		m.jobLastSuccess.WithLabelValues(job).Set(float64(end.UnixNano()) / 1e9)
	}
	m.couponsCreated.WithLabelValues(campaign).Add(float64(c.Created))
	m.couponsFailed.WithLabelValues(campaign).Add(float64(c.CreateFailed))
	m.emailsSent.WithLabelValues(campaign).Add(float64(c.Emailed))
	m.emailsFailed.WithLabelValues(campaign).Add(float64(c.EmailFailed))
}

// setQueued sets the number of webhook deliveries waiting for job.
func (m *Metrics) setQueued(job string, n int) {
	if m == nil {
		return
	}
	m.queued.WithLabelValues(job).Set(float64(n))
}

// webhookOutcome counts one webhook delivery by outcome.
func (m *Metrics) webhookOutcome(outcome string) {
	if m == nil {
		return
	}
	m.webhooks.WithLabelValues(outcome).Inc()
}
