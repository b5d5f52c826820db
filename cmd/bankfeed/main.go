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
	ctx = store.WithLockWaiting(ctx, func(db string, wait time.Duration) {
		limit := "until interrupted"
		if wait > 0 {
			limit = "at most " + wait.String()
		}
		fmt.Fprintf(stderr, "bankfeed: waiting for the run lock: another bankfeed process is working on %s (a run, doctor, report or rotate-key); waiting %s (BANKFEED_LOCK_WAIT)\n", db, limit)
	})
	return app.dispatch(ctx, rest)
}
