package main

import (
	"context"
	"errors"
	"fmt"

	"bankfeed/jobs"
)

// errDoctor means doctor ran and found problems: a runtime failure (1),
// listed line by line on stdout.
var errDoctor = errors.New("doctor found problems in the database (listed above)")

func (a *app) cmdDoctor(ctx context.Context, args []string) error {
	fs := newFlagSet("doctor")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("doctor takes no arguments")
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	st, err := a.existingStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := jobs.Doctor(ctx, st, cfg.LockWait)
	for _, f := range rep.Findings {
		fmt.Fprintln(a.stdout, f)
	}
	if err != nil {
		return err
	}
	if !rep.OK {
		return fmt.Errorf("%w: %d finding(s)", errDoctor, len(rep.Findings))
	}
	fmt.Fprintf(a.stdout, "ok: %d journal entries checked; the journal rebuilt from %d applied sync updates is identical\n", rep.Entries, rep.Replayed)
	return nil
}

func (a *app) cmdBackup(ctx context.Context, args []string) error {
	fs := newFlagSet("backup")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("backup needs one DEST: bankfeed backup /path/to/copy.db")
	}
	st, err := a.readStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Backup(ctx, fs.Arg(0)); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(a.stdout, "backed up %s to %s\n", st.Path(), fs.Arg(0))
	return nil
}
