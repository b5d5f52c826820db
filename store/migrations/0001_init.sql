-- bankfeed schema, version 1. Money is INTEGER minor units with its
-- currency beside it so that SUM is exact. Journal, raw pages and balance
-- snapshots are append-only and defend themselves with triggers.

CREATE TABLE businesses (
  id          TEXT PRIMARY KEY,
  external_id TEXT,
  legal_name  TEXT,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE accounts (
  id               INTEGER PRIMARY KEY,
  business_id      TEXT NOT NULL REFERENCES businesses(id),
  plaid_account_id TEXT NOT NULL UNIQUE,
  name             TEXT NOT NULL DEFAULT '',
  official_name    TEXT,
  mask             TEXT,
  type             TEXT NOT NULL,
  subtype          TEXT,
  currency         TEXT NOT NULL,
  kind             TEXT CHECK (kind IN ('asset', 'liability')),
  opening_version  INTEGER NOT NULL DEFAULT 0,
  opening_date     TEXT,
  opening_minor    INTEGER,
  anchor_snapshot  INTEGER,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL
) STRICT;

CREATE TABLE tokens (
  id              INTEGER PRIMARY KEY,
  business_id     TEXT NOT NULL REFERENCES businesses(id),
  fingerprint     BLOB NOT NULL UNIQUE,
  ciphertext      BLOB NOT NULL,
  hint            TEXT NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('active', 'needs_refresh', 'removed')),
  reason          TEXT,
  flagged_at      TEXT,
  flag_request_id TEXT,
  next_probe_at   TEXT,
  cursor          TEXT NOT NULL DEFAULT '',
  account_id      INTEGER REFERENCES accounts(id),
  last_synced_at  TEXT,
  last_error_code TEXT,
  last_error_at   TEXT,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  removed_at      TEXT
) STRICT;
CREATE INDEX tokens_business ON tokens(business_id);
CREATE INDEX tokens_account ON tokens(account_id);

CREATE TABLE ledger_accounts (
  id          INTEGER PRIMARY KEY,
  business_id TEXT NOT NULL REFERENCES businesses(id),
  code        TEXT NOT NULL,
  kind        TEXT NOT NULL,
  currency    TEXT NOT NULL,
  account_id  INTEGER REFERENCES accounts(id),
  UNIQUE (business_id, code, currency)
) STRICT;

CREATE TABLE sync_updates (
  id            INTEGER PRIMARY KEY,
  token_id      INTEGER NOT NULL REFERENCES tokens(id),
  run_id        TEXT NOT NULL,
  cursor_before TEXT NOT NULL,
  cursor_after  TEXT,
  state         TEXT NOT NULL CHECK (state IN ('open', 'applied', 'abandoned')),
  pages         INTEGER NOT NULL DEFAULT 0,
  reason        TEXT,
  started_at    TEXT NOT NULL,
  finished_at   TEXT
) STRICT;
CREATE INDEX sync_updates_token ON sync_updates(token_id, state);

CREATE TABLE sync_pages (
  update_id      INTEGER NOT NULL REFERENCES sync_updates(id),
  seq            INTEGER NOT NULL,
  cursor_before  TEXT NOT NULL,
  cursor_after   TEXT NOT NULL,
  has_more       INTEGER NOT NULL,
  request_id     TEXT NOT NULL,
  added          INTEGER NOT NULL,
  modified       INTEGER NOT NULL,
  removed        INTEGER NOT NULL,
  payload_sha256 BLOB NOT NULL,
  payload        BLOB NOT NULL,
  received_at    TEXT NOT NULL,
  PRIMARY KEY (update_id, seq)
) STRICT;

CREATE TABLE bank_transactions (
  id                     INTEGER PRIMARY KEY,
  account_id             INTEGER NOT NULL REFERENCES accounts(id),
  transaction_id         TEXT NOT NULL UNIQUE,
  pending                INTEGER NOT NULL,
  pending_transaction_id TEXT,
  amount                 INTEGER NOT NULL,
  currency               TEXT NOT NULL,
  date                   TEXT NOT NULL,
  authorized_date        TEXT,
  datetime               TEXT,
  authorized_datetime    TEXT,
  name                   TEXT NOT NULL,
  merchant_name          TEXT,
  original_description   TEXT,
  pfc_primary            TEXT,
  pfc_detailed           TEXT,
  pfc_confidence         TEXT,
  category               TEXT,
  category_id            TEXT,
  payment_channel        TEXT,
  check_number           TEXT,
  transaction_code       TEXT,
  merchant_entity_id     TEXT,
  website                TEXT,
  logo_url               TEXT,
  account_owner          TEXT,
  city                   TEXT,
  region                 TEXT,
  country                TEXT,
  postal_code            TEXT,
  removed                INTEGER NOT NULL DEFAULT 0,
  revision               INTEGER NOT NULL DEFAULT 1,
  entry_version          INTEGER NOT NULL DEFAULT 0,
  live_entry_id          TEXT,
  first_update_id        INTEGER NOT NULL,
  last_update_id         INTEGER NOT NULL,
  first_seen_at          TEXT NOT NULL,
  updated_at             TEXT NOT NULL
) STRICT;
CREATE INDEX bank_transactions_account ON bank_transactions(account_id, removed, pending);
CREATE INDEX bank_transactions_pending_link ON bank_transactions(pending_transaction_id) WHERE pending_transaction_id IS NOT NULL;

CREATE TABLE journal_entries (
  id             TEXT PRIMARY KEY,
  business_id    TEXT NOT NULL REFERENCES businesses(id),
  account_id     INTEGER REFERENCES accounts(id),
  kind           TEXT NOT NULL CHECK (kind IN ('txn', 'reversal', 'opening')),
  date           TEXT NOT NULL,
  transaction_id TEXT,
  version        INTEGER NOT NULL,
  reverses       TEXT UNIQUE REFERENCES journal_entries(id),
  update_id      INTEGER,
  created_at     TEXT NOT NULL
) STRICT;
CREATE INDEX journal_entries_account ON journal_entries(account_id, kind);

CREATE TABLE journal_lines (
  entry_id          TEXT NOT NULL REFERENCES journal_entries(id),
  line_no           INTEGER NOT NULL,
  ledger_account_id INTEGER NOT NULL REFERENCES ledger_accounts(id),
  currency          TEXT NOT NULL,
  amount            INTEGER NOT NULL,
  PRIMARY KEY (entry_id, line_no)
) STRICT, WITHOUT ROWID;
CREATE INDEX journal_lines_ledger_account ON journal_lines(ledger_account_id);

CREATE TABLE balance_snapshots (
  id          INTEGER PRIMARY KEY,
  account_id  INTEGER NOT NULL REFERENCES accounts(id),
  token_id    INTEGER REFERENCES tokens(id),
  run_id      TEXT NOT NULL,
  currency    TEXT NOT NULL,
  current     INTEGER,
  available   INTEGER,
  credit_limit INTEGER,
  request_id  TEXT NOT NULL,
  taken_at    TEXT NOT NULL
) STRICT;
CREATE INDEX balance_snapshots_account ON balance_snapshots(account_id, id);

CREATE TABLE job_runs (
  id          TEXT PRIMARY KEY,
  job         TEXT NOT NULL,
  started_at  TEXT NOT NULL,
  finished_at TEXT,
  status      TEXT NOT NULL,
  counts      TEXT NOT NULL DEFAULT '{}',
  error       TEXT
) STRICT;
CREATE INDEX job_runs_job ON job_runs(job, started_at);

CREATE TRIGGER journal_entries_no_update BEFORE UPDATE ON journal_entries
BEGIN SELECT RAISE(ABORT, 'journal_entries is append-only: post a reversal instead'); END;
CREATE TRIGGER journal_entries_no_delete BEFORE DELETE ON journal_entries
BEGIN SELECT RAISE(ABORT, 'journal_entries is append-only: post a reversal instead'); END;
CREATE TRIGGER journal_lines_no_update BEFORE UPDATE ON journal_lines
BEGIN SELECT RAISE(ABORT, 'journal_lines is append-only: post a reversal instead'); END;
CREATE TRIGGER journal_lines_no_delete BEFORE DELETE ON journal_lines
BEGIN SELECT RAISE(ABORT, 'journal_lines is append-only: post a reversal instead'); END;
CREATE TRIGGER sync_pages_no_update BEFORE UPDATE ON sync_pages
BEGIN SELECT RAISE(ABORT, 'sync_pages is append-only'); END;
CREATE TRIGGER sync_pages_no_delete BEFORE DELETE ON sync_pages
BEGIN SELECT RAISE(ABORT, 'sync_pages is append-only'); END;
CREATE TRIGGER balance_snapshots_no_update BEFORE UPDATE ON balance_snapshots
BEGIN SELECT RAISE(ABORT, 'balance_snapshots is append-only'); END;
CREATE TRIGGER balance_snapshots_no_delete BEFORE DELETE ON balance_snapshots
BEGIN SELECT RAISE(ABORT, 'balance_snapshots is append-only'); END;
