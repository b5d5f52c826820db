package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"bankfeed/ledger"
)

// LedgerAccountBalance is one ledger account (one code and currency of a
// business) with its balance: a row of the trial balance.
type LedgerAccountBalance struct {
	BusinessID string
	Code       string // Bank:<plaid account id>, Suspense:Uncategorized, Equity:Opening Balances
	Kind       ledger.Kind
	Currency   string
	Exponent   int32
	Sum        int64 // debits - credits, minor units
	// The bank account a Bank: code books, shown as the newest account of
	// its re-link chain (as `ledger balances` does); "" for the others.
	PlaidAccountID string
	Name           string
	Mask           string
}

// Balance is the account's balance in its kind's natural sign.
func (b LedgerAccountBalance) Balance() int64 { return b.Kind.Natural(b.Sum) }

// Cur is the balance's currency with its stored exponent.
func (b LedgerAccountBalance) Cur() ledger.Currency {
	return ledger.Currency{Code: b.Currency, Exponent: b.Exponent}
}

// ledgerAccountsSQL reads the kept running balances (ledger_balances), one
// row per ledger account: never a sum over the journal.
var ledgerAccountsSQL = `
	SELECT la.business_id, la.code, la.kind, la.currency, ` + storedExponent("la.currency") + `,
	       COALESCE((SELECT SUM(lb.amount) FROM ledger_balances lb WHERE lb.ledger_account_id = la.id), 0),
	       COALESCE(h.plaid_account_id, ''), COALESCE(h.name, ''), COALESCE(h.mask, '')
	FROM ledger_accounts la
	LEFT JOIN accounts h ON h.id = COALESCE((SELECT s.id FROM accounts s WHERE s.book_account_id = la.account_id
	                   AND NOT EXISTS (SELECT 1 FROM accounts r WHERE r.replaces = s.id)), la.account_id)
	WHERE (? = '' OR la.business_id = ?)
	ORDER BY la.business_id, la.currency, la.code`

// LedgerAccounts lists every ledger account of one business (every
// business when businessID is ""), with its balance.
func (r *ReadTx) LedgerAccounts(businessID string) ([]LedgerAccountBalance, error) {
	rows, err := r.tx.QueryContext(r.ctx, ledgerAccountsSQL, businessID, businessID)
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	var out []LedgerAccountBalance
	for rows.Next() {
		var b LedgerAccountBalance
		var kind string
		var exp sql.NullInt32
		if err := rows.Scan(&b.BusinessID, &b.Code, &kind, &b.Currency, &exp, &b.Sum, &b.PlaidAccountID, &b.Name, &b.Mask); err != nil {
			return nil, Classify(err)
		}
		if !exp.Valid {
			return nil, fmt.Errorf("%w: ledger currency %s of %s has no stored exponent", ErrCorrupt, b.Currency, b.Code)
		}
		b.Exponent, b.Kind = exp.Int32, ledger.Kind(kind)
		out = append(out, b)
	}
	return out, Classify(rows.Err())
}

// LedgerAccounts is ReadTx.LedgerAccounts in a read transaction of its own.
func (s *Store) LedgerAccounts(ctx context.Context, businessID string) ([]LedgerAccountBalance, error) {
	var out []LedgerAccountBalance
	err := s.Read(ctx, func(r *ReadTx) error {
		var err error
		out, err = r.LedgerAccounts(businessID)
		return err
	})
	return out, err
}

// JournalFilter selects journal entries. Zero fields select everything.
type JournalFilter struct {
	BusinessID string
	// Book is the accounts.id of an account's book (the first account of a
	// re-link chain, see Account.Book): its entries and its successors'.
	Book  int64
	Since string // YYYY-MM-DD: entries dated on or after
	// TransactionID is Plaid's transaction_id: the entries that posted,
	// reversed and re-posted that one transaction ("" = any).
	TransactionID string
}

// JournalLine is one line of an entry, with what a reader needs to show it.
type JournalLine struct {
	Code     string
	Kind     ledger.Kind
	Currency string
	Exponent int32
	Amount   int64 // > 0 debit, < 0 credit
}

// Cur is the line's currency with its stored exponent.
func (l JournalLine) Cur() ledger.Currency {
	return ledger.Currency{Code: l.Currency, Exponent: l.Exponent}
}

// JournalEntry is an entry as the inspect and export commands show it.
type JournalEntry struct {
	ID             string
	Kind           ledger.EntryKind
	Date           string
	BusinessID     string
	PlaidAccountID string // "" for none
	TransactionID  string // "" for none
	Reverses       string // "" for none
	Name           string // the bank transaction's description, "" for none
	Lines          []JournalLine
}

// journalWhere is the WHERE clause of f (dates compared with dateOp) and
// its arguments. Each filter is its own term, so that SQLite can serve a
// business from journal_entries_business and an account from
// journal_entries_account; "? = ” OR ..." would defeat both.
func journalWhere(f JournalFilter, dateOp string) (string, []any) {
	terms := []string{"1"}
	var args []any
	if f.BusinessID != "" {
		terms = append(terms, "e.business_id = ?")
		args = append(args, f.BusinessID)
	}
	if f.Book != 0 {
		terms = append(terms, "e.account_id IN (SELECT bo.id FROM accounts bo WHERE bo.id = ? OR bo.book_account_id = ?)")
		args = append(args, f.Book, f.Book)
	}
	if f.Since != "" {
		terms = append(terms, "e.date "+dateOp+" ?")
		args = append(args, f.Since)
	}
	if f.TransactionID != "" {
		terms = append(terms, "e.transaction_id = ?")
		args = append(args, f.TransactionID)
	}
	return strings.Join(terms, " AND "), args
}

// journalSQL streams the journal in date order (insertion order within a
// date, so a reversal follows what it reverses), line by line. A
// business's entries come from journal_entries_business already in that
// order; the whole journal is a scan that SQLite sorts (on disk when
// large). Never held in memory here.
func journalSQL(f JournalFilter) (string, []any) {
	where, args := journalWhere(f, ">=")
	return `SELECT e.id, e.kind, e.date, e.business_id, COALESCE(a.plaid_account_id, ''), COALESCE(e.transaction_id, ''),
	       COALESCE(e.reverses, ''), COALESCE(bt.name, ''), la.code, la.kind, l.currency,
	       (SELECT cx.exponent FROM currencies cx WHERE cx.code = l.currency), l.amount
	FROM journal_entries e
	LEFT JOIN accounts a ON a.id = e.account_id
	LEFT JOIN bank_transactions bt ON bt.transaction_id = e.transaction_id
	JOIN journal_lines l ON l.entry_id = e.id
	JOIN ledger_accounts la ON la.id = l.ledger_account_id
	WHERE ` + where + `
	ORDER BY e.date, e.rowid, l.line_no`, args
}

// EachEntry calls fn for every selected entry with its lines, in date
// order, one entry at a time.
func (r *ReadTx) EachEntry(f JournalFilter, fn func(JournalEntry) error) error {
	q, args := journalSQL(f)
	rows, err := r.tx.QueryContext(r.ctx, q, args...)
	if err != nil {
		return Classify(err)
	}
	defer rows.Close()
	var cur JournalEntry
	for rows.Next() {
		var e JournalEntry
		var l JournalLine
		var kind, lkind string
		var exp sql.NullInt32
		if err := rows.Scan(&e.ID, &kind, &e.Date, &e.BusinessID, &e.PlaidAccountID, &e.TransactionID, &e.Reverses, &e.Name,
			&l.Code, &lkind, &l.Currency, &exp, &l.Amount); err != nil {
			return Classify(err)
		}
		if !exp.Valid {
			return fmt.Errorf("%w: journal currency %s of entry %s has no stored exponent", ErrCorrupt, l.Currency, e.ID)
		}
		l.Exponent, l.Kind = exp.Int32, ledger.Kind(lkind)
		if cur.ID == e.ID {
			cur.Lines = append(cur.Lines, l)
			continue
		}
		if cur.ID != "" {
			if err := fn(cur); err != nil {
				return err
			}
		}
		e.Kind = ledger.EntryKind(kind)
		e.Lines = []JournalLine{l}
		cur = e
	}
	if err := rows.Err(); err != nil {
		return Classify(err)
	}
	if cur.ID != "" {
		return fn(cur)
	}
	return nil
}

// carriedSQL sums, per business and ledger account, the entries f
// selects but dated before f.Since: what a listing from that date carries.
func carriedSQL(f JournalFilter) (string, []any) {
	where, args := journalWhere(f, "<")
	return `SELECT e.business_id, la.code, la.kind, l.currency, (SELECT cx.exponent FROM currencies cx WHERE cx.code = l.currency), SUM(l.amount)
	FROM journal_entries e
	JOIN journal_lines l ON l.entry_id = e.id
	JOIN ledger_accounts la ON la.id = l.ledger_account_id
	WHERE ` + where + `
	GROUP BY e.business_id, la.code, l.currency
	ORDER BY e.business_id, l.currency, la.code`, args
}

// CarriedLine is a ledger account's balance carried into a listing.
type CarriedLine struct {
	BusinessID string
	JournalLine
}

// Carried returns, per business and ledger account, the sum of the lines
// of the entries f selects but dated before f.Since (none without Since).
// Accounts whose sum is zero are included.
func (r *ReadTx) Carried(f JournalFilter) ([]CarriedLine, error) {
	if f.Since == "" {
		return nil, nil
	}
	q, args := carriedSQL(f)
	rows, err := r.tx.QueryContext(r.ctx, q, args...)
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	var out []CarriedLine
	for rows.Next() {
		var c CarriedLine
		var kind string
		var exp sql.NullInt32
		if err := rows.Scan(&c.BusinessID, &c.Code, &kind, &c.Currency, &exp, &c.Amount); err != nil {
			return nil, Classify(err)
		}
		if !exp.Valid {
			return nil, fmt.Errorf("%w: journal currency %s has no stored exponent", ErrCorrupt, c.Currency)
		}
		c.Exponent, c.Kind = exp.Int32, ledger.Kind(kind)
		out = append(out, c)
	}
	return out, Classify(rows.Err())
}

func firstEntrySQL(f JournalFilter) (string, []any) {
	where, args := journalWhere(f, ">=")
	return `SELECT MIN(e.date) FROM journal_entries e WHERE ` + where, args
}

// FirstEntryDate is the date of the earliest entry f selects, "" for none.
func (r *ReadTx) FirstEntryDate(f JournalFilter) (string, error) {
	var d sql.NullString
	q, args := firstEntrySQL(f)
	if err := r.tx.QueryRowContext(r.ctx, q, args...).Scan(&d); err != nil {
		return "", Classify(err)
	}
	return d.String, nil
}

const accountBookSQL = `SELECT business_id, COALESCE(book_account_id, id) FROM accounts WHERE plaid_account_id = ?`

// AccountBook resolves a Plaid account id to its business and the book
// its ledger lives in (JournalFilter.Book); ErrNotFound when unknown.
func (s *Store) AccountBook(ctx context.Context, plaidAccountID string) (businessID string, book int64, err error) {
	err = s.rdb.QueryRowContext(ctx, accountBookSQL, plaidAccountID).Scan(&businessID, &book)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, ErrNotFound
	}
	return businessID, book, Classify(err)
}
