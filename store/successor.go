package store

import (
	"context"
	"database/sql"
	"errors"

	"bankfeed/ledger"
)

// bookAccounts is SQL for the accounts posting to one book: the account
// itself and its successors. It takes the book's id twice.
const bookAccounts = `SELECT id FROM accounts WHERE id = ? OR book_account_id = ?`

// bookAccountsOf is bookAccounts for a book named by an SQL expression.
func bookAccountsOf(book string) string {
	return `SELECT bo.id FROM accounts bo WHERE bo.id = ` + book + ` OR bo.book_account_id = ` + book
}

// KnownAccount says whether a Plaid account is stored already.
func (t *Tx) KnownAccount(plaidID string) (bool, error) {
	_, err := t.accountByPlaidID(plaidID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// Predecessor is an account a new one may succeed.
type Predecessor struct {
	Account
	Active bool // one of its tokens is still active: it has not been let go
}

var predecessorCandidatesSQL = `SELECT ` + accountCols + `,
		EXISTS (SELECT 1 FROM tokens k WHERE k.account_id = accounts.id AND k.status = 'active')
		FROM accounts WHERE business_id = ? AND id != ? AND institution_id = ? AND type = ? AND COALESCE(subtype,'') = ?
		AND COALESCE(mask,'') = ? AND currency = ?
		AND NOT EXISTS (SELECT 1 FROM accounts s WHERE s.replaces = accounts.id)
		ORDER BY id`

// PredecessorCandidates lists the accounts of a's business that look like
// the same real account: same institution, type, subtype, mask and
// currency, and not already replaced. An account whose institution is not
// known matches nothing.
func (t *Tx) PredecessorCandidates(a Account) ([]Predecessor, error) {
	if a.InstitutionID == "" {
		return nil, nil
	}
	rows, err := t.tx.QueryContext(t.ctx, predecessorCandidatesSQL, a.BusinessID, a.ID, a.InstitutionID, a.Type, a.Subtype, a.Mask, a.Currency)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Predecessor
	for rows.Next() {
		var c Predecessor
		if c.Account, err = scanAccount(scanFunc(func(dest ...any) error {
			return rows.Scan(append(dest, &c.Active)...)
		})); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

type scanFunc func(...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// NewestPosted is the date of the newest live posted transaction of a
// book's accounts ("" when none); one of zero amount counts, though it
// posts no entry.
func (t *Tx) NewestPosted(book int64) (string, error) {
	var d sql.NullString
	err := t.tx.QueryRowContext(t.ctx, `SELECT MAX(date) FROM bank_transactions WHERE account_id IN (`+bookAccounts+`)
		AND removed = 0 AND pending = 0`, book, book).Scan(&d)
	return d.String, err
}

// SetSuccessor records that succ continues pred's ledger account, with its
// transactions through matchThrough matched before they post.
func (t *Tx) SetSuccessor(succ *Account, pred Account, matchThrough string) error {
	succ.Replaces, succ.BookID, succ.MatchThrough = pred.ID, pred.Book(), matchThrough
	_, err := t.exec(`UPDATE accounts SET replaces = ?, book_account_id = ?, match_through = ?, updated_at = ? WHERE id = ?`,
		succ.Replaces, succ.BookID, nullStr(matchThrough), t.now, succ.ID)
	return err
}

// RetireHolds marks the staged holds of a book's accounts other than the
// successor removed: the old Item stopped reporting them, and the new one
// reports its own. They never posted, so no entry moves.
func (t *Tx) RetireHolds(book, successor, updateID int64) (int, error) {
	res, err := t.exec(`UPDATE bank_transactions SET removed = 1, revision = revision + 1, last_update_id = ?, updated_at = ?
		WHERE account_id IN (`+bookAccounts+`) AND account_id != ? AND removed = 0 AND pending = 1`, updateID, t.now, book, book, successor)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

const matchPoolSQL = `SELECT b.transaction_id, b.date, b.amount, b.currency, b.name FROM bank_transactions b
		WHERE b.account_id IN (` + bookAccounts + `) AND b.account_id != ? AND b.removed = 0 AND b.pending = 0
		AND (b.live_entry_id IS NOT NULL OR b.amount = 0 OR b.duplicate_of IS NOT NULL) AND b.date <= ?
		AND NOT EXISTS (SELECT 1 FROM bank_transactions d WHERE d.duplicate_of = b.transaction_id AND d.removed = 0)`

// MatchPool lists the live posted transactions of a book's accounts other
// than except, dated through through, that no live duplicate claims yet:
// what a successor's transactions may be matched to. Posted means carried
// by a live entry, of zero amount (counted, never an entry), or itself a
// duplicate standing for an earlier predecessor's (a chain of re-links:
// the real transaction is represented by the newest row of its chain).
func (t *Tx) MatchPool(book, except int64, through string) ([]ledger.MatchTxn, error) {
	rows, err := t.tx.QueryContext(t.ctx, matchPoolSQL, book, book, except, through)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ledger.MatchTxn
	for rows.Next() {
		var m ledger.MatchTxn
		if err := rows.Scan(&m.ID, &m.Date, &m.Amount, &m.Currency, &m.Name); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// PossibleDuplicate is a pair of accounts of one business that look like
// the same real account but were not joined: several candidates, or one
// whose token is still active. A person decides.
type PossibleDuplicate struct {
	BusinessID          string
	AccountID, OtherID  string // Plaid account ids, AccountID the newer
	Name, OtherName     string
	Mask, InstitutionID string
}

// PossibleDuplicates lists such pairs: accounts of a business with the
// same institution, type, subtype, mask and currency, neither replaced and
// neither the other's successor.
func (s *Store) PossibleDuplicates(ctx context.Context, businessID string) ([]PossibleDuplicate, error) {
	return possibleDuplicates(ctx, s.rdb, businessID)
}

func possibleDuplicates(ctx context.Context, q querier, businessID string) ([]PossibleDuplicate, error) {
	rows, err := q.QueryContext(ctx, `SELECT a.business_id, a.plaid_account_id, o.plaid_account_id, a.name, o.name, COALESCE(a.mask,''), a.institution_id
		FROM accounts a JOIN accounts o ON o.business_id = a.business_id AND o.id < a.id AND o.institution_id = a.institution_id
		  AND o.type = a.type AND COALESCE(o.subtype,'') = COALESCE(a.subtype,'') AND COALESCE(o.mask,'') = COALESCE(a.mask,'') AND o.currency = a.currency
		WHERE a.institution_id IS NOT NULL AND (? = '' OR a.business_id = ?)
		  AND NOT EXISTS (SELECT 1 FROM accounts r WHERE r.replaces IN (a.id, o.id))
		ORDER BY a.business_id, a.plaid_account_id, o.plaid_account_id`, businessID, businessID)
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	var out []PossibleDuplicate
	for rows.Next() {
		var d PossibleDuplicate
		if err := rows.Scan(&d.BusinessID, &d.AccountID, &d.OtherID, &d.Name, &d.OtherName, &d.Mask, &d.InstitutionID); err != nil {
			return nil, Classify(err)
		}
		out = append(out, d)
	}
	return out, Classify(rows.Err())
}

// Relink is a successor and the account it replaces.
type Relink struct {
	BusinessID, AccountID, Replaces, Name, Mask string // Plaid account ids
	Duplicates                                  int    // its live matched duplicates
}

// Relinks lists every successor with its predecessor.
func (r *ReadTx) Relinks() ([]Relink, error) {
	rows, err := r.tx.QueryContext(r.ctx, `SELECT s.business_id, s.plaid_account_id, p.plaid_account_id, s.name, COALESCE(s.mask,''),
		(SELECT COUNT(*) FROM bank_transactions d WHERE d.account_id = s.id AND d.duplicate_of IS NOT NULL AND d.removed = 0)
		FROM accounts s JOIN accounts p ON p.id = s.replaces ORDER BY s.business_id, s.plaid_account_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Relink
	for rows.Next() {
		var l Relink
		if err := rows.Scan(&l.BusinessID, &l.AccountID, &l.Replaces, &l.Name, &l.Mask, &l.Duplicates); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// DoublePosted describes each live duplicate whose real transaction is not
// carried exactly once: the duplicate itself posted, or its predecessor's
// transaction no longer live and posted (then the money is missing). A
// duplicate of a duplicate (re-linked twice) is checked link by link.
func (s *Store) DoublePosted(ctx context.Context) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT d.transaction_id, d.duplicate_of,
		d.live_entry_id IS NOT NULL, COALESCE(o.removed = 0 AND (o.live_entry_id IS NOT NULL OR o.amount = 0 OR o.duplicate_of IS NOT NULL), 0)
		FROM bank_transactions d LEFT JOIN bank_transactions o ON o.transaction_id = d.duplicate_of
		WHERE d.duplicate_of IS NOT NULL AND d.removed = 0
		  AND (d.live_entry_id IS NOT NULL OR o.id IS NULL OR o.removed = 1 OR (o.live_entry_id IS NULL AND o.amount != 0 AND o.duplicate_of IS NULL))
		ORDER BY d.transaction_id`)
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, of string
		var posted, oldLive bool
		if err := rows.Scan(&id, &of, &posted, &oldLive); err != nil {
			return nil, Classify(err)
		}
		switch {
		case posted && oldLive:
			out = append(out, "transaction "+id+" is posted and so is "+of+", the predecessor's transaction it duplicates: one real transaction counted twice")
		case posted:
			out = append(out, "duplicate "+id+" of "+of+" is posted: a duplicate never posts")
		default:
			out = append(out, "duplicate "+id+" stands for "+of+", which is not live and posted: the real transaction is missing from the ledger")
		}
	}
	return out, Classify(rows.Err())
}
