package store

import (
	"context"
	"database/sql"
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
