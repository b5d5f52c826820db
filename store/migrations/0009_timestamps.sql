-- bankfeed schema, version 9: times that sort.
--
-- Every time the store writes is now UTC text of one fixed width,
-- 2006-01-02T15:04:05.000000Z (store.TimeLayout). RFC 3339 with trimmed
-- fractions, written until now, does not sort as text (…00Z sorts after
-- …00.5Z): time windows went through julianday(), which no index can
-- serve. The rows already stored are rewritten by Go right after this file
-- (store.rewriteTimes: SQLite's strftime keeps milliseconds only), with the
-- append-only tables' UPDATE triggers dropped and recreated around it.

-- The reconcile's candidates: what an account recorded in a time window
-- (journal entries created, bank transactions first seen or updated in
-- it), and the vanished holds since the last clean reconciliation. Both
-- were dropped in version 5 while the windows compared through julianday().
-- (IF NOT EXISTS: a file taken back to an older version by hand may keep them.)
CREATE INDEX IF NOT EXISTS journal_entries_account_created ON journal_entries(account_id, created_at);
CREATE INDEX IF NOT EXISTS bank_transactions_account_updated ON bank_transactions(account_id, updated_at);

-- Raw sync pages are stored compressed from now on (store/pages.go):
-- payload_codec says how a row's payload is stored, NULL for a page as
-- Plaid's client sent it (every row logged until now). payload_sha256
-- stays over the page as sent.
ALTER TABLE sync_pages ADD COLUMN payload_codec TEXT CHECK (payload_codec IN ('zstd'));

-- Indexes no statement uses (store.TestHotQueryPlans lists every index a
-- hot statement's plan uses, and fails on one that none does): each cost
-- a B-tree insert per row. journal_lines_ledger_account was a quarter of
-- the journal's size: the running balances (version 5) answer what it
-- served, and the suspense walk finds an entry's lines by its key.
-- balance_snapshots_current served the newest snapshot of any source; the
-- reconcile and accounts list now ask for one source, through
-- balance_snapshots_source (version 7).
DROP INDEX IF EXISTS journal_lines_ledger_account;
DROP INDEX IF EXISTS balance_snapshots_account;
DROP INDEX IF EXISTS balance_snapshots_current;
