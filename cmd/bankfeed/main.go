// Command bankfeed keeps a double-entry ledger in step with the bank and
// card accounts that businesses link through Plaid processor tokens.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"bankfeed/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// A second signal while shutting down exits at once: the database is
	// protected by its transactions, not by our patience.
	go func() {
		<-ctx.Done()
		stop()
		again := make(chan os.Signal, 1)
		signal.Notify(again, os.Interrupt, syscall.SIGTERM)
		<-again
		fmt.Fprintln(os.Stderr, "bankfeed: second signal, exiting at once (no transaction is left half-written)")
		os.Exit(exitInterrupted)
	}()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	code := exitCode(err)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bankfeed: "+oneLine(err))
	}
	os.Exit(code)
}

// run is the whole program; tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	app, rest, err := parseGlobal(args, getenv, stdout, stderr)
	if err != nil {
		return err
	}
	app.stdin = stdin
	// A note, not a failure: on stdout, so that stderr keeps to the one
	// line a failure prints. Runs and serve log it instead (see lockNote).
	ctx = store.WithLockWaiting(ctx, func(db string, wait time.Duration) {
		fmt.Fprintf(stdout, "bankfeed: waiting for the run lock: another bankfeed process is working on %s (a run, doctor, report or rotate-key); waiting %s (BANKFEED_LOCK_WAIT)\n", db, waitLimit(wait))
	})
	return app.dispatch(ctx, rest)
}

func waitLimit(wait time.Duration) string {
	if wait <= 0 {
		return "until interrupted"
	}
	return "at most " + wait.String()
}

// lockNote puts the waiting note into a run's log, beside its other lines.
func lockNote(ctx context.Context, log zerolog.Logger) context.Context {
	return store.WithLockWaiting(ctx, func(db string, wait time.Duration) {
		log.Warn().Str("database", db).Int64("lock_wait_ms", wait.Milliseconds()).
			Msg("waiting for the run lock: another bankfeed process is working on this database; waiting " + waitLimit(wait) + " (BANKFEED_LOCK_WAIT)")
	})
}
