package main

import (
	"context"
	"errors"
	"strings"

	"bankfeed/config"
	"bankfeed/jobs"
	"bankfeed/store"
)

// Exit statuses. 0-3 are the contract; the rest tell an operator which
// database fault stopped the run without reading the log.
const (
	exitOK          = 0
	exitRuntime     = 1 // a retry may fix it
	exitUsage       = 2 // retrying cannot help: fix the command or config
	exitBreak       = 3 // the run completed but reconciliation found a break
	exitLocked      = 4 // another process holds the database
	exitDiskFull    = 5
	exitReadOnly    = 6
	exitSchema      = 7 // the database is from a newer bankfeed
	exitCorrupt     = 8
	exitInterrupted = 130
)

// usageError is a problem with the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error {
	return usageError{msg: sprintf(format, a...)}
}

func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue), errors.Is(err, config.ErrInvalid), errors.Is(err, store.ErrBadToken), errors.Is(err, store.ErrWrongKey),
		errors.Is(err, jobs.ErrNoReport), errors.Is(err, store.ErrBackupExists),
		errors.Is(err, store.ErrNoFolder), errors.Is(err, store.ErrNoDatabase), errors.Is(err, store.ErrBadBusinessID):
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, store.ErrLocked):
		return exitLocked
	case errors.Is(err, store.ErrDiskFull):
		return exitDiskFull
	case errors.Is(err, store.ErrReadOnly):
		return exitReadOnly
	case errors.Is(err, store.ErrSchemaTooNew):
		return exitSchema
	case errors.Is(err, store.ErrCorrupt):
		return exitCorrupt
	case errors.Is(err, jobs.ErrBreak):
		return exitBreak
	}
	return exitRuntime
}

// oneLine folds a joined error into the single line the contract promises.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
