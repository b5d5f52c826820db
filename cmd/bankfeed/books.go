package main

import (
	"context"
	"errors"
	"fmt"

	"bankfeed/books"
	"bankfeed/store"
)

// journalFlags parses what ledger entries and ledger export share.
type journalFlags struct {
	business, account, since, transaction string
}

// journalFilter checks the flags against the database: an unknown
// business or account is a usage error (exit 2), as the API's 404.
func (a *app) journalFilter(ctx context.Context, st *store.Store, f journalFlags) (store.JournalFilter, error) {
	jf := store.JournalFilter{BusinessID: f.business, Since: f.since, TransactionID: f.transaction}
	if f.since != "" && !validDate(f.since) {
		return jf, usagef("--since %q: use YYYY-MM-DD", f.since)
	}
	if err := checkBusiness(ctx, st, f.business); err != nil {
		return jf, err
	}
	if f.account != "" {
		biz, book, err := st.AccountBook(ctx, f.account)
		if errors.Is(err, store.ErrNotFound) {
			return jf, usagef("unknown account %q (bankfeed accounts list shows the accounts there are)", f.account)
		}
		if err != nil {
			return jf, err
		}
		if f.business != "" && biz != f.business {
			return jf, usagef("account %q belongs to business %q, not %q", f.account, biz, f.business)
		}
		jf.Book = book
	}
	if f.transaction != "" {
		// An id nobody holds is a typo, not an empty history.
		err := st.Transactions(ctx, store.TxnFilter{TransactionID: f.transaction, Limit: 1}, func(store.TxnRow) error { return nil })
		if errors.Is(err, store.ErrUnknownTransaction) {
			return jf, usagef("--transaction: %v (bankfeed transactions list shows the transactions there are)", err)
		}
		if err != nil {
			return jf, err
		}
	}
	return jf, nil
}

func (a *app) cmdLedgerEntries(ctx context.Context, args []string) error {
	fs := newFlagSet("ledger entries")
	var f journalFlags
	var asJSON, asCSV bool
	fs.StringVar(&f.business, "business", "", "only this business")
	fs.StringVar(&f.account, "account", "", "only the entries of this Plaid account (and of the accounts it continues)")
	fs.StringVar(&f.since, "since", "", "only entries dated on or after YYYY-MM-DD (running balances carry what came before)")
	fs.StringVar(&f.transaction, "transaction", "", "only the entries that posted, reversed and re-posted this Plaid transaction")
	fs.BoolVar(&asJSON, "json", false, "JSON output")
	fs.BoolVar(&asCSV, "csv", false, "CSV output, one row per line")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("ledger entries: unexpected argument %q", fs.Arg(0))
	}
	if asJSON && asCSV {
		return usagef("ledger entries: use --json or --csv, not both")
	}
	format := books.Table
	switch {
	case asJSON:
		format = books.JSON
	case asCSV:
		format = books.CSV
	}
	st, err := a.readStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	jf, err := a.journalFilter(ctx, st, f)
	if err != nil {
		return err
	}
	return books.WriteEntries(ctx, st, books.EntriesOptions{Filter: jf, Format: format}, a.stdout)
}

func (a *app) cmdLedgerExport(ctx context.Context, args []string) error {
	fs := newFlagSet("ledger export")
	var f journalFlags
	var format string
	fs.StringVar(&f.business, "business", "", "the business whose books to export (required)")
	fs.StringVar(&format, "format", "", "csv, json or beancount")
	fs.StringVar(&f.since, "since", "", "only entries dated on or after YYYY-MM-DD (beancount carries the earlier balances)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("ledger export: unexpected argument %q", fs.Arg(0))
	}
	if f.business == "" {
		return usagef("ledger export needs --business ID (bankfeed tokens list shows the businesses there are)")
	}
	switch books.Format(format) {
	case books.CSV, books.JSON, books.Beancount:
	default:
		return usagef("ledger export: --format %q: use csv, json or beancount", format)
	}
	st, err := a.readStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	jf, err := a.journalFilter(ctx, st, f)
	if err != nil {
		return err
	}
	return books.WriteEntries(ctx, st, books.EntriesOptions{Filter: jf, Format: books.Format(format)}, a.stdout)
}

// cmdLedgerTrial is `ledger balances --all`: every ledger account, a trial
// balance.
func (a *app) cmdLedgerTrial(ctx context.Context, business string, asJSON bool) error {
	st, err := a.readStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := checkBusiness(ctx, st, business); err != nil {
		return err
	}
	if asJSON {
		rows, err := books.TrialBalance(ctx, st, business)
		if err != nil {
			return err
		}
		return a.writeJSON(rows)
	}
	return books.WriteTrialTable(ctx, st, business, a.stdout)
}

func (a *app) cmdRunsList(ctx context.Context, args []string) error {
	fs := newFlagSet("runs list")
	var asJSON bool
	fs.BoolVar(&asJSON, "json", false, "JSON output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("runs list: unexpected argument %q", fs.Arg(0))
	}
	st, err := a.readStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return books.WriteRuns(ctx, st, asJSON, a.stdout)
}

func (a *app) cmdRunsShow(ctx context.Context, args []string) error {
	if len(args) == 0 || len(args[0]) > 0 && args[0][0] == '-' {
		return usagef("runs show needs a RUN_ID first: bankfeed runs show RUN_ID [--json] (bankfeed runs list shows them)")
	}
	id := args[0]
	fs := newFlagSet("runs show")
	var asJSON bool
	fs.BoolVar(&asJSON, "json", false, "JSON output")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("runs show: unexpected argument %q", fs.Arg(0))
	}
	st, err := a.readStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	o, err := books.RunDetail(ctx, st, id)
	if errors.Is(err, store.ErrNotFound) {
		return usagef("unknown run %q (bankfeed runs list shows the runs there are)", id)
	}
	if err != nil {
		return fmt.Errorf("runs show %s: %w", id, err)
	}
	if asJSON {
		return a.writeJSON(o)
	}
	return books.WriteRunDetail(o, a.stdout)
}
