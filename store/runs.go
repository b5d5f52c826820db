package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

const runColumns = `id, job, started_at, finished_at, status, counts, error, detail`

// runsSQL walks the run history newest first, by index.
const runsSQL = `SELECT ` + runColumns + ` FROM job_runs ORDER BY started_at DESC, rowid DESC`

const oneRunSQL = `SELECT ` + runColumns + ` FROM job_runs WHERE id = ?`

// runReportSQL finds the files a reconcile run wrote (report_runs.run_id
// is the job run's id).
const runReportSQL = `SELECT files FROM report_runs WHERE run_id = ?`

func scanRun(sc interface{ Scan(...any) error }) (JobRun, error) {
	var r JobRun
	var started, counts, detail string
	var finished, errText sql.NullString
	if err := sc.Scan(&r.ID, &r.Job, &started, &finished, &r.Status, &counts, &errText, &detail); err != nil {
		return r, err
	}
	var err error
	if r.StartedAt, err = parseTime(started); err != nil {
		return r, fmt.Errorf("%w: run %s: started_at %q", ErrCorrupt, r.ID, started)
	}
	r.FinishedAt = parseTS(finished)
	r.Error = errText.String
	if err := json.Unmarshal([]byte(counts), &r.Counts); err != nil {
		return r, fmt.Errorf("%w: run %s: counts: %v", ErrCorrupt, r.ID, err)
	}
	if err := json.Unmarshal([]byte(detail), &r.Detail); err != nil {
		return r, fmt.Errorf("%w: run %s: detail: %v", ErrCorrupt, r.ID, err)
	}
	return r, nil
}

// EachRun calls fn for every recorded job run, newest first, one row at a
// time: the history is never held in memory.
func (s *Store) EachRun(ctx context.Context, fn func(JobRun) error) error {
	rows, err := s.rdb.QueryContext(ctx, runsSQL)
	if err != nil {
		return Classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return Classify(err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return Classify(rows.Err())
}

// Run returns one job run with the report files it wrote (none for a job
// other than reconcile); ErrNotFound for an unknown id.
func (s *Store) Run(ctx context.Context, id string) (JobRun, []string, error) {
	r, err := scanRun(s.rdb.QueryRowContext(ctx, oneRunSQL, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, nil, ErrNotFound
	}
	if err != nil {
		return r, nil, Classify(err)
	}
	var files []string
	var fb string
	switch err := s.rdb.QueryRowContext(ctx, runReportSQL, id).Scan(&fb); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return r, nil, Classify(err)
	default:
		if err := json.Unmarshal([]byte(fb), &files); err != nil {
			return r, nil, fmt.Errorf("%w: report files of run %s: %v", ErrCorrupt, id, err)
		}
	}
	return r, files, nil
}
