package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"bankfeed/ledger"
)

// CheckFile runs SQLite's own checks. Broken b-trees are corruption: the
// error wraps ErrCorrupt and the lines say what SQLite found. Dangling
// foreign keys are not corruption of the file, only of the data, so they come
// back as lines with a nil error.
func (s *Store) CheckFile(ctx context.Context) ([]string, error) {
	bad, err := s.integrityCheck(ctx)
	if errors.Is(err, ErrCorrupt) {
		// Damage bad enough that SQLite gives up mid-check still deserves
		// a line saying so.
		return append(bad, "integrity_check: "+err.Error()), err
	}
	if err != nil {
		return nil, err
	}
	if len(bad) > 0 {
		return bad, fmt.Errorf("%w: integrity_check found %d problem(s)", ErrCorrupt, len(bad))
	}
	return s.foreignKeyCheck(ctx)
}

func (s *Store) integrityCheck(ctx context.Context) ([]string, error) {
	trees := s.treeNames(ctx)
	rows, err := s.rdb.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	var bad []string
	for rows.Next() {
		var msg string
		if err := rows.Scan(&msg); err != nil {
			return nil, Classify(err)
		}
		// SQLite packs several problems into one row, one per line, under
		// a header naming the schema: keep one finding per problem.
		for _, line := range strings.Split(msg, "\n") {
			if line = strings.TrimSpace(line); line != "" && line != "ok" && !strings.HasPrefix(line, "*** in database") {
				bad = append(bad, "integrity_check: "+nameTree(line, trees))
			}
		}
	}
	return bad, Classify(rows.Err())
}

// treeNames maps b-tree root pages to the table or index they hold, so
// that "Tree 22 page 225" can say which table is damaged. Best effort: on a
// damaged schema the map is simply empty.
func (s *Store) treeNames(ctx context.Context) map[string]string {
	names := map[string]string{}
	rows, err := s.rdb.QueryContext(ctx, "SELECT rootpage, name FROM sqlite_schema WHERE rootpage > 0")
	if err != nil {
		return names
	}
	defer rows.Close()
	for rows.Next() {
		var page, name string
		if rows.Scan(&page, &name) == nil {
			names[page] = name
		}
	}
	if rows.Err() != nil {
		// A damaged schema read part-way: names a table only where sure.
		return map[string]string{}
	}
	return names
}

func nameTree(line string, trees map[string]string) string {
	rest, ok := strings.CutPrefix(line, "Tree ")
	if !ok {
		return line
	}
	page, tail, _ := strings.Cut(rest, " ")
	if name, ok := trees[page]; ok {
		return "Tree " + page + " (" + name + ") " + tail
	}
	return line
}

func (s *Store) foreignKeyCheck(ctx context.Context) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	var bad []string
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return nil, Classify(err)
		}
		where := "a " + table + " row" // WITHOUT ROWID tables have no rowid to name
		if rowid.Valid {
			where = fmt.Sprintf("%s row %d", table, rowid.Int64)
		}
		bad = append(bad, fmt.Sprintf("foreign key: %s refers to a missing %s row", where, parent))
	}
	return bad, Classify(rows.Err())
}

// EntriesWithoutLines lists journal entries that have no lines at all:
// Journal joins lines, so such an entry would otherwise be invisible.
func (s *Store) EntriesWithoutLines(ctx context.Context) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT e.id FROM journal_entries e
		WHERE NOT EXISTS (SELECT 1 FROM journal_lines l WHERE l.entry_id = e.id) ORDER BY e.rowid`)
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, Classify(err)
		}
		ids = append(ids, id)
	}
	return ids, Classify(rows.Err())
}

// BalanceDrift compares every running balance (ledger_balances) with the
// journal lines it stands for, and describes each ledger account and
// currency where the two differ or one is missing. The trigger that keeps
// them moves both in one statement, so any line here means the database
// was edited around it.
func (s *Store) BalanceDrift(ctx context.Context) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, `
	WITH want AS (
	  SELECT l.ledger_account_id AS la, l.currency AS cur, SUM(l.amount) AS amount, COUNT(*) AS lines,
	         SUM(CASE WHEN e.kind = 'txn' THEN 1 WHEN e.kind = 'reversal' AND o.kind = 'txn' THEN -1 ELSE 0 END) AS live
	  FROM journal_lines l
	  LEFT JOIN journal_entries e ON e.id = l.entry_id
	  LEFT JOIN journal_entries o ON o.id = e.reverses
	  GROUP BY l.ledger_account_id, l.currency)
	SELECT COALESCE(w.la, b.ledger_account_id), COALESCE(w.cur, b.currency), COALESCE(la.business_id, '?'), COALESCE(la.code, '?'),
	       w.la IS NOT NULL, b.ledger_account_id IS NOT NULL,
	       COALESCE(w.amount, 0), COALESCE(w.lines, 0), COALESCE(w.live, 0),
	       COALESCE(b.amount, 0), COALESCE(b.lines, 0), COALESCE(b.live_txns, 0)
	FROM want w FULL OUTER JOIN ledger_balances b ON b.ledger_account_id = w.la AND b.currency = w.cur
	LEFT JOIN ledger_accounts la ON la.id = COALESCE(w.la, b.ledger_account_id)
	WHERE w.la IS NULL OR b.ledger_account_id IS NULL
	   OR w.amount != b.amount OR w.lines != b.lines OR w.live != b.live_txns
	ORDER BY 1, 2`)
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id int64
		var cur, biz, code string
		var hasLines, hasBalance bool
		var wantAmount, wantLines, wantLive, amount, lines, live int64
		if err := rows.Scan(&id, &cur, &biz, &code, &hasLines, &hasBalance, &wantAmount, &wantLines, &wantLive, &amount, &lines, &live); err != nil {
			return nil, Classify(err)
		}
		what := fmt.Sprintf("ledger account %d (%s %s, %s)", id, biz, code, cur)
		switch {
		case !hasBalance:
			out = append(out, fmt.Sprintf("%s has %d lines summing to %d and no running balance", what, wantLines, wantAmount))
		case !hasLines:
			out = append(out, fmt.Sprintf("%s has a running balance of %d over %d lines and no lines", what, amount, lines))
		default:
			out = append(out, fmt.Sprintf("%s: running balance %d over %d lines (%d live transactions), the lines say %d over %d (%d live)",
				what, amount, lines, live, wantAmount, wantLines, wantLive))
		}
	}
	return out, Classify(rows.Err())
}

// PostingState is what the bank said about a transaction and what bankfeed
// believes it posted for it.
type PostingState struct {
	TransactionID  string
	PlaidAccountID string
	Kind           ledger.Kind // "" when the account is not posted
	Pending        bool
	Removed        bool
	Amount         int64
	LiveEntryID    string
	DuplicateOf    string // a successor's transaction matched at re-link
}

// PostingStates lists every bank transaction with its posting bookkeeping.
func (s *Store) PostingStates(ctx context.Context) ([]PostingState, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT b.transaction_id, a.plaid_account_id, COALESCE(a.kind,''), b.pending, b.removed,
		b.amount, COALESCE(b.live_entry_id,''), COALESCE(b.duplicate_of,'') FROM bank_transactions b JOIN accounts a ON a.id = b.account_id ORDER BY b.id`)
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	var out []PostingState
	for rows.Next() {
		var p PostingState
		var kind string
		if err := rows.Scan(&p.TransactionID, &p.PlaidAccountID, &kind, &p.Pending, &p.Removed, &p.Amount, &p.LiveEntryID, &p.DuplicateOf); err != nil {
			return nil, Classify(err)
		}
		p.Kind = ledger.Kind(kind)
		out = append(out, p)
	}
	return out, Classify(rows.Err())
}

// AppliedUpdate is a sync update that reached the ledger.
type AppliedUpdate struct {
	ID           int64
	TokenID      int64
	BusinessID   string
	CursorBefore string
	Kind         string // KindProcessor or KindItem: how its pages are shaped
	AppliedAt    time.Time
	// FirstEntry is the rowid of the first journal entry the update posted,
	// 0 when it posted none: commit order where two commit times tie.
	FirstEntry int64
}

// AppliedUpdates lists the applied sync updates in id order.
func (s *Store) AppliedUpdates(ctx context.Context) ([]AppliedUpdate, error) {
	// One grouped pass finds each update's first entry: journal_entries has
	// no index on update_id, and a lookup per update would scan it per update.
	rows, err := s.rdb.QueryContext(ctx, `SELECT u.id, u.token_id, t.business_id, u.cursor_before, t.kind, COALESCE(u.finished_at,''), COALESCE(f.first, 0)
		FROM sync_updates u JOIN tokens t ON t.id = u.token_id
		LEFT JOIN (SELECT update_id, MIN(rowid) AS first FROM journal_entries WHERE update_id IS NOT NULL GROUP BY update_id) f ON f.update_id = u.id
		WHERE u.state = 'applied' ORDER BY u.id`)
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	var out []AppliedUpdate
	for rows.Next() {
		var u AppliedUpdate
		var at string
		if err := rows.Scan(&u.ID, &u.TokenID, &u.BusinessID, &u.CursorBefore, &u.Kind, &at, &u.FirstEntry); err != nil {
			return nil, Classify(err)
		}
		if u.AppliedAt, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("sync update %d: applied at %q: %w", u.ID, at, err)
		}
		out = append(out, u)
	}
	return out, Classify(rows.Err())
}

// Anchor is an opening entry posted by the balances job (not by a sync
// update), with the balance snapshot the account was anchored to.
type Anchor struct {
	EntryID    string
	BusinessID string
	AccountID  int64
	SnapshotID int64  // 0 when the account records none
	Current    *int64 // the snapshot's reported current balance
	PostedAt   time.Time
	Entry      int64 // the entry's rowid: commit order where two commit times tie
}

// Anchors lists the openings posted outside sync updates, in journal order.
func (s *Store) Anchors(ctx context.Context) ([]Anchor, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT e.id, e.business_id, e.account_id, COALESCE(a.anchor_snapshot,0), bs.current, e.created_at, e.rowid
		FROM journal_entries e JOIN accounts a ON a.id = e.account_id LEFT JOIN balance_snapshots bs ON bs.id = a.anchor_snapshot
		WHERE e.kind = 'opening' AND e.update_id IS NULL ORDER BY e.rowid`)
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	var out []Anchor
	for rows.Next() {
		var a Anchor
		var cur sql.NullInt64
		var at string
		if err := rows.Scan(&a.EntryID, &a.BusinessID, &a.AccountID, &a.SnapshotID, &cur, &at, &a.Entry); err != nil {
			return nil, Classify(err)
		}
		if a.PostedAt, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("entry %s: created at %q: %w", a.EntryID, at, err)
		}
		a.Current = intPtr(cur)
		out = append(out, a)
	}
	return out, Classify(rows.Err())
}

// UpdatePages streams a logged update's pages in order, checking each
// against its checksum, outside any write transaction: a rebuild reads
// the log of one database while writing another.
func (s *Store) UpdatePages(ctx context.Context, updateID int64, fn func(PageMeta, []byte) error) error {
	rows, err := s.rdb.QueryContext(ctx, pagesSQL, updateID)
	if err != nil {
		return Classify(err)
	}
	return Classify(scanPages(rows, updateID, fn))
}

// NewReplica creates a database at path (which must not exist yet) holding
// only what a rebuild needs before replaying anything: the businesses,
// the tokens, the stored currency exponents and the accounts of s with the same ids, the accounts stripped
// of their opening state because openings are replayed, not copied. The
// replica shares s's token key, so its tokens stay readable.
func (s *Store) NewReplica(ctx context.Context, path string) (*Store, error) {
	// Open refuses to start without a key; the replica's tokens are copied
	// as ciphertext, so the key that matters is s's, set right after.
	throwaway := make([]byte, 32)
	if _, err := rand.Read(throwaway); err != nil {
		return nil, err
	}
	r, err := Open(ctx, path, throwaway, Options{})
	if err != nil {
		return nil, err
	}
	r.crypt = s.crypt
	if err := r.copyRoots(ctx, s.path); err != nil {
		r.Close()
		return nil, fmt.Errorf("replica of %s: %w", s.path, err)
	}
	return r, nil
}

// copyRoots copies through ATTACH inside one transaction, so the rows come
// from one snapshot of the source even while it is being written.
func (s *Store) copyRoots(ctx context.Context, srcPath string) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return Classify(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "ATTACH DATABASE ? AS src", srcPath); err != nil {
		return Classify(err)
	}
	// DETACH must run whatever happens: the connection goes back to the pool.
	defer conn.ExecContext(context.WithoutCancel(ctx), "DETACH DATABASE src")
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return Classify(err)
	}
	for _, q := range []string{
		`INSERT INTO main.businesses SELECT * FROM src.businesses`,
		// Which account succeeds which is copied, not derived: it was
		// decided from the token statuses and institution at the time,
		// which the page log does not hold. Given it, the pages decide
		// every entry (and the match) as the sync did.
		`INSERT INTO main.accounts(id, business_id, plaid_account_id, name, official_name, mask, type, subtype, currency, currency_exponent, kind,
		   institution_id, replaces, book_account_id, match_through, created_at, updated_at)
		 SELECT id, business_id, plaid_account_id, name, official_name, mask, type, subtype, currency, currency_exponent, kind,
		   institution_id, replaces, book_account_id, match_through, created_at, updated_at FROM src.accounts`,
		`INSERT INTO main.tokens SELECT * FROM src.tokens`,
		`INSERT INTO main.currencies SELECT * FROM src.currencies`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			tx.Rollback()
			return Classify(err)
		}
	}
	return Classify(tx.Commit())
}
