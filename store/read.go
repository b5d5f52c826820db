package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"bankfeed/ledger"
)

// LedgerBalance is an account's position in the ledger, natural sign.
type LedgerBalance struct {
	BusinessID     string
	AccountID      int64
	PlaidAccountID string
	Kind           ledger.Kind
	Currency       string
	Exponent       int32 // the currency's stored exponent (see AccountInfo.Cur)
	Balance        int64 // includes the opening entry
	Opening        int64
	Anchored       bool
	PostedCount    int
	PendingCount   int
	PendingTotal   int64 // natural-sign effect of pending transactions
}

// ledgerBalancesSQL: a re-linked account and its predecessors share one
// ledger account (the first predecessor's, see Account.Book): one row,
// shown under the newest account of the chain, counting each real
// transaction once (a matched duplicate is not a posting).
var ledgerBalancesSQL = `
	WITH bk AS (
	  SELECT a.*, la.id AS la_id, la.currency AS cur,
	         COALESCE((SELECT h.id FROM accounts h WHERE h.book_account_id = a.id
	                   AND NOT EXISTS (SELECT 1 FROM accounts r WHERE r.replaces = h.id)), a.id) AS head
	  FROM accounts a JOIN ledger_accounts la ON la.account_id = a.id
	  WHERE a.kind IS NOT NULL AND (? = '' OR a.business_id = ?)
	)
	SELECT a.business_id, h.id, h.plaid_account_id, a.kind, a.cur, ` + storedExponent("a.cur") + `,
	       COALESCE((SELECT SUM(lb.amount) FROM ledger_balances lb WHERE lb.ledger_account_id = a.la_id), 0),
	       a.opening_version > 0, COALESCE(a.opening_minor, 0),
	       (SELECT COUNT(*) FROM bank_transactions b WHERE b.account_id IN (` + bookAccountsOf("a.id") + `) AND b.removed = 0 AND b.pending = 0
	          AND b.currency = a.cur AND b.duplicate_of IS NULL),
	       (SELECT COUNT(*) FROM bank_transactions b WHERE b.account_id IN (` + bookAccountsOf("a.id") + `) AND b.removed = 0 AND b.pending = 1 AND b.currency = a.cur),
	       (SELECT COALESCE(SUM(b.amount), 0) FROM bank_transactions b WHERE b.account_id IN (` + bookAccountsOf("a.id") + `) AND b.removed = 0 AND b.pending = 1
	          AND b.currency = a.cur)
	FROM bk a JOIN accounts h ON h.id = a.head
	ORDER BY a.business_id, h.plaid_account_id, a.cur`

// LedgerBalances lists the posted accounts' ledger positions. One SQL pass
// per question, grouped by account: never a query per account.
func (s *Store) LedgerBalances(ctx context.Context, businessID string) ([]LedgerBalance, error) {
	rows, err := s.rdb.QueryContext(ctx, ledgerBalancesSQL, businessID, businessID)
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	var out []LedgerBalance
	for rows.Next() {
		var b LedgerBalance
		var kind string
		var sum, pendingSum int64
		var exp sql.NullInt32
		if err := rows.Scan(&b.BusinessID, &b.AccountID, &b.PlaidAccountID, &kind, &b.Currency, &exp, &sum, &b.Anchored, &b.Opening,
			&b.PostedCount, &b.PendingCount, &pendingSum); err != nil {
			return nil, Classify(err)
		}
		if !exp.Valid {
			return nil, fmt.Errorf("%w: ledger currency %s of account %s has no stored exponent", ErrCorrupt, b.Currency, b.PlaidAccountID)
		}
		b.Exponent = exp.Int32
		b.Kind = ledger.Kind(kind)
		b.Balance = b.Kind.Natural(sum)
		b.PendingTotal = b.Kind.Natural(-pendingSum)
		out = append(out, b)
	}
	return out, Classify(rows.Err())
}

// Cur is the balance's currency with its stored exponent.
func (b LedgerBalance) Cur() ledger.Currency {
	return ledger.Currency{Code: b.Currency, Exponent: b.Exponent}
}

// TrialBalance sums every journal line per currency; each sum must be zero.
func (s *Store) TrialBalance(ctx context.Context) (map[string]int64, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT currency, SUM(amount) FROM journal_lines GROUP BY currency`)
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var c string
		var n int64
		if err := rows.Scan(&c, &n); err != nil {
			return nil, err
		}
		out[c] = n
	}
	return out, rows.Err()
}

// Journal loads every entry with its lines, in insertion order. For
// checks and rebuild comparisons, not for hot paths.
func (s *Store) Journal(ctx context.Context) ([]ledger.Entry, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT e.id, e.kind, e.date, COALESCE(e.transaction_id,''), e.version, COALESCE(e.reverses,''),
		COALESCE(a.plaid_account_id,''), la.code, l.currency, l.amount
		FROM journal_entries e LEFT JOIN accounts a ON a.id = e.account_id
		JOIN journal_lines l ON l.entry_id = e.id JOIN ledger_accounts la ON la.id = l.ledger_account_id
		ORDER BY e.rowid, l.line_no`)
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	var out []ledger.Entry
	for rows.Next() {
		var e ledger.Entry
		var kind string
		var l ledger.Line
		if err := rows.Scan(&e.ID, &kind, &e.Date, &e.TransactionID, &e.Version, &e.Reverses, &e.AccountID, &l.Account, &l.Currency, &l.Amount); err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].ID == e.ID {
			out[n-1].Lines = append(out[n-1].Lines, l)
			continue
		}
		e.Kind = ledger.EntryKind(kind)
		e.Lines = []ledger.Line{l}
		out = append(out, e)
	}
	return out, rows.Err()
}

// AccountView is an account as "List Plaid Accounts" shows it.
type AccountView struct {
	Account
	TokenHint   string
	TokenStatus string // active, needs_refresh, unlinked, replaced
	// ReplacesID and ReplacedByID are the Plaid ids of the account this
	// one succeeds and of its successor ("" when none).
	ReplacesID, ReplacedByID string
	TokenID                  int64
	ItemID                   string // Plaid's item_id when an Item of bankfeed's syncs the account; then TokenHint means nothing
	Current                  *int64
	Available                *int64
	BalanceAsOf              *time.Time
	LastSyncedAt             *time.Time
	// The newest real-time balance (BANKFEED_REALTIME_BALANCES=daily): the
	// bank now, shown beside the pull-consistent one, never instead of it.
	RealtimeCurrent  *int64
	RealtimeCurrency string
	RealtimeAsOf     *time.Time
}

var accountsSQL = `
	SELECT a.id, a.business_id, a.plaid_account_id, a.name, COALESCE(a.official_name,''), COALESCE(a.mask,''), a.type, COALESCE(a.subtype,''),
	       a.currency, ` + storedExponent("a.currency") + `, COALESCE(a.kind,''), a.opening_version, COALESCE(a.opening_date,''), COALESCE(a.opening_minor,0),
	       COALESCE(t.id, 0), COALESCE(t.hint,''), COALESCE(t.status,'removed'), t.last_synced_at,
	       bs.current, bs.available, bs.taken_at, rt.current, COALESCE(rt.currency, ''), rt.taken_at,
	       CASE WHEN t.kind = 'item' THEN t.item_id ELSE '' END,
	       COALESCE((SELECT p.plaid_account_id FROM accounts p WHERE p.id = a.replaces), ''),
	       COALESCE((SELECT s.plaid_account_id FROM accounts s WHERE s.replaces = a.id), '')
	FROM accounts a
	LEFT JOIN tokens t ON t.id = COALESCE((SELECT id FROM tokens t2 WHERE t2.account_id = a.id
	     ORDER BY (t2.status = 'active') DESC, (t2.status = 'needs_refresh') DESC, t2.id DESC LIMIT 1), a.item_token_id)
	LEFT JOIN balance_snapshots bs ON bs.id = (SELECT MAX(id) FROM balance_snapshots b2 WHERE b2.account_id = a.id AND b2.source = 'sync')
	LEFT JOIN balance_snapshots rt ON rt.id = (SELECT MAX(id) FROM balance_snapshots b3 WHERE b3.account_id = a.id AND b3.source = 'realtime')
	WHERE (? = '' OR a.business_id = ?)
	ORDER BY a.business_id, a.plaid_account_id`

// Accounts lists accounts with their newest token and pull-consistent
// (sync) snapshot: a real-time balance is "in flight", not the account's.
func (s *Store) Accounts(ctx context.Context, businessID string) ([]AccountView, error) {
	rows, err := s.rdb.QueryContext(ctx, accountsSQL, businessID, businessID)
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	var out []AccountView
	for rows.Next() {
		var v AccountView
		var kind string
		var synced, taken, rtTaken sql.NullString
		var cur, avail, rtCur sql.NullInt64
		if err := rows.Scan(&v.ID, &v.BusinessID, &v.PlaidAccountID, &v.Name, &v.OfficialName, &v.Mask, &v.Type, &v.Subtype,
			&v.Currency, &v.CurrencyExponent, &kind, &v.OpeningVersion, &v.OpeningDate, &v.OpeningMinor,
			&v.TokenID, &v.TokenHint, &v.TokenStatus, &synced, &cur, &avail, &taken, &rtCur, &v.RealtimeCurrency, &rtTaken, &v.ItemID,
			&v.ReplacesID, &v.ReplacedByID); err != nil {
			return nil, Classify(err)
		}
		v.RealtimeCurrent, v.RealtimeAsOf = intPtr(rtCur), parseTS(rtTaken)
		v.Kind = ledger.Kind(kind)
		switch {
		case v.ReplacedByID != "":
			v.TokenStatus = "replaced" // its successor carries its ledger account on
		case v.TokenStatus == StatusRemoved:
			v.TokenStatus = "unlinked"
		}
		v.LastSyncedAt, v.BalanceAsOf = parseTS(synced), parseTS(taken)
		v.Current, v.Available = intPtr(cur), intPtr(avail)
		out = append(out, v)
	}
	return out, Classify(rows.Err())
}
