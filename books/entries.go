// Package books renders the ledger for people and other programs: the
// journal (ledger entries), the trial balance (ledger balances --all), the
// exports (CSV, JSON, beancount) and the run history. Everything that can
// grow with history is streamed from the store, an entry at a time.
package books

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"bankfeed/jsonarray"
	"bankfeed/ledger"
	"bankfeed/report"
	"bankfeed/store"
)

// EntryOut is a journal entry as `ledger entries --json` shows it.
type EntryOut struct {
	EntryID       string    `json:"entry_id"`
	Kind          string    `json:"kind"`
	Date          string    `json:"date"`
	BusinessID    string    `json:"business_id"`
	AccountID     *string   `json:"account_id"`
	TransactionID *string   `json:"transaction_id"`
	Reverses      *string   `json:"reverses"`
	Name          *string   `json:"name"` // the bank transaction's description
	Lines         []LineOut `json:"lines"`
}

// LineOut is one line of an entry: exactly one of debit and credit is
// non-zero (both zero only on a zero opening).
type LineOut struct {
	LedgerAccount string `json:"ledger_account"`
	Currency      string `json:"currency"`
	Debit         string `json:"debit"`
	Credit        string `json:"credit"`
}

func orNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// debitCredit splits a signed line amount (debits positive).
func debitCredit(amount int64, c ledger.Currency) (debit, credit string) {
	var d, cr int64
	if amount >= 0 {
		d = amount
	} else {
		cr = -amount
	}
	return ledger.Format(d, c), ledger.Format(cr, c)
}

func entryOut(e store.JournalEntry) EntryOut {
	o := EntryOut{EntryID: e.ID, Kind: string(e.Kind), Date: e.Date, BusinessID: e.BusinessID, AccountID: orNil(e.PlaidAccountID),
		TransactionID: orNil(e.TransactionID), Reverses: orNil(e.Reverses), Name: orNil(e.Name), Lines: make([]LineOut, 0, len(e.Lines))}
	for _, l := range e.Lines {
		d, c := debitCredit(l.Amount, l.Cur())
		o.Lines = append(o.Lines, LineOut{LedgerAccount: l.Code, Currency: l.Currency, Debit: d, Credit: c})
	}
	return o
}

// Format is an output format of the inspect and export commands.
type Format string

const (
	Table     Format = "table"
	JSON      Format = "json"
	CSV       Format = "csv"
	Beancount Format = "beancount"
)

// EntriesOptions selects what `ledger entries` and `ledger export` show.
type EntriesOptions struct {
	Filter store.JournalFilter
	Format Format
}

// WriteEntries streams the selected journal entries to w. Table and CSV
// have one row per line with the running balance of the line's ledger
// account (natural sign), carried in from before Since when given; JSON is
// the contract's array of entries. Beancount is WriteBeancount's.
func WriteEntries(ctx context.Context, st *store.Store, o EntriesOptions, w io.Writer) error {
	if o.Format == Beancount {
		return WriteBeancount(ctx, st, o.Filter, w)
	}
	return st.Read(ctx, func(r *store.ReadTx) error {
		switch o.Format {
		case JSON:
			return writeEntriesJSON(r, o.Filter, w)
		case CSV, Table:
			return writeEntryLines(r, o.Filter, o.Format, w)
		}
		return fmt.Errorf("unknown format %q", o.Format)
	})
}

// writeEntriesJSON streams the entries as one JSON array.
func writeEntriesJSON(r *store.ReadTx, f store.JournalFilter, w io.Writer) error {
	arr := jsonarray.New(w)
	if err := r.EachEntry(f, func(e store.JournalEntry) error { return arr.Add(entryOut(e)) }); err != nil {
		return err
	}
	return arr.Close()
}

// entryLineHeader are the columns of the CSV (the table shows fewer).
var entryLineHeader = []string{"entry_id", "kind", "date", "business_id", "account_id", "transaction_id", "reverses", "name",
	"ledger_account", "currency", "debit", "credit", "balance"}

// tableFlushEvery bounds what the table holds: tabwriter aligns the rows
// it has seen, so a long journal is aligned in blocks of this many lines.
const tableFlushEvery = 500

func writeEntryLines(r *store.ReadTx, f store.JournalFilter, format Format, w io.Writer) error {
	carried, err := r.Carried(f)
	if err != nil {
		return err
	}
	running := map[string]int64{}
	key := func(biz, code, cur string) string { return biz + "\x00" + code + "\x00" + cur }
	for _, c := range carried {
		running[key(c.BusinessID, c.Code, c.Currency)] = c.Amount
	}
	var cw *csv.Writer
	var tw *tabwriter.Writer
	if format == CSV {
		cw = csv.NewWriter(w)
		if err := cw.Write(entryLineHeader); err != nil {
			return err
		}
	} else {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DATE\tENTRY\tKIND\tREVERSES\tLEDGER ACCOUNT\tCUR\tDEBIT\tCREDIT\tBALANCE\tDESCRIPTION")
	}
	lines := 0
	err = r.EachEntry(f, func(e store.JournalEntry) error {
		for _, l := range e.Lines {
			k := key(e.BusinessID, l.Code, l.Currency)
			running[k] += l.Amount
			d, c := debitCredit(l.Amount, l.Cur())
			bal := ledger.Format(l.Kind.Natural(running[k]), l.Cur())
			if cw != nil {
				if err := cw.Write([]string{e.ID, string(e.Kind), e.Date, e.BusinessID, e.PlaidAccountID, e.TransactionID, e.Reverses,
					report.Text(e.Name), l.Code, l.Currency, d, c, bal}); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Date, e.ID, e.Kind, dash(e.Reverses), l.Code, l.Currency,
				blankZero(d, l.Amount > 0), blankZero(c, l.Amount < 0), bal, oneLine(e.Name))
			if lines++; lines%tableFlushEvery == 0 {
				if err := tw.Flush(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if cw != nil {
		cw.Flush()
		return cw.Error()
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func blankZero(s string, show bool) string {
	if !show {
		return ""
	}
	return s
}

// oneLine keeps a bank's description on its table row.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
}
