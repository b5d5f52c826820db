package ledger

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
)

// Kind says which way an account's natural balance runs.
type Kind string

const (
	// Asset accounts (bank accounts) grow with debits.
	Asset Kind = "asset"
	// Liability accounts (cards, loans) grow with credits; their natural
	// balance is what is owed, the same sign as Plaid's balances.current.
	Liability Kind = "liability"
	// Equity and Expense kinds exist for the counter-accounts.
	Equity  Kind = "equity"
	Expense Kind = "expense"
)

// KindForPlaidType maps Plaid's account type to the ledger kind. Investment
// and other accounts are listed but not posted in this version, so ok is
// false for them.
func KindForPlaidType(t string) (k Kind, ok bool) {
	switch t {
	case "depository":
		return Asset, true
	case "credit", "loan":
		return Liability, true
	}
	return "", false
}

// Natural turns a sum of signed lines (debits positive) into the account's
// natural-sign balance.
func (k Kind) Natural(sum int64) int64 {
	if k == Liability || k == Equity {
		return -sum
	}
	return sum
}

// PlaidEffect is the natural-sign effect on the account of a Plaid amount
// (positive = money leaves the account, or a charge on a card): the
// posting rule credits the account with it.
func (k Kind) PlaidEffect(plaidAmount int64) int64 { return k.Natural(-plaidAmount) }

// Counter-account codes, one per business and currency.
const (
	Suspense       = "Suspense:Uncategorized"
	OpeningEquity  = "Equity:Opening Balances"
	bankCodePrefix = "Bank:"
)

// BankCode is the ledger account code of a linked Plaid account.
func BankCode(plaidAccountID string) string { return bankCodePrefix + plaidAccountID }

// Line is one side of an entry: Amount > 0 is a debit, < 0 a credit, in
// minor units of Currency.
type Line struct {
	Account  string
	Currency string
	Amount   int64
}

// EntryKind tells what produced an entry.
type EntryKind string

const (
	KindTxn      EntryKind = "txn"
	KindReversal EntryKind = "reversal"
	KindOpening  EntryKind = "opening"
)

// Entry is an immutable journal entry. Its ID is derived from what it
// records, so posting the same fact twice is detectable as a no-op.
type Entry struct {
	ID            string
	Kind          EntryKind
	Date          string // YYYY-MM-DD
	TransactionID string // the Plaid transaction, for KindTxn
	AccountID     string // the Plaid account
	Version       int
	Reverses      string // for KindReversal: the ID of the entry it undoes
	Lines         []Line
}

// TxnEntryID names version v of the entry for a Plaid transaction.
func TxnEntryID(transactionID string, v int) string {
	return "txn:" + transactionID + ":v" + strconv.Itoa(v)
}

// OpeningEntryID names version v of an account's opening-balance entry.
func OpeningEntryID(plaidAccountID string, v int) string {
	return "open:" + plaidAccountID + ":v" + strconv.Itoa(v)
}

// PostTransaction applies the one posting rule for every account kind:
// with Plaid's signed amount A (positive = money leaves the account, or a
// charge on a card), credit the bank account A and debit the counter-account
// A. A checking account's balance then falls by A and a card's debt rises by
// A, which is exactly how Plaid's balances.current moves.
func PostTransaction(plaidAccountID, transactionID string, version int, date string, amount Money) (Entry, error) {
	e := Entry{
		ID:            TxnEntryID(transactionID, version),
		Kind:          KindTxn,
		Date:          date,
		TransactionID: transactionID,
		AccountID:     plaidAccountID,
		Version:       version,
		Lines: []Line{
			{Account: BankCode(plaidAccountID), Currency: amount.Currency.Code, Amount: -amount.Minor},
			{Account: Suspense, Currency: amount.Currency.Code, Amount: amount.Minor},
		},
	}
	return e, e.Validate()
}

// Opening posts an account's natural-sign opening balance against
// Equity:Opening Balances.
func Opening(plaidAccountID string, kind Kind, version int, date string, natural Money) (Entry, error) {
	bank := natural.Minor
	if kind == Liability {
		bank = -bank
	}
	e := Entry{
		ID:        OpeningEntryID(plaidAccountID, version),
		Kind:      KindOpening,
		Date:      date,
		AccountID: plaidAccountID,
		Version:   version,
		Lines: []Line{
			{Account: BankCode(plaidAccountID), Currency: natural.Currency.Code, Amount: bank},
			{Account: OpeningEquity, Currency: natural.Currency.Code, Amount: -bank},
		},
	}
	return e, e.Validate()
}

// Reverse returns the entry that undoes e: the same lines with the sides
// swapped. It keeps e's date so that a balance as of any date reflects the
// bank's current view of that date, and so that rebuilding the journal from
// the raw sync pages gives the same entries whenever it is done.
func Reverse(e Entry) Entry {
	r := Entry{
		ID:            "rev:" + e.ID,
		Kind:          KindReversal,
		Date:          e.Date,
		TransactionID: e.TransactionID,
		AccountID:     e.AccountID,
		Version:       e.Version,
		Reverses:      e.ID,
		Lines:         make([]Line, len(e.Lines)),
	}
	for i, l := range e.Lines {
		r.Lines[i] = Line{Account: l.Account, Currency: l.Currency, Amount: -l.Amount}
	}
	return r
}

// ErrUnbalanced marks an entry whose debits and credits differ in some currency.
var ErrUnbalanced = errors.New("entry does not balance")

// Validate checks an entry on its own: two or more non-zero lines that
// balance in every currency.
func (e Entry) Validate() error {
	if e.ID == "" || e.Date == "" {
		return fmt.Errorf("entry %q: missing id or date", e.ID)
	}
	if len(e.Lines) < 2 {
		return fmt.Errorf("entry %s: needs at least two lines", e.ID)
	}
	sums := map[string]int64{}
	for _, l := range e.Lines {
		if l.Account == "" || l.Currency == "" {
			return fmt.Errorf("entry %s: a line has no account or currency", e.ID)
		}
		// A zero opening is still an assertion worth keeping: the
		// account is anchored at zero. Any other zero line is a bug.
		if l.Amount == 0 && e.Kind != KindOpening {
			return fmt.Errorf("entry %s: a line on %s has a zero amount", e.ID, l.Account)
		}
		sums[l.Currency] += l.Amount
	}
	for cur, s := range sums {
		if s != 0 {
			return fmt.Errorf("%w: %s is off by %d minor units of %s", ErrUnbalanced, e.ID, s, cur)
		}
	}
	return nil
}

// CheckJournal checks the invariants that hold across a whole journal:
// every entry balances, every reversal mirrors an existing entry exactly,
// and no entry is reversed twice. It returns every problem found.
func CheckJournal(entries []Entry) []error {
	var errs []error
	byID := make(map[string]Entry, len(entries))
	for _, e := range entries {
		if _, dup := byID[e.ID]; dup {
			errs = append(errs, fmt.Errorf("entry %s appears twice", e.ID))
		}
		byID[e.ID] = e
		if err := e.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	reversed := map[string]string{}
	for _, e := range entries {
		if e.Kind != KindReversal {
			continue
		}
		orig, ok := byID[e.Reverses]
		if !ok {
			errs = append(errs, fmt.Errorf("reversal %s undoes unknown entry %s", e.ID, e.Reverses))
			continue
		}
		if prev, twice := reversed[e.Reverses]; twice {
			errs = append(errs, fmt.Errorf("entry %s is reversed twice (%s, %s)", e.Reverses, prev, e.ID))
		}
		reversed[e.Reverses] = e.ID
		if !mirrors(orig, e) {
			errs = append(errs, fmt.Errorf("reversal %s does not mirror %s", e.ID, orig.ID))
		}
	}
	return errs
}

func mirrors(orig, rev Entry) bool {
	if len(orig.Lines) != len(rev.Lines) {
		return false
	}
	a, b := sortedLines(orig.Lines), sortedLines(rev.Lines)
	for i := range a {
		if a[i].Account != b[i].Account || a[i].Currency != b[i].Currency || a[i].Amount != -b[i].Amount {
			return false
		}
	}
	return true
}

func sortedLines(ls []Line) []Line {
	out := append([]Line(nil), ls...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Account != out[j].Account {
			return out[i].Account < out[j].Account
		}
		if out[i].Currency != out[j].Currency {
			return out[i].Currency < out[j].Currency
		}
		return out[i].Amount < out[j].Amount
	})
	return out
}

// DayBefore returns the calendar day before a YYYY-MM-DD date.
func DayBefore(date string) (string, error) {
	t, err := parseDate(date)
	if err != nil {
		return "", err
	}
	return t.AddDate(0, 0, -1).Format(dateLayout), nil
}
