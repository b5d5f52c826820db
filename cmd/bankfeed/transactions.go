package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"unicode"

	"bankfeed/api"
	"bankfeed/jsonarray"
	"bankfeed/report"
	"bankfeed/store"
)

// tableBlock is how many rows the table aligns at a time: a tabwriter
// holds what it has not flushed, and a listing must not hold a ledger.
const tableBlock = 200

func (a *app) cmdTransactionsList(ctx context.Context, args []string) error {
	fs := newFlagSet("transactions list")
	var business, account, transaction, since, until, status string
	var asJSON, asCSV bool
	fs.StringVar(&business, "business", "", "only this business")
	fs.StringVar(&account, "account", "", "only this Plaid account id")
	fs.StringVar(&transaction, "transaction", "", "only this Plaid transaction id")
	fs.StringVar(&since, "since", "", "dated on or after YYYY-MM-DD")
	fs.StringVar(&until, "until", "", "dated on or before YYYY-MM-DD")
	fs.StringVar(&status, "status", "", "posted, pending, removed or duplicate")
	fs.BoolVar(&asJSON, "json", false, "JSON output")
	fs.BoolVar(&asCSV, "csv", false, "CSV output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("transactions list: unexpected argument %q", fs.Arg(0))
	}
	if asJSON && asCSV {
		return usagef("transactions list: use --json or --csv, not both")
	}
	f, err := api.TxnFilterOf(business, account, transaction, since, until, status)
	if err != nil {
		return usagef("transactions list: --%v", err)
	}
	st, err := a.readStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := checkBusiness(ctx, st, business); err != nil {
		return err
	}
	var out txnWriter
	switch {
	case asJSON:
		out = txnJSON{jsonarray.New(a.stdout)}
	case asCSV:
		out = &txnCSV{w: csv.NewWriter(a.stdout)}
	default:
		out = &txnTable{w: tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)}
	}
	err = st.Transactions(ctx, f, func(r store.TxnRow) error { return out.row(api.TransactionOf(r)) })
	if errors.Is(err, store.ErrUnknownTransaction) {
		return usagef("transactions list: --transaction: %v (bankfeed holds every transaction a sync delivered; check the id)", err)
	}
	if errors.Is(err, store.ErrUnknownAccount) {
		return usagef("transactions list: --account: %v (bankfeed accounts list shows the accounts there are)", err)
	}
	if err != nil {
		return fmt.Errorf("transactions list: %w", err)
	}
	return out.close()
}

// txnWriter renders rows as they come: nothing is written before the
// first row (an unknown account is still a clean usage error), and close
// completes the output, empty or not.
type txnWriter interface {
	row(api.TransactionOut) error
	close() error
}

// txnJSON writes the contract's array element by element.
type txnJSON struct{ arr *jsonarray.Writer }

func (j txnJSON) row(t api.TransactionOut) error { return j.arr.Add(t) }
func (j txnJSON) close() error                   { return j.arr.Close() }

// txnCSVHeader is the CSV header: the JSON contract's field names.
var txnCSVHeader = []string{"business_id", "account_id", "account_name", "transaction_id", "date", "authorized_date", "name",
	"merchant_name", "amount", "plaid_amount", "currency", "status", "entry_id"}

// txnCSV is RFC 4180 with CRLF, as the report's CSV, and neutralises text
// cells (names come from banks and merchants) but not amounts.
type txnCSV struct {
	w      *csv.Writer
	header bool
}

func (c *txnCSV) start() error {
	if c.header {
		return nil
	}
	c.header = true
	c.w.UseCRLF = true
	return c.w.Write(txnCSVHeader)
}

func (c *txnCSV) row(t api.TransactionOut) error {
	if err := c.start(); err != nil {
		return err
	}
	return c.w.Write([]string{report.Text(t.BusinessID), report.Text(t.AccountID), report.Text(t.AccountName),
		report.Text(t.TransactionID), t.Date, txnText(t.AuthorizedDate), report.Text(t.Name), report.Text(txnText(t.MerchantName)),
		t.Amount, t.PlaidAmount, report.Text(t.Currency), t.Status, report.Text(txnText(t.EntryID))})
}

func (c *txnCSV) close() error {
	if err := c.start(); err != nil {
		return err
	}
	c.w.Flush()
	return c.w.Error()
}

const txnTableHeader = "DATE\tBUSINESS\tACCOUNT\tACCOUNT NAME\tTRANSACTION\tNAME\tAMOUNT\tCUR\tSTATUS\tENTRY"

// txnTable is for people: aligned in blocks of tableBlock rows.
type txnTable struct {
	w *tabwriter.Writer
	n int
}

func (t *txnTable) row(x api.TransactionOut) error {
	switch {
	case t.n == 0:
		if _, err := fmt.Fprintln(t.w, txnTableHeader); err != nil {
			return err
		}
	case t.n%tableBlock == 0:
		if err := t.w.Flush(); err != nil {
			return err
		}
	}
	t.n++
	_, err := fmt.Fprintf(t.w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.Date, tableCell(x.BusinessID), tableCell(x.AccountID),
		tableCell(orDash(&x.AccountName)), tableCell(x.TransactionID), tableCell(x.Name), x.Amount, tableCell(x.Currency), x.Status, tableCell(orDash(x.EntryID)))
	return err
}

// tableCell keeps a bank's text on its line and in its column: a tab or a
// newline in a merchant name would shift or split the row.
func tableCell(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

func (t *txnTable) close() error {
	if t.n == 0 {
		fmt.Fprintln(t.w, txnTableHeader)
	}
	return t.w.Flush()
}

// txnText is a nullable field as a CSV cell: empty for null.
func txnText(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
