package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// RunRow is one job run as the metrics read it: Seq is its rowid, which
// only grows, so a reader can ask for what came after the rows it has.
type RunRow struct {
	Seq        int64
	Job        string
	Status     string
	StartedAt  time.Time
	FinishedAt *time.Time // nil while the run is going (or died unrecorded)
}

const runsAfterSQL = `SELECT rowid, job, status, started_at, finished_at FROM job_runs WHERE rowid > ? ORDER BY rowid`

const runsBySeqSQL = `SELECT rowid, job, status, started_at, finished_at FROM job_runs
		WHERE rowid IN (SELECT value FROM json_each(?)) ORDER BY rowid`

// RunsAfter returns the runs recorded after seq, plus the runs named in
// again (runs that were unfinished when last read), in rowid order. A
// reader that keeps its totals can so follow the history at the cost of
// what changed, however long it is.
func (s *Store) RunsAfter(ctx context.Context, seq int64, again []int64) ([]RunRow, error) {
	var out []RunRow
	err := s.Read(ctx, func(r *ReadTx) error {
		if len(again) > 0 {
			ids, _ := json.Marshal(again)
			if err := queryRuns(ctx, r.tx, runsBySeqSQL, string(ids), &out); err != nil {
				return err
			}
		}
		return queryRuns(ctx, r.tx, runsAfterSQL, seq, &out)
	})
	return out, err
}

func queryRuns(ctx context.Context, tx *sql.Tx, q string, arg any, out *[]RunRow) error {
	rows, err := tx.QueryContext(ctx, q, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r RunRow
		var started string
		var finished sql.NullString
		if err := rows.Scan(&r.Seq, &r.Job, &r.Status, &started, &finished); err != nil {
			return err
		}
		t, err := parseTime(started)
		if err != nil {
			return fmt.Errorf("%w: job run %d: started_at %q", ErrCorrupt, r.Seq, started)
		}
		r.StartedAt, r.FinishedAt = t, parseTS(finished)
		*out = append(*out, r)
	}
	return rows.Err()
}

// LatestReport is the summary of the newest reconciliation report.
type LatestReport struct {
	Date        string
	GeneratedAt time.Time
	Counts      map[string]int // the report's summary: accounts, ok, timing, break, ...
}

// The newest report date, then its newest run: a report re-made later for
// an older date does not hide tonight's.
const latestReportSQL = `SELECT report_date, generated_at, counts FROM report_runs
		WHERE report_date = (SELECT max(report_date) FROM report_runs) ORDER BY generated_at DESC, rowid DESC LIMIT 1`

// LatestReportSummary returns the newest reconciliation's summary, nil
// when none was ever made.
func (s *Store) LatestReportSummary(ctx context.Context) (*LatestReport, error) {
	var rep LatestReport
	var gen, counts string
	err := s.rdb.QueryRowContext(ctx, latestReportSQL).Scan(&rep.Date, &gen, &counts)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, Classify(err)
	}
	if t := parseTS(sql.NullString{String: gen, Valid: true}); t != nil {
		rep.GeneratedAt = *t
	}
	if err := json.Unmarshal([]byte(counts), &rep.Counts); err != nil {
		return nil, fmt.Errorf("%w: report of %s: counts: %v", ErrCorrupt, rep.Date, err)
	}
	return &rep, nil
}

// Ready checks that the database file still opens, on a connection of its
// own (the pools keep theirs open, and would not notice a file replaced or
// removed under them), and that its schema is the one this build writes.
// Its messages name no path: /readyz shows them to anyone who can reach it.
func (s *Store) Ready(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	newest := ms[len(ms)-1].version
	db, err := sql.Open("sqlite3", dsn(s.path, Options{BusyTimeout: 2 * time.Second}, false))
	if err != nil {
		return err
	}
	defer db.Close()
	var version, objects int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("the database does not open: %w", Classify(err))
	}
	// The header alone can look right: read the schema's pages too.
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&objects); err != nil {
		return fmt.Errorf("the database does not read: %w", Classify(err))
	}
	if version != newest {
		return fmt.Errorf("the database is at schema version %d, this bankfeed writes version %d (restart bankfeed to migrate it, or run the bankfeed that matches it)",
			version, newest)
	}
	return nil
}
