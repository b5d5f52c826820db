package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"bankfeed/config"
	"bankfeed/jobs"
	"bankfeed/plaidapi"
	"bankfeed/store"
)

const usageText = `usage:
  bankfeed [--config FILE] --run-once [--job sync|balances|reconcile|probe|all]
  bankfeed [--config FILE] serve
  bankfeed business put BUSINESS_ID --processor-token T [--processor-token T ...] | --processor-tokens-file F|-
  bankfeed tokens list [--business ID] [--json]
  bankfeed tokens rotate-key --new-key-file F
  bankfeed accounts list [--business ID] [--json]
  bankfeed items list [--business ID] [--json]
  bankfeed link BUSINESS_ID [--base-url URL]
  bankfeed ledger balances [--business ID] [--json]
  bankfeed transactions list [--business ID] [--account ID] [--since D] [--until D] [--status S] [--json|--csv]
  bankfeed ledger balances --all [--business ID] [--json]
  bankfeed ledger entries [--business ID] [--account ID] [--since D] [--json|--csv]
  bankfeed ledger export --business ID --format csv|json|beancount [--since D]
  bankfeed runs list [--json]
  bankfeed runs show RUN_ID [--json]
  bankfeed report reconcile [--date YYYY-MM-DD] [--out DIR]
  bankfeed notifications list [--all] [--json]
  bankfeed doctor
  bankfeed backup DEST
  bankfeed sandbox [--listen ADDR] [--webhook-url URL] [--every D]
  bankfeed demo [--dir DIR] [--relink]
Settings come from the environment (see README); --config FILE sets the same keys, env wins.`

type app struct {
	getenv     func(string) string
	configFile string
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
	runOnce    bool
	job        string
	now        func() time.Time
	// onPlaidCall, when set, counts every HTTP request to Plaid (metrics).
	onPlaidCall func(endpoint, outcome string)
}

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

// newFlagSet returns a flag set that reports problems as usage errors
// instead of printing and exiting.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return usagef("%s", usageText)
		}
		if fs.Name() == "bankfeed" {
			return usagef("%v (see bankfeed --help)", err)
		}
		return usagef("%s: %v (see bankfeed --help)", fs.Name(), err)
	}
	return nil
}

func parseGlobal(args []string, getenv func(string) string, stdout, stderr io.Writer) (*app, []string, error) {
	a := &app{getenv: getenv, stdout: stdout, stderr: stderr, now: func() time.Time { return time.Now().UTC() }}
	fs := newFlagSet("bankfeed")
	fs.StringVar(&a.configFile, "config", "", "settings file (KEY=VALUE lines); env wins")
	fs.BoolVar(&a.runOnce, "run-once", false, "run the jobs once and exit")
	fs.StringVar(&a.job, "job", "all", "with --run-once: sync, balances, reconcile, probe or all")
	if err := parseFlags(fs, args); err != nil {
		return nil, nil, err
	}
	if !a.runOnce && a.job != "all" {
		return nil, nil, usagef("--job needs --run-once")
	}
	if a.runOnce && !jobs.ValidJob(a.job) {
		return nil, nil, usagef("--job %q: use sync, balances, reconcile, probe or all", a.job)
	}
	return a, fs.Args(), nil
}

func (a *app) dispatch(ctx context.Context, args []string) error {
	if a.runOnce {
		if len(args) > 0 {
			return usagef("--run-once takes no command, got %q", args[0])
		}
		return a.cmdRunOnce(ctx)
	}
	if len(args) == 0 {
		return usagef("%s", usageText)
	}
	cmd, rest := args[0], args[1:]
	sub := ""
	if len(rest) > 0 {
		sub = rest[0]
	}
	switch {
	case cmd == "serve":
		return a.cmdServe(ctx, rest)
	case cmd == "demo":
		return a.cmdDemo(ctx, rest)
	case cmd == "sandbox":
		return a.cmdSandbox(ctx, rest)
	case cmd == "business" && sub == "put":
		return a.cmdBusinessPut(ctx, rest[1:])
	case cmd == "tokens" && sub == "list":
		return a.cmdTokensList(ctx, rest[1:])
	case cmd == "tokens" && sub == "rotate-key":
		return a.cmdRotateKey(ctx, rest[1:])
	case cmd == "items" && sub == "list":
		return a.cmdItemsList(ctx, rest[1:])
	case cmd == "link":
		return a.cmdLink(ctx, rest)
	case cmd == "accounts" && sub == "list":
		return a.cmdAccountsList(ctx, rest[1:])
	case cmd == "transactions" && sub == "list":
		return a.cmdTransactionsList(ctx, rest[1:])
	case cmd == "ledger" && sub == "balances":
		return a.cmdLedgerBalances(ctx, rest[1:])
	case cmd == "ledger" && sub == "entries":
		return a.cmdLedgerEntries(ctx, rest[1:])
	case cmd == "ledger" && sub == "export":
		return a.cmdLedgerExport(ctx, rest[1:])
	case cmd == "runs" && sub == "list":
		return a.cmdRunsList(ctx, rest[1:])
	case cmd == "runs" && sub == "show":
		return a.cmdRunsShow(ctx, rest[1:])
	case cmd == "report" && sub == "reconcile":
		return a.cmdReport(ctx, rest[1:])
	case cmd == "notifications" && sub == "list":
		return a.cmdNotificationsList(ctx, rest[1:])
	case cmd == "doctor":
		return a.cmdDoctor(ctx, rest)
	case cmd == "backup":
		return a.cmdBackup(ctx, rest)
	case cmd == "help" || cmd == "-h" || cmd == "--help":
		fmt.Fprintln(a.stdout, usageText)
		return nil
	}
	return usagef("unknown command %q (see bankfeed --help)", cmd)
}

func (a *app) config() (config.Config, error) {
	return config.Load(a.getenv, a.configFile)
}

func (a *app) openStore(ctx context.Context, cfg config.Config, readOnly bool) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.DBPath, []byte(cfg.TokenKey.Reveal()), store.Options{ReadOnly: readOnly})
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", cfg.DBPath, err)
	}
	return st, nil
}

// logger writes JSON lines to stdout, or a console rendering when stdout
// is a terminal. Never with plaid-go's debug output: it prints secrets.
func (a *app) logger(cfg config.Config) zerolog.Logger {
	var w io.Writer = a.stdout
	if f, ok := a.stdout.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		w = zerolog.ConsoleWriter{Out: f, TimeFormat: time.RFC3339}
	}
	// Tokens log from many goroutines: one line must never interleave with
	// another, whatever the writer.
	w = zerolog.SyncWriter(w)
	lvl, err := zerolog.ParseLevel(cfg.LogLevel)
	if err != nil || cfg.LogLevel == "" {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

func (a *app) plaidClient(cfg config.Config) *plaidapi.Client {
	return plaidapi.New(plaidapi.Config{
		BaseURL: cfg.PlaidURL(), ClientID: cfg.PlaidClientID, Secret: cfg.PlaidSecret.Reveal(),
		Timeout: cfg.HTTPTimeout, RatePerMin: cfg.PlaidRatePerMin, RetryMax: cfg.RetryMax,
		RetryMaxElapsed: cfg.RetryMaxElapsed, DaysRequested: cfg.DaysRequested, OnCall: a.onPlaidCall,
	})
}

func (a *app) runner(cfg config.Config, st *store.Store, log zerolog.Logger) *jobs.Runner {
	r := &jobs.Runner{
		Store: st, Plaid: a.plaidClient(cfg), Log: log, Concurrency: cfg.Concurrency,
		PageSize: cfg.PageSize, MaxPages: cfg.MaxPages, ProbeInterval: cfg.ProbeInterval, Now: a.now,
		LockWait: cfg.LockWait, RealtimeBalances: cfg.RealtimeBalances, BusinessConcurrency: cfg.BusinessConcurrency,
		WebhookURL: cfg.WebhookURL,
	}
	r.Reconcile = jobs.ReconcileFunc(st, cfg.ReportDir, cfg.Location, a.now)
	return r
}
