package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"bankfeed/config"
	"bankfeed/jobs"
	"bankfeed/plaidapi"
	"bankfeed/store"
)

type app struct {
	getenv     func(string) string
	configFile string
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
	runOnce    bool
	job        string
	help       bool // --help before any command
	version    bool // --version, as version
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

// sawFlags, set by a test, is shown every flag set a command parses: the
// help table must document exactly the flags the commands define.
var sawFlags func(*flag.FlagSet)

func parseFlags(fs *flag.FlagSet, args []string) error {
	if sawFlags != nil {
		sawFlags(fs)
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			// The dispatcher answers -h and --help before any command's
			// flags are parsed; this is a command that parses its own.
			return usagef("%s: see bankfeed help %s", fs.Name(), fs.Name())
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
	fs.BoolVar(&a.version, "version", false, "print the version and exit")
	if err := fs.Parse(args); err == flag.ErrHelp {
		a.help = true
		return a, nil, nil
	} else if err != nil {
		return nil, nil, usagef("%v (see bankfeed --help)", err)
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
	if a.help {
		if a.runOnce {
			return a.cmdHelp(ctx, []string{runOnceName})
		}
		return a.cmdHelp(ctx, nil)
	}
	if a.version {
		return a.cmdVersion(ctx, args)
	}
	if a.runOnce {
		if len(args) > 0 {
			return usagef("--run-once takes no command, got %q", args[0])
		}
		return a.cmdRunOnce(ctx)
	}
	if len(args) == 0 {
		return usagef("no command given: bankfeed --help lists the commands")
	}
	c, rest, ok := lookup(args)
	if ok && c.name == "help" {
		c.run = (*app).cmdHelp
	}
	if !ok || c.run == nil {
		return unknownCommand(args)
	}
	if wantsHelp(rest) {
		_, err := io.WriteString(a.stdout, c.help())
		return err
	}
	return c.run(a, ctx, rest)
}

func (a *app) config() (config.Config, error) {
	return config.Load(a.getenv, a.configFile)
}

// openStore opens the database, creating it (mode 0600) when it is not
// there: for the commands that put or sync (business put, --run-once,
// serve). The others use existingStore.
func (a *app) openStore(ctx context.Context, cfg config.Config, readOnly bool) (*store.Store, error) {
	return a.open(ctx, cfg, store.Options{ReadOnly: readOnly})
}

// existingStore opens a database that must exist already: a command that
// reads or maintains one never creates an empty one behind a mistyped
// BANKFEED_DB (exit 2, naming the path).
func (a *app) existingStore(ctx context.Context, cfg config.Config) (*store.Store, error) {
	return a.open(ctx, cfg, store.Options{MustExist: true})
}

func (a *app) open(ctx context.Context, cfg config.Config, o store.Options) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.DBPath, []byte(cfg.TokenKey.Reveal()), o)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", cfg.DBPath, err)
	}
	return st, nil
}

// checkReportDir refuses a report folder that cannot be made: bankfeed
// creates the folder itself, never a missing chain of parents (a typo),
// and a file in its place cannot hold reports.
func checkReportDir(setting, dir string) error {
	st, err := os.Stat(dir)
	if err == nil && !st.IsDir() {
		return usagef("%s %s is a file, not a folder: point it at a folder for the reports", setting, dir)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil // there, or not ours to judge: writing it will say why
	}
	parent := filepath.Dir(dir)
	if st, err := os.Stat(parent); errors.Is(err, fs.ErrNotExist) || (err == nil && !st.IsDir()) {
		return usagef("%s %s: its folder %s does not exist; create it, or point %s at an existing folder", setting, dir, parent, setting)
	}
	return nil
}

// logger writes JSON lines to stdout, or a console rendering when stdout
// is a terminal. Never with plaid-go's debug output: it prints secrets.
func (a *app) logger(cfg config.Config) zerolog.Logger {
	var w io.Writer = a.stdout
	if a.stdoutIsTerminal() {
		w = zerolog.ConsoleWriter{Out: a.stdout, TimeFormat: time.RFC3339}
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

// stdoutIsTerminal: a person is reading, not a log collector.
func (a *app) stdoutIsTerminal() bool {
	f, ok := a.stdout.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
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
