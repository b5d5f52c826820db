package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// History states of a token, following Plaid's transactions_update_status.
const (
	HistoryNotReady = "not_ready"
	HistoryInitial  = "initial"
	HistoryComplete = "complete"
)

// SetNotReady records that Plaid has no transactions for a token yet. Only
// a token that never completed a sync can be not ready: nothing else of it
// changes (no cursor, no account, no ledger).
func (s *Store) SetNotReady(ctx context.Context, tokenID int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE tokens SET history = 'not_ready' WHERE id = ? AND cursor = '' AND history IS NOT 'not_ready'`, tokenID)
		return err
	})
}

// SetHistory records the token's history state as of the update being
// applied.
func (t *Tx) SetHistory(tokenID int64, state string) error {
	_, err := t.exec(`UPDATE tokens SET history = ? WHERE id = ? AND history IS NOT ?`, state, tokenID, state)
	return err
}

// MarkInitial records when the account first reached
// INITIAL_UPDATE_COMPLETE; later calls keep the first time.
func (t *Tx) MarkInitial(accountID int64) error {
	_, err := t.exec(`UPDATE accounts SET initial_at = ? WHERE id = ? AND initial_at IS NULL`, t.now, accountID)
	return err
}

// SetProvisional marks whether the account's live opening was anchored
// before its history was complete.
func (t *Tx) SetProvisional(accountID int64, provisional bool) error {
	_, err := t.exec(`UPDATE accounts SET anchor_provisional = ? WHERE id = ?`, provisional, accountID)
	return err
}

// ClaimRealtime reserves a token's one real-time balance call of now's UTC
// day, before the call is made: a crash after the call cannot lead to a
// second paid call that day. It reports false when the day's call is
// already claimed or the token is no longer active.
func (s *Store) ClaimRealtime(ctx context.Context, tokenID int64, now time.Time) (bool, error) {
	var n int64
	day := now.UTC().Format("2006-01-02")
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET realtime_at = ? WHERE id = ? AND status = 'active'
			AND (realtime_at IS NULL OR substr(realtime_at, 1, 10) < ?)`, ts(now), tokenID, day)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, err
}

// MisanchoredOpenings describes each account whose opening was anchored by
// a sync update (schema version 7 and later) on a snapshot that is not a
// sync snapshot of that account: a real-time balance can hold transactions
// sync has not delivered yet, and an opening on it is a permanent break.
// Openings the balances job anchored in older databases are left alone.
func (s *Store) MisanchoredOpenings(ctx context.Context) ([]string, error) {
	// A book may be anchored on a sync snapshot of its re-linked successor:
	// the same real account (see Account.Book).
	rows, err := s.rdb.QueryContext(ctx, `SELECT a.plaid_account_id, a.anchor_snapshot, COALESCE(bs.source, ''), COALESCE(sa.book, 0) = a.id
		FROM accounts a
		JOIN journal_entries e ON e.account_id = a.id AND e.kind = 'opening' AND e.version = 1 AND e.update_id IS NOT NULL
		LEFT JOIN balance_snapshots bs ON bs.id = a.anchor_snapshot
		LEFT JOIN (SELECT id, COALESCE(book_account_id, id) AS book FROM accounts) sa ON sa.id = bs.account_id
		WHERE a.opening_version > 0 AND (bs.id IS NULL OR bs.source != 'sync' OR sa.book IS NOT a.id)
		ORDER BY a.business_id, a.plaid_account_id`)
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var pid, source string
		var snap sql.NullInt64
		var own bool
		if err := rows.Scan(&pid, &snap, &source, &own); err != nil {
			return nil, Classify(err)
		}
		switch {
		case !snap.Valid || source == "":
			out = append(out, fmt.Sprintf("account %s was anchored by a sync but records no snapshot it was anchored on", pid))
		case !own:
			out = append(out, fmt.Sprintf("account %s is anchored on snapshot %d, which belongs to another account", pid, snap.Int64))
		default:
			out = append(out, fmt.Sprintf("account %s is anchored on snapshot %d, a %s balance; only a sync's own balances are consistent with its transactions", pid, snap.Int64, source))
		}
	}
	return out, Classify(rows.Err())
}
