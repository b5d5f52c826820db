package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"

	"bankfeed/ledger"
)

// Transaction statuses as `transactions list` shows them.
const (
	TxnPosted    = "posted"
	TxnPending   = "pending"
	TxnRemoved   = "removed"   // Plaid removed it: a hold that settled or vanished, or a posted one withdrawn
	TxnDuplicate = "duplicate" // a re-linked account's copy of a transaction its predecessor posted
)

// TxnStatuses are the values TxnFilter.Status accepts besides "".
var TxnStatuses = []string{TxnPosted, TxnPending, TxnRemoved, TxnDuplicate}

// TxnFilter selects bank transactions for Store.Transactions.
type TxnFilter struct {
	BusinessID string // "" = every business
	AccountID  string // Plaid account id; "" = every account of the business
	Since      string // YYYY-MM-DD, inclusive; "" = open
	Until      string // YYYY-MM-DD, inclusive; "" = open
	Status     string // "" or one of TxnStatuses
	// TransactionID is Plaid's transaction_id: that one row ("" = any).
	TransactionID string
	Desc          bool // newest row first
	// After is the keyset: the row id (TxnRow.ID) of the last row already
	// seen; rows strictly after it in the walk's order follow. 0 = from
	// the start of the walk, in either order.
	After int64
	Limit int // rows at most; 0 = every row
}

// TxnRow is one bank transaction as `transactions list` shows it.
type TxnRow struct {
	// ID is the row's id: immutable, the walk's order and its keyset.
	ID             int64
	BusinessID     string
	PlaidAccountID string
	AccountName    string
	TransactionID  string
	Date           string
	AuthorizedDate string // "" when Plaid gave none
	Name           string
	MerchantName   string // "" when Plaid gave none
	PlaidAmount    int64  // minor units, Plaid's sign (positive = money leaves the account)
	Effect         int64  // minor units, the effect on the account's natural balance
	Currency       ledger.Currency
	Status         string // one of TxnStatuses
	EntryID        string // the live journal entry; "" when none
}

// txnStatusSQL derives a row's status: removed first (a withdrawn
// duplicate is gone, not a duplicate), then a re-link duplicate, then the
// pending flag.
const txnStatusSQL = `CASE WHEN b.removed THEN 'removed' WHEN b.duplicate_of IS NOT NULL THEN 'duplicate'
	WHEN b.pending THEN 'pending' ELSE 'posted' END`

var txnSelect = `SELECT b.id, a.business_id, a.plaid_account_id, a.name, COALESCE(a.kind,''), b.transaction_id, b.date,
	COALESCE(b.authorized_date,''), b.name, COALESCE(b.merchant_name,''), b.amount, b.currency, ` + storedExponent("b.currency") + `,
	` + txnStatusSQL + `, COALESCE(b.live_entry_id,'')
	FROM bank_transactions b JOIN accounts a ON a.id = b.account_id`

// txnWhere holds the filters every walk shares: ?2 since, ?3 until, ?4
// status, ?5 the keyset bound, ?6 one transaction id (its account alone
// is walked: see txnAccounts).
const txnWhere = ` AND (?2 = '' OR b.date >= ?2) AND (?3 = '' OR b.date <= ?3) AND (?4 = '' OR ` + txnStatusSQL + ` = ?4)
	AND (?6 = '' OR b.transaction_id = ?6)`

// One account's rows in id order: one range of bank_transactions_account_id.
var (
	accountTxnsAscSQL  = txnSelect + ` WHERE b.account_id = ?1 AND b.id > ?5` + txnWhere + ` ORDER BY b.id`
	accountTxnsDescSQL = txnSelect + ` WHERE b.account_id = ?1 AND b.id < ?5` + txnWhere + ` ORDER BY b.id DESC`
	// Every business: the table in row-id order (?1 is unused). An export
	// of everything reads everything; it still seeks to the keyset.
	allTxnsAscSQL  = txnSelect + ` WHERE ?1 = 0 AND b.id > ?5` + txnWhere + ` ORDER BY b.id`
	allTxnsDescSQL = txnSelect + ` WHERE ?1 = 0 AND b.id < ?5` + txnWhere + ` ORDER BY b.id DESC`
)

// ErrUnknownAccount is a --account or account_id filter naming no account
// (of the business, when one is given).
var ErrUnknownAccount = errors.New("unknown account")

// ErrUnknownTransaction is a --transaction filter naming no transaction
// bankfeed holds.
var ErrUnknownTransaction = errors.New("unknown transaction")

// Transactions calls fn for each bank transaction f selects, in row-id
// order, one row at a time: memory never depends on how many there are.
// Rows come from one read snapshot. A business's accounts are walked side
// by side, one index range each, and merged by id, so a page costs its own
// rows (times the business's accounts), whatever the history; never a sort.
func (s *Store) Transactions(ctx context.Context, f TxnFilter, fn func(TxnRow) error) error {
	if f.Status != "" && !validTxnStatus(f.Status) {
		return fmt.Errorf("status %q: use one of posted, pending, removed, duplicate", f.Status)
	}
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Classify(err)
	}
	defer tx.Rollback()
	accounts, err := txnAccounts(ctx, tx, f)
	if err != nil {
		return Classify(err)
	}
	bound := f.After
	if f.Desc && bound == 0 {
		bound = math.MaxInt64
	}
	q := accountTxnsAscSQL
	if f.Desc {
		q = accountTxnsDescSQL
	}
	if accounts == nil { // every business
		accounts = []int64{0}
		q = allTxnsAscSQL
		if f.Desc {
			q = allTxnsDescSQL
		}
	}
	var heads []*txnCursor
	defer func() {
		for _, c := range heads {
			c.rows.Close()
		}
	}()
	for _, id := range accounts {
		rows, err := tx.QueryContext(ctx, q, id, f.Since, f.Until, f.Status, bound, f.TransactionID) //nolint:rowserrcheck // txnCursor.next checks Err when Next ends
		if err != nil {
			return Classify(err)
		}
		c := &txnCursor{rows: rows}
		heads = append(heads, c)
		if err := c.next(); err != nil {
			return err
		}
	}
	for n := 0; f.Limit == 0 || n < f.Limit; n++ {
		// Few accounts per business: a linear pick beats a heap.
		var best *txnCursor
		for _, c := range heads {
			if c.ok && (best == nil || (c.row.ID < best.row.ID) != f.Desc) {
				best = c
			}
		}
		if best == nil {
			return nil
		}
		if err := fn(best.row); err != nil {
			return err
		}
		if err := best.next(); err != nil {
			return err
		}
	}
	return nil
}

func validTxnStatus(s string) bool {
	for _, v := range TxnStatuses {
		if s == v {
			return true
		}
	}
	return false
}

// txnAccounts lists the account row ids f walks; nil means every business.
// One transaction is looked up by its id (unique), and only its account is
// walked, when the other filters admit it.
func txnAccounts(ctx context.Context, tx *sql.Tx, f TxnFilter) ([]int64, error) {
	if f.TransactionID != "" {
		ids, err := txnAccounts(ctx, tx, TxnFilter{BusinessID: f.BusinessID, AccountID: f.AccountID})
		if err != nil {
			return nil, err
		}
		var id int64
		err = tx.QueryRowContext(ctx, txnAccountSQL, f.TransactionID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%w %s", ErrUnknownTransaction, f.TransactionID)
		}
		if err != nil {
			return nil, err
		}
		if ids != nil && !slices.Contains(ids, id) {
			return []int64{}, nil
		}
		return []int64{id}, nil
	}
	if f.AccountID != "" {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE plaid_account_id = ? AND (? = '' OR business_id = ?)`,
			f.AccountID, f.BusinessID, f.BusinessID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			if f.BusinessID != "" {
				return nil, fmt.Errorf("%w %s in business %s", ErrUnknownAccount, f.AccountID, f.BusinessID)
			}
			return nil, fmt.Errorf("%w %s", ErrUnknownAccount, f.AccountID)
		}
		return []int64{id}, err
	}
	if f.BusinessID == "" {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM accounts WHERE business_id = ? ORDER BY id`, f.BusinessID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

const txnAccountSQL = `SELECT account_id FROM bank_transactions WHERE transaction_id = ?`

// txnCursor is one open walk and its current row.
type txnCursor struct {
	rows *sql.Rows
	row  TxnRow
	ok   bool
}

func (c *txnCursor) next() error {
	c.ok = c.rows.Next()
	if !c.ok {
		return Classify(c.rows.Err())
	}
	var r TxnRow
	var kind string
	var exp sql.NullInt32
	if err := c.rows.Scan(&r.ID, &r.BusinessID, &r.PlaidAccountID, &r.AccountName, &kind, &r.TransactionID, &r.Date,
		&r.AuthorizedDate, &r.Name, &r.MerchantName, &r.PlaidAmount, &r.Currency.Code, &exp, &r.Status, &r.EntryID); err != nil {
		return Classify(err)
	}
	if !exp.Valid {
		return fmt.Errorf("%w: currency %s of transaction %s has no stored exponent", ErrCorrupt, r.Currency.Code, r.TransactionID)
	}
	r.Currency.Exponent = exp.Int32
	// An account that is not posted (investment) has no kind: its
	// balance runs as an asset's.
	r.Effect = ledger.Kind(kind).PlaidEffect(r.PlaidAmount)
	c.row = r
	return nil
}

const businessIDsSQL = `SELECT id FROM businesses WHERE id > ? ORDER BY id LIMIT ?`

// BusinessIDs lists up to limit business ids after the keyset after ("" =
// from the start), in id order: an id never changes, so pages of a walk
// neither repeat nor skip a business while others are created.
func (s *Store) BusinessIDs(ctx context.Context, after string, limit int) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, businessIDsSQL, after, limit)
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, Classify(err)
		}
		ids = append(ids, id)
	}
	return ids, Classify(rows.Err())
}
