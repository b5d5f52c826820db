package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"bankfeed/api"
	"bankfeed/config"
	"bankfeed/jobs"
	"bankfeed/metrics"
	"bankfeed/report"
	"bankfeed/store"
)

func (a *app) cmdRunOnce(ctx context.Context) error {
	cfg, err := a.config()
	if err != nil {
		return err
	}
	if a.job != jobs.JobReconcile {
		if err := cfg.CheckPlaid(); err != nil {
			return err
		}
	}
	if err := checkMetricsFile(cfg.MetricsFile); err != nil {
		return err
	}
	if a.job == jobs.JobAll || a.job == jobs.JobReconcile {
		if err := checkReportDir("BANKFEED_REPORT_DIR", cfg.ReportDir); err != nil {
			return err
		}
	}
	log := a.logger(cfg)
	for _, w := range cfg.Warnings() {
		log.Warn().Msg(w)
	}
	st, err := a.openStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx = lockNote(ctx, log)
	m := metrics.New(st, a.now, log)
	a.onPlaidCall = m.PlaidCall
	runner := a.runner(cfg, st, log)
	// The report's path, for the summary: the reconcile names its files by
	// the day it runs on.
	var htmlPath string
	if reconcile := runner.Reconcile; reconcile != nil {
		runner.Reconcile = func(ctx context.Context, runID string) (map[string]int, error) {
			htmlPath = report.FileNames(cfg.ReportDir, a.now().In(cfg.Location).Format(time.DateOnly))[2]
			return reconcile(ctx, runID)
		}
	}
	sum, err := runner.Run(ctx, a.job)
	a.drainNotifications(ctx, cfg, st, log)
	// Written whatever the outcome: a failed or broken night is what the
	// textfile is there to tell.
	if cfg.MetricsFile != "" {
		if werr := m.WriteFile(cfg.MetricsFile); werr != nil {
			werr = fmt.Errorf("BANKFEED_METRICS_FILE: %w (check the folder is writable)", werr)
			if err == nil {
				err = werr
			} else {
				log.Error().Err(werr).Msg("metrics file not written")
			}
		}
	}
	if a.stdoutIsTerminal() {
		a.runSummary(sum, err, htmlPath)
	}
	return err
}

// runSummary tells a person at a terminal how the run went, after the
// log lines: tokens by outcome, changes, the worst status and the
// report's path. Scripts (stdout not a terminal) get the JSON log only.
func (a *app) runSummary(sum jobs.Summary, runErr error, htmlPath string) {
	changes := 0
	for _, r := range sum.Results {
		changes += r.Applied.Added + r.Applied.Modified + r.Applied.Removed
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nrun (%s) finished", sum.Job)
	if sum.Job != jobs.JobReconcile {
		fmt.Fprintf(&b, ": %d token(s): %d synced, %d flagged, %d failed", sum.Tokens, sum.Counts["synced"],
			sum.Counts["flagged"]+sum.Counts["still_flagged"]+sum.Counts["needs_refresh"], sum.Counts["failed"])
		var other []string
		for _, k := range slices.Sorted(maps.Keys(sum.Counts)) {
			if !slices.Contains([]string{"synced", "flagged", "still_flagged", "needs_refresh", "failed"}, k) && sum.Counts[k] > 0 {
				other = append(other, fmt.Sprintf("%d %s", sum.Counts[k], strings.ReplaceAll(k, "_", " ")))
			}
		}
		if len(other) > 0 {
			b.WriteString(", " + strings.Join(other, ", "))
		}
		fmt.Fprintf(&b, "; %d change(s) applied", changes)
	}
	b.WriteString("\n")
	worst := worstStatus(sum.Report)
	if runErr != nil && !errors.Is(runErr, jobs.ErrBreak) {
		worst = "failed (" + oneLine(runErr) + ")"
	}
	if worst != "" {
		fmt.Fprintf(&b, "worst status: %s", worst)
		if sum.Report != nil {
			fmt.Fprintf(&b, "; %d account(s): %d ok, %d timing, %d break, %d stale, %d no_anchor", sum.Report["accounts"],
				sum.Report["ok"], sum.Report["timing"], sum.Report["break"], sum.Report["stale"], sum.Report["no_anchor"])
			if n := sum.Report["needs_refresh"]; n > 0 {
				fmt.Fprintf(&b, "; %d token(s) or Item(s) need refresh (bankfeed tokens list)", n)
			}
		}
		b.WriteString("\n")
	}
	if htmlPath != "" {
		if abs, err := filepath.Abs(htmlPath); err == nil {
			htmlPath = abs
		}
		if _, err := os.Stat(htmlPath); err == nil {
			fmt.Fprintf(&b, "report: %s\n", htmlPath)
		}
	}
	fmt.Fprint(a.stdout, b.String())
}

// worstStatus is the status that most needs action among a reconcile's
// counts: a report whose trial balance failed, then break, a token to
// refresh, stale, timing, no anchor, ok. "" when nothing was reconciled.
func worstStatus(counts map[string]int) string {
	if counts == nil {
		return ""
	}
	if counts["invalid"] > 0 {
		return "invalid (the trial balance failed: see the report)"
	}
	for _, s := range []string{"break", "needs_refresh", "stale", "timing", "no_anchor"} {
		if counts[s] > 0 {
			return s
		}
	}
	return "ok"
}

// schedule is one cron entry of serve.
type schedule struct {
	job  string
	spec string
}

func (a *app) cmdServe(ctx context.Context, args []string) error {
	fs := newFlagSet("serve")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	if err := cfg.CheckPlaid(); err != nil {
		return err
	}
	if err := checkReportDir("BANKFEED_REPORT_DIR", cfg.ReportDir); err != nil {
		return err
	}
	scheds := []schedule{{jobs.JobSync, cfg.SyncSchedule}, {jobs.JobBalances, cfg.BalancesSchedule},
		{jobs.JobReconcile, cfg.ReconcileSchedule}, {jobs.JobProbe, cfg.ProbeSchedule}}
	log := a.logger(cfg)
	for _, w := range cfg.Warnings() {
		log.Warn().Msg(w)
	}
	st, err := a.openStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx = lockNote(ctx, log)
	m := metrics.New(st, a.now, log)
	m.Registry().MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.onPlaidCall = m.PlaidCall
	runner := a.runner(cfg, st, log)
	// Notifications go out from their own goroutine: a slow or dead
	// receiver never holds up a job.
	notified := make(chan struct{})
	go func() {
		defer close(notified)
		a.deliverer(cfg, st, log).Run(ctx, deliverPoll)
	}()

	// Jobs get no context from cron and Stop cancels nothing, so every job
	// runs under the root context (cancelled by SIGTERM), and one mutex
	// keeps writing jobs from overlapping across entries.
	var mu sync.Mutex
	runJob := func(job string) {
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		if _, err := runner.Run(ctx, job); err != nil {
			log.Error().Str("job", job).Err(errors.New(oneLine(err))).Msg("job failed")
		}
	}
	cl := cronLogger{log}
	// cron's default parser is ParseStandard's, the one config validated
	// the schedules with.
	c := cron.New(cron.WithLocation(cfg.Location),
		cron.WithChain(cron.Recover(cl), cron.SkipIfStillRunning(cl)))
	for _, s := range scheds {
		job := s.job
		if _, err := c.AddFunc(s.spec, func() { runJob(job) }); err != nil {
			return usagef("schedule for %s: %v", job, err)
		}
	}

	// Webhooks ask for syncs of single Items and tokens: coalesced, and run
	// under the same mutex as the scheduled jobs.
	hooks := &jobs.Coalescer{Sync: func(ctx context.Context, ids []int64) {
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		if _, err := runner.RunTargets(ctx, ids); err != nil {
			log.Error().Str("job", "webhook sync").Err(errors.New(oneLine(err))).Msg("job failed")
		}
	}}
	go hooks.Loop(ctx)

	// serve always listens: metrics, health and Plaid's webhooks need no
	// API key; the business API's routes answer only to one (without keys,
	// every one is 401 and says the API is off).
	keys := make([]string, len(cfg.APIKeys))
	for i, k := range cfg.APIKeys {
		keys[i] = k.Reveal()
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return usagef("BANKFEED_LISTEN %s: %v (pick a free host:port)", cfg.Listen, err)
	}
	var scheduling atomic.Bool
	business := api.NewHandler(st, api.Options{APIKeys: keys, Env: cfg.PlaidEnv, Log: log, Now: a.now,
		Plaid: a.plaidClient(cfg), WebhookURL: cfg.WebhookURL, OnSync: hooks.Add, LinkJSURL: cfg.LinkJSURL, ProbeInterval: cfg.ProbeInterval})
	srv := &http.Server{Handler: opsHandler(m, st, &scheduling, business),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("HTTP server stopped")
		}
	}()
	lg := log.Info().Str("listen", ln.Addr().String()).Bool("api", api.Enabled(keys)).Bool("webhooks", cfg.WebhookURL != "")
	if api.Enabled(keys) {
		lg.Msg("business API listening, with /metrics, /healthz, /readyz and /plaid/webhook")
	} else {
		lg.Msg("listening for /metrics, /healthz, /readyz and /plaid/webhook; business API off: set BANKFEED_API_KEYS to turn it on")
	}

	c.Start()
	scheduling.Store(true)
	log.Info().Str("tz", cfg.Location.String()).Msg("scheduler started")
	go a.catchUp(ctx, st, c, cfg, runJob, log)

	<-ctx.Done()
	scheduling.Store(false) // /readyz: take no new traffic while stopping
	log.Info().Msg("shutting down: no new jobs; waiting for the current unit of work")
	deadline := time.NewTimer(cfg.ShutdownTimeout)
	defer deadline.Stop()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	_ = srv.Shutdown(sctx)
	cancel()
	select {
	case <-c.Stop().Done():
		log.Info().Msg("stopped")
	case <-deadline.C:
		log.Warn().Int64("timeout_ms", cfg.ShutdownTimeout.Milliseconds()).Msg("a job did not finish in time; exiting (its transaction rolls back)")
	}
	// An attempt cut short by the signal is recorded before the store
	// closes; its event is due again for the next process.
	select {
	case <-notified:
	case <-time.After(2 * time.Second):
	}
	return fmt.Errorf("serve interrupted by a signal, stopped cleanly: %w", ctx.Err())
}

// catchUp runs, once at start-up, any job whose last scheduled time passed
// while the container was down: cron never replays missed runs.
func (a *app) catchUp(ctx context.Context, st *store.Store, c *cron.Cron, cfg config.Config, runJob func(string), log zerolog.Logger) {
	for _, job := range []string{jobs.JobSync, jobs.JobReconcile} {
		spec := cfg.SyncSchedule
		if job == jobs.JobReconcile {
			spec = cfg.ReconcileSchedule
		}
		sched, err := cron.ParseStandard(spec)
		if err != nil {
			continue
		}
		last, err := st.LastRun(ctx, job)
		if err != nil {
			log.Error().Err(err).Msg("catch-up: read run history")
			return
		}
		// With no run on record, look back no further than the database
		// goes: a schedule that fired before it existed missed nothing.
		since := a.now().Add(-31 * 24 * time.Hour)
		if last != nil {
			since = last.StartedAt
		} else if born, err := st.Since(ctx); err != nil {
			log.Error().Err(err).Msg("catch-up: read when the database began")
			return
		} else if born.After(since) {
			since = born
		}
		if due := sched.Next(since.In(cfg.Location)); due.Before(a.now()) {
			log.Info().Str("job", job).Time("missed", due).Msg("catching up a run missed while stopped")
			runJob(job)
		}
	}
}

type cronLogger struct{ l zerolog.Logger }

func (c cronLogger) Info(msg string, kv ...any) {
	if msg == "skip" {
		c.l.Warn().Fields(kv).Msg("cron: previous run still going, skipped")
	}
}
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error().Err(err).Fields(kv).Msg(fmt.Sprintf("cron: %s", msg))
}
