package books

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"bankfeed/ledger"
	"bankfeed/store"
)

// TrialRow is one ledger account as `ledger balances --all --json` shows it.
type TrialRow struct {
	BusinessID    string  `json:"business_id"`
	LedgerAccount string  `json:"ledger_account"`
	Name          string  `json:"name"`
	Kind          string  `json:"kind"`
	Currency      string  `json:"currency"`
	Balance       string  `json:"balance"`
	AccountID     *string `json:"account_id"`
}

// ErrUnbalanced means the ledger's debits and credits differ in some
// currency: the books are wrong (bankfeed doctor says where).
var ErrUnbalanced = errors.New("trial balance does not sum to zero")

// accountName is what a person calls a ledger account: a bank account by
// its name and mask, the counter-accounts by what they hold.
func accountName(b store.LedgerAccountBalance) string {
	switch b.Code {
	case ledger.Suspense:
		return "Uncategorized (suspense)"
	case ledger.OpeningEquity:
		return "Opening balances"
	}
	name := b.Name
	if name == "" {
		name = b.PlaidAccountID
	}
	if b.Mask != "" {
		name += " …" + b.Mask
	}
	return name
}

// TrialBalance lists every ledger account of one business (every business
// when businessID is ""), read from the kept balances.
func TrialBalance(ctx context.Context, st *store.Store, businessID string) ([]TrialRow, error) {
	accts, err := st.LedgerAccounts(ctx, businessID)
	if err != nil {
		return nil, err
	}
	out := make([]TrialRow, 0, len(accts))
	for _, b := range accts {
		out = append(out, TrialRow{BusinessID: b.BusinessID, LedgerAccount: b.Code, Name: accountName(b), Kind: string(b.Kind),
			Currency: b.Currency, Balance: ledger.Format(b.Balance(), b.Cur()), AccountID: orNil(b.PlaidAccountID)})
	}
	return out, nil
}

// WriteTrialTable writes the trial balance for people: one row per ledger
// account, then per currency the total of debits minus credits, which is
// zero in balanced books. Unbalanced books are shown and reported as
// ErrUnbalanced.
func WriteTrialTable(ctx context.Context, st *store.Store, businessID string, w io.Writer) error {
	accts, err := st.LedgerAccounts(ctx, businessID)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BUSINESS\tLEDGER ACCOUNT\tNAME\tKIND\tCUR\tBALANCE")
	totals := map[string]int64{}
	curs := map[string]ledger.Currency{}
	for _, b := range accts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", b.BusinessID, b.Code, accountName(b), b.Kind, b.Currency, ledger.Format(b.Balance(), b.Cur()))
		totals[b.Currency] += b.Sum
		curs[b.Currency] = b.Cur()
	}
	codes := make([]string, 0, len(totals))
	for c := range totals {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	var bad []error
	for _, c := range codes {
		mark := ""
		if totals[c] != 0 {
			mark = "  UNBALANCED"
			bad = append(bad, fmt.Errorf("%w: %s is off by %s (run bankfeed doctor)", ErrUnbalanced, c, ledger.Format(totals[c], curs[c])))
		}
		fmt.Fprintf(tw, "TOTAL\tdebits - credits\t\t\t%s\t%s%s\n", c, ledger.Format(totals[c], curs[c]), mark)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return errors.Join(bad...)
}
