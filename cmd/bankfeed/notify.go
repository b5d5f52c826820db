package main

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"bankfeed/config"
	"bankfeed/notify"
	"bankfeed/store"
)

// drainWindow bounds how long --run-once keeps delivering events after its
// jobs: what is not acknowledged by then stays in the outbox for the next
// process, so a receiver that is down never holds up a CronJob for long.
const drainWindow = 5 * time.Second

// deliverPoll is how often serve's deliverer looks for events written by
// other processes (a --run-once, a CLI business put); its own writes wake it.
const deliverPoll = 30 * time.Second

func (a *app) deliverer(cfg config.Config, st *store.Store, log zerolog.Logger) *notify.Deliverer {
	return &notify.Deliverer{Store: st, URL: cfg.NotifyURL, Key: []byte(cfg.NotifyKey.Reveal()), Timeout: cfg.NotifyTimeout,
		Log: log.With().Str("component", "notify").Logger()}
}

// drainNotifications is --run-once's delivery after its jobs. Its problems
// are logged, never the run's outcome: the events wait in the outbox.
func (a *app) drainNotifications(ctx context.Context, cfg config.Config, st *store.Store, log zerolog.Logger) {
	if ctx.Err() != nil {
		return
	}
	c, err := a.deliverer(cfg, st, log).Drain(ctx, drainWindow)
	if err != nil {
		log.Warn().Err(err).Msg("notifications: delivery stopped; undelivered events stay in the outbox for the next run")
		return
	}
	if c.Delivered+c.Retrying+c.Failed > 0 {
		log.Info().Int("delivered", c.Delivered).Int("retrying", c.Retrying).Int("failed", c.Failed).Msg("notifications")
	}
}

func (a *app) cmdNotificationsList(ctx context.Context, args []string) error {
	fs := newFlagSet("notifications list")
	var all, asJSON bool
	fs.BoolVar(&all, "all", false, "include delivered and skipped events")
	fs.BoolVar(&asJSON, "json", false, "JSON output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("notifications list: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	st, err := a.readStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.NotifyURL == "" {
		fmt.Fprintln(a.stderr, "note: BANKFEED_NOTIFY_URL is not set, so events are recorded but not sent (serve and --run-once mark them skipped)")
	}
	return notify.WriteList(ctx, st, a.stdout, all, asJSON)
}
