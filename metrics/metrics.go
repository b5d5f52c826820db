// Package metrics holds bankfeed's Prometheus figures. What the database
// knows (job runs, tokens, sync lag, the latest reconciliation) is read
// from it at collection time, so that serve's /metrics and --run-once's
// textfile show the same figures, counted over the whole run history and
// not only over one process's life. Plaid calls are counted in-process,
// as the calls are made.
//
// No label ever holds a token, a token's hint or id, or a secret: tokens
// are counted by kind and status, and their sync lag is a histogram.
package metrics

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"bankfeed/store"
)

// Buckets, in seconds. Runs take seconds to an hour or two; a token's lag
// is worth telling apart from one sync interval (4 h by default) up to a
// month.
var (
	runBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400}
	lagBuckets = []float64{300, 900, 3600, 4 * 3600, 6 * 3600, 12 * 3600, 24 * 3600, 48 * 3600, 72 * 3600, 7 * 24 * 3600, 30 * 24 * 3600}
)

// readTimeout bounds one collection's database reads: a scrape must answer
// even when the writer holds the database for a long apply.
const readTimeout = 5 * time.Second

// Metrics is bankfeed's registry of figures.
type Metrics struct {
	reg   *prometheus.Registry
	plaid *prometheus.CounterVec
}

// New registers the figures of st (nil: only the in-process ones, and
// bankfeed_database_up 0). now is the clock the sync lag is measured by.
func New(st *store.Store, now func() time.Time, log zerolog.Logger) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		plaid: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bankfeed_plaid_requests_total",
			Help: "HTTP requests to Plaid, retries included, by endpoint (Plaid's path) and outcome (ok, Plaid's error_code, 4xx/5xx without one, too_large, or no_response).",
		}, []string{"endpoint", "outcome"}),
	}
	if now == nil {
		now = time.Now
	}
	m.reg.MustRegister(m.plaid, newDBCollector(st, now, log))
	return m
}

// PlaidCall counts one HTTP request to Plaid (plaidapi.Config.OnCall).
func (m *Metrics) PlaidCall(endpoint, outcome string) {
	m.plaid.WithLabelValues(endpoint, outcome).Inc()
}

// Registry is where serve adds the process's own figures (Go runtime,
// process): not in the textfile, where node_exporter has its own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the figures in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// WriteFile writes the figures for node_exporter's textfile collector:
// to a temporary file in the same folder, renamed over path, so that the
// collector never reads half a file.
func (m *Metrics) WriteFile(path string) error {
	return prometheus.WriteToTextfile(path, m.reg)
}

var (
	descRuns = prometheus.NewDesc("bankfeed_job_runs_total",
		"Finished job runs by job and outcome (ok, partial, failed, interrupted), over the database's whole run history.", []string{"job", "outcome"}, nil)
	descRunSeconds = prometheus.NewDesc("bankfeed_job_run_duration_seconds",
		"How long finished job runs took, by job.", []string{"job"}, nil)
	descLastOK = prometheus.NewDesc("bankfeed_job_last_success_timestamp_seconds",
		"When the newest run of a job that ended ok finished (Unix time).", []string{"job"}, nil)
	descTokens = prometheus.NewDesc("bankfeed_tokens",
		"Tokens (processor tokens and Items) by kind and status: active, needs_refresh, or replaced (its account was re-linked and lives on in the successor's).", []string{"kind", "status"}, nil)
	descLag = prometheus.NewDesc("bankfeed_token_sync_lag_seconds",
		"Per active token, time since its last successful sync (since it was added, for a token never synced). Flagged tokens are counted in bankfeed_tokens instead.", nil, nil)
	descBreaks = prometheus.NewDesc("bankfeed_reconciliation_breaks",
		"Accounts in break in the newest reconciliation report.", nil, nil)
	descRecon = prometheus.NewDesc("bankfeed_reconciliation_summary",
		"The newest reconciliation report's summary by status, as in its JSON: accounts per status, except needs_refresh, which counts flagged tokens whether or not their account is known.", []string{"status"}, nil)
	descReportTime = prometheus.NewDesc("bankfeed_reconciliation_report_timestamp_seconds",
		"When the newest reconciliation report was generated (Unix time).", nil, nil)
	descUp = prometheus.NewDesc("bankfeed_database_up",
		"1 when this collection read every figure from the database, 0 when a read failed (the others may then be missing or stale).", nil, nil)
)

// Statuses always shown, as 0 when none, so that an alert on them never
// has to tell "none" from "not reported".
var (
	tokenStatuses = []string{store.StatusActive, store.StatusNeedsRefresh}
	reconStatuses = []string{"ok", "timing", "break", "stale", "no_anchor", "needs_refresh"}
)

// dbCollector reads the database at each collection. Job runs are followed
// incrementally: only rows after the last one read, and the ones read
// unfinished, are read again.
type dbCollector struct {
	st  *store.Store
	now func() time.Time
	log zerolog.Logger

	mu      sync.Mutex
	seq     int64                // newest job_runs rowid read
	running map[int64]bool       // rowids read while unfinished
	runs    map[[2]string]uint64 // job, outcome
	seconds map[string]*histogram
	lastOK  map[string]time.Time
}

func newDBCollector(st *store.Store, now func() time.Time, log zerolog.Logger) *dbCollector {
	return &dbCollector{st: st, now: now, log: log, running: map[int64]bool{},
		runs: map[[2]string]uint64{}, seconds: map[string]*histogram{}, lastOK: map[string]time.Time{}}
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRuns, descRunSeconds, descLastOK, descTokens, descLag, descBreaks, descRecon, descReportTime, descUp} {
		ch <- d
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	up := 0.0
	if c.st != nil {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
		defer cancel()
		// Each part reports what it could read; one failure does not hide
		// the others.
		errRuns := c.collectRuns(ctx, ch)
		errTokens := c.collectTokens(ctx, ch)
		errReport := c.collectReport(ctx, ch)
		up = 1
		for _, err := range []error{errRuns, errTokens, errReport} {
			if err != nil {
				up = 0
				c.log.Error().Err(err).Msg("metrics: reading the database")
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up)
}

func (c *dbCollector) collectRuns(ctx context.Context, ch chan<- prometheus.Metric) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	again := make([]int64, 0, len(c.running))
	for seq := range c.running {
		again = append(again, seq)
	}
	rows, err := c.st.RunsAfter(ctx, c.seq, again)
	if err == nil {
		for _, r := range rows {
			c.seq = max(c.seq, r.Seq)
			if r.FinishedAt == nil {
				c.running[r.Seq] = true
				continue
			}
			delete(c.running, r.Seq)
			c.runs[[2]string{r.Job, r.Status}]++
			h := c.seconds[r.Job]
			if h == nil {
				h = newHistogram(runBuckets)
				c.seconds[r.Job] = h
			}
			h.observe(max(r.FinishedAt.Sub(r.StartedAt).Seconds(), 0))
			if r.Status == "ok" && r.FinishedAt.After(c.lastOK[r.Job]) {
				c.lastOK[r.Job] = *r.FinishedAt
			}
		}
	}
	// What was read before still holds: it is history.
	for k, n := range c.runs {
		ch <- prometheus.MustNewConstMetric(descRuns, prometheus.CounterValue, float64(n), k[0], k[1])
	}
	for job, h := range c.seconds {
		ch <- h.metric(descRunSeconds, job)
	}
	for job, t := range c.lastOK {
		ch <- prometheus.MustNewConstMetric(descLastOK, prometheus.GaugeValue, unix(t), job)
	}
	return err
}

func (c *dbCollector) collectTokens(ctx context.Context, ch chan<- prometheus.Metric) error {
	tokens, err := c.st.Tokens(ctx, store.TokenFilter{Kind: store.KindAll})
	if err != nil {
		return err
	}
	counts := map[[2]string]int{}
	for _, s := range tokenStatuses {
		counts[[2]string{store.KindProcessor, s}] = 0
	}
	lag := newHistogram(lagBuckets)
	now := c.now()
	for _, t := range tokens {
		status := t.Status
		if t.Replaced {
			status = "replaced"
		}
		counts[[2]string{t.Kind, status}]++
		if status != store.StatusActive {
			continue
		}
		since := t.CreatedAt
		if t.LastSyncedAt != nil {
			since = *t.LastSyncedAt
		}
		lag.observe(max(now.Sub(since).Seconds(), 0))
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(descTokens, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
	ch <- lag.metric(descLag)
	return nil
}

func (c *dbCollector) collectReport(ctx context.Context, ch chan<- prometheus.Metric) error {
	rep, err := c.st.LatestReportSummary(ctx)
	if err != nil || rep == nil {
		return err
	}
	ch <- prometheus.MustNewConstMetric(descBreaks, prometheus.GaugeValue, float64(rep.Counts["break"]))
	ch <- prometheus.MustNewConstMetric(descReportTime, prometheus.GaugeValue, unix(rep.GeneratedAt))
	statuses := append([]string(nil), reconStatuses...)
	for s := range rep.Counts {
		if s != "accounts" && !slices.Contains(statuses, s) {
			statuses = append(statuses, s)
		}
	}
	slices.Sort(statuses)
	for _, s := range statuses {
		ch <- prometheus.MustNewConstMetric(descRecon, prometheus.GaugeValue, float64(rep.Counts[s]), s)
	}
	return nil
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// histogram accumulates observations for a constant histogram.
type histogram struct {
	bounds []float64
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	n      uint64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i := sort.SearchFloat64s(h.bounds, v) // first bound >= v: le is inclusive
	h.counts[i]++
	h.sum += v
	h.n++
}

func (h *histogram) metric(d *prometheus.Desc, labels ...string) prometheus.Metric {
	cum := make(map[float64]uint64, len(h.bounds))
	var acc uint64
	for i, b := range h.bounds {
		acc += h.counts[i]
		cum[b] = acc
	}
	return prometheus.MustNewConstHistogram(d, h.n, h.sum, cum, labels...)
}
