-- bankfeed schema: the notification outbox (issue 15, "be told").
--
-- An event row is written in the same transaction as the fact it tells
-- (a token flagged or recovered, a break, a failed run), so a crash can
-- lose neither one without the other; a deliverer POSTs it afterwards, at
-- least once. body is the exact JSON sent and signed, so every retry of
-- one event carries the same bytes under the same id (webhook-id).
CREATE TABLE outbox (
  seq             INTEGER PRIMARY KEY,
  id              TEXT NOT NULL UNIQUE,
  type            TEXT NOT NULL CHECK (type IN ('token.needs_refresh', 'token.recovered', 'reconciliation.break', 'run.failed')),
  body            TEXT NOT NULL,
  -- once-only events (a break per account, currency and report date): a
  -- second insert with the same key is ignored.
  dedup           TEXT UNIQUE,
  -- pending: due at next_attempt_at; delivered: a 2xx acknowledged it;
  -- failed: given up after the retry window; skipped: no BANKFEED_NOTIFY_URL
  -- was set where it would have been delivered.
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'skipped')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  created_at      TEXT NOT NULL,
  next_attempt_at TEXT,
  last_attempt_at TEXT,
  last_error      TEXT,
  delivered_at    TEXT
) STRICT;
-- The deliverer's claim and its "when is the next one due".
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
-- Pruning finished rows by age, and listing by status.
CREATE INDEX outbox_status ON outbox(status, created_at);
