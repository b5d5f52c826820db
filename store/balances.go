package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Snapshot sources: where a reported balance came from.
const (
	// SourceSync is the account.balances of the last page of a complete
	// sync: as of Plaid's last pull, consistent with the transactions.
	SourceSync = "sync"
	// SourceRealtime is a paid /processor/balance/get: the bank now, which
	// may include transactions sync delivers only after the next pull.
	SourceRealtime = "realtime"
)

// Snapshot is one reported balance, kept forever.
type Snapshot struct {
	ID        int64
	AccountID int64
	TokenID   int64
	RunID     string
	Currency  string
	Current   *int64
	Available *int64
	Limit     *int64
	RequestID string
	Source    string // SourceSync or SourceRealtime
	// TakenAt is as of when the balance holds: Plaid's
	// last_updated_datetime when it gave one, else when it was fetched.
	TakenAt     time.Time
	LastUpdated *time.Time // balances.last_updated_datetime, nil when absent
}

func nullInt(p *int64) sql.NullInt64 {
	if p == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: *p, Valid: true}
}

func intPtr(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	v := n.Int64
	return &v
}

// AddSnapshot appends a balance snapshot.
func (t *Tx) AddSnapshot(s *Snapshot) error {
	var tok sql.NullInt64
	if s.TokenID != 0 {
		tok = sql.NullInt64{Int64: s.TokenID, Valid: true}
	}
	if s.Source != SourceSync && s.Source != SourceRealtime {
		return fmt.Errorf("snapshot of account %d: source %q is neither %q nor %q", s.AccountID, s.Source, SourceSync, SourceRealtime)
	}
	var upd sql.NullString
	if s.LastUpdated != nil {
		upd = nullStr(ts(*s.LastUpdated))
	}
	res, err := t.exec(`INSERT INTO balance_snapshots(account_id, token_id, run_id, currency, current, available, credit_limit, request_id,
		taken_at, source, last_updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)`, s.AccountID, tok, s.RunID, s.Currency, nullInt(s.Current),
		nullInt(s.Available), nullInt(s.Limit), s.RequestID, ts(s.TakenAt), s.Source, upd)
	if err != nil {
		return err
	}
	s.ID, err = res.LastInsertId()
	return err
}

// JobRun is one run of a job, as recorded.
type JobRun struct {
	ID         string
	Job        string
	StartedAt  time.Time
	FinishedAt *time.Time
	Status     string
	Counts     map[string]int
	Error      string
	Detail     RunDetail
}

// Run outcomes (job_runs.status). A run still going is StatusRunning.
const (
	RunRunning     = "running"
	RunOK          = "ok"
	RunPartial     = "partial" // some tokens failed, the others were synced
	RunFailed      = "failed"
	RunInterrupted = "interrupted"
)

// RunDetail is what a run did beyond its counts: the tokens that failed or
// were flagged, by hint (an Item by its item_id), never by token.
type RunDetail struct {
	Tokens []RunToken `json:"tokens,omitempty"`
}

// RunToken is one token's trouble in a run.
type RunToken struct {
	BusinessID string `json:"business_id"`
	TokenHint  string `json:"token_hint,omitempty"`
	ItemID     string `json:"item_id,omitempty"`
	Outcome    string `json:"outcome"`
	ErrorCode  string `json:"error_code,omitempty"`
	Error      string `json:"error,omitempty"`
}

// interruptStaleSQL marks the runs that never finished. StartRun runs under
// the run lock, so no other run is going: they died with their process.
const interruptStaleSQL = `UPDATE job_runs SET status = 'interrupted' WHERE finished_at IS NULL AND started_at <= ? AND status = 'running'`

// StartRun records that a job began, and that any run left unfinished by
// a killed process was interrupted. The caller holds the run lock.
func (s *Store) StartRun(ctx context.Context, id, job string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		now := ts(s.Now())
		if _, err := tx.ExecContext(ctx, interruptStaleSQL, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO job_runs(id, job, started_at, status) VALUES (?,?,?,'running')`, id, job, now)
		return err
	})
}

// FinishRun records how a job ended, in one transaction.
func (s *Store) FinishRun(ctx context.Context, id, status string, counts map[string]int, errText string, detail RunDetail) error {
	b, _ := json.Marshal(counts)
	d, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	defer s.signalOutbox()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE job_runs SET finished_at = ?, status = ?, counts = ?, error = ?, detail = ? WHERE id = ?`,
			ts(s.Now()), status, string(b), nullStr(errText), string(d), id)
		if err != nil {
			return err
		}
		return s.runEnded(ctx, tx, id, status, errText)
	})
}

// runEnded raises run.failed, in FinishRun's transaction, for a run that
// failed.
func (s *Store) runEnded(ctx context.Context, tx *sql.Tx, id, status, errText string) error {
	if status != RunFailed {
		return nil
	}
	return s.runFailedEvent(ctx, tx, id, errText)
}

const lastRunSQL = `SELECT ` + runColumns + ` FROM job_runs
		WHERE job = ? AND finished_at IS NOT NULL ORDER BY started_at DESC LIMIT 1`

// LastRun returns the newest finished run of a job, if any.
func (s *Store) LastRun(ctx context.Context, job string) (*JobRun, error) {
	r, err := scanRun(s.rdb.QueryRowContext(ctx, lastRunSQL, job))
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, Classify(err)
	}
	return &r, nil
}
