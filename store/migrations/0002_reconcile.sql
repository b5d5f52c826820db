-- bankfeed schema, version 2: the nightly reconciliation. Both tables are
-- append-only: a rerun for the same date adds a newer run, and the report
-- of a date is rendered from that date's newest run.

CREATE TABLE report_runs (
  run_id       TEXT PRIMARY KEY,
  report_date  TEXT NOT NULL,              -- YYYY-MM-DD in the report's time zone
  generated_at TEXT NOT NULL,              -- RFC 3339 UTC
  counts       TEXT NOT NULL,              -- JSON: the summary counts
  dir          TEXT NOT NULL DEFAULT '',   -- where the files were written ('' = not written)
  files        TEXT NOT NULL DEFAULT '[]', -- JSON array of paths
  valid        INTEGER NOT NULL CHECK (valid IN (0, 1)),
  detail       TEXT NOT NULL               -- the full report JSON, re-rendered for a past date
) STRICT;
CREATE INDEX report_runs_date ON report_runs(report_date, generated_at);

CREATE TABLE reconciliations (
  id            INTEGER PRIMARY KEY,
  run_id        TEXT NOT NULL REFERENCES report_runs(run_id),
  report_date   TEXT NOT NULL,
  account_id    INTEGER NOT NULL REFERENCES accounts(id),
  snapshot_id   INTEGER REFERENCES balance_snapshots(id),
  currency      TEXT NOT NULL,
  opening       INTEGER NOT NULL,
  expected      INTEGER NOT NULL,           -- natural sign, minor units
  reported      INTEGER,                    -- NULL: no reported current balance
  difference    INTEGER,                    -- reported - expected; NULL when not computable
  pending_total INTEGER NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('ok', 'timing', 'break', 'stale', 'no_anchor', 'needs_refresh')),
  nonzero_since TEXT,                       -- start of the current non-zero streak
  clean_at      TEXT,                       -- when the ledger last agreed with the bank (candidate window start)
  generated_at  TEXT NOT NULL,
  UNIQUE (run_id, account_id, currency)
) STRICT;
CREATE INDEX reconciliations_account ON reconciliations(account_id, currency, id);

-- The newest snapshot with a current balance, per account, in one seek.
CREATE INDEX balance_snapshots_current ON balance_snapshots(account_id, id) WHERE current IS NOT NULL;
-- Candidate transactions: what an account recorded in a time window.
CREATE INDEX journal_entries_account_created ON journal_entries(account_id, created_at);
CREATE INDEX bank_transactions_account_updated ON bank_transactions(account_id, updated_at);
CREATE INDEX journal_entries_transaction ON journal_entries(transaction_id) WHERE transaction_id IS NOT NULL;

CREATE TRIGGER reconciliations_no_update BEFORE UPDATE ON reconciliations
BEGIN SELECT RAISE(ABORT, 'reconciliations is append-only'); END;
CREATE TRIGGER reconciliations_no_delete BEFORE DELETE ON reconciliations
BEGIN SELECT RAISE(ABORT, 'reconciliations is append-only'); END;
CREATE TRIGGER report_runs_no_update BEFORE UPDATE ON report_runs
BEGIN SELECT RAISE(ABORT, 'report_runs is append-only'); END;
CREATE TRIGGER report_runs_no_delete BEFORE DELETE ON report_runs
BEGIN SELECT RAISE(ABORT, 'report_runs is append-only'); END;
