package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"bankfeed/api"
	"bankfeed/config"
	"bankfeed/jobs"
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
	_, err = a.runner(cfg, st, log).Run(ctx, a.job)
	return err
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
	runner := a.runner(cfg, st, log)

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

	var srv *http.Server
	if len(cfg.APIKeys) > 0 || cfg.WebhookURL != "" {
		keys := make([]string, len(cfg.APIKeys))
		for i, k := range cfg.APIKeys {
			keys[i] = k.Reveal()
		}
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return usagef("BANKFEED_LISTEN %s: %v", cfg.Listen, err)
		}
		srv = &http.Server{Handler: api.NewHandler(st, api.Options{APIKeys: keys, Env: cfg.PlaidEnv, Log: log, Now: a.now,
			Plaid: a.plaidClient(cfg), WebhookURL: cfg.WebhookURL, OnSync: hooks.Add, LinkJSURL: cfg.LinkJSURL, ProbeInterval: cfg.ProbeInterval}),
			ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error().Err(err).Msg("business API stopped")
			}
		}()
		log.Info().Str("listen", ln.Addr().String()).Bool("api", len(keys) > 0).Bool("webhooks", cfg.WebhookURL != "").Msg("business API listening")
	} else {
		log.Info().Msg("business API off: set BANKFEED_API_KEYS (or BANKFEED_WEBHOOK_URL for Plaid's webhooks) to turn it on")
	}

	c.Start()
	log.Info().Str("tz", cfg.Location.String()).Msg("scheduler started")
	go a.catchUp(ctx, st, c, cfg, runJob, log)

	<-ctx.Done()
	log.Info().Msg("shutting down: no new jobs; waiting for the current unit of work")
	deadline := time.NewTimer(cfg.ShutdownTimeout)
	defer deadline.Stop()
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	select {
	case <-c.Stop().Done():
		log.Info().Msg("stopped")
	case <-deadline.C:
		log.Warn().Int64("timeout_ms", cfg.ShutdownTimeout.Milliseconds()).Msg("a job did not finish in time; exiting (its transaction rolls back)")
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
