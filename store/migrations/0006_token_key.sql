-- bankfeed schema, version 6: the token key's id, each account's
-- currency exponent, and one stored exponent per currency code.
--
-- token_key holds one row: the id (a keyed hash, never the key) of the key
-- every processor token is sealed with. Every seal and open checks it, so a
-- process still holding an old key after `tokens rotate-key` fails loudly
-- instead of writing tokens nobody can decrypt. The row is written by Go
-- after this file runs (the id needs the key: see store.recordKeyID).
CREATE TABLE token_key (
  one         INTEGER PRIMARY KEY CHECK (one = 1),
  key_id      TEXT NOT NULL,
  recorded_at TEXT NOT NULL
) STRICT;

-- An account's amounts are minor units of its currency: the exponent that
-- scaled them at ingestion is stored beside the account and every later
-- conversion uses it, so neither a second resolution rule nor an edit of
-- the currency table can rescale history. Existing accounts get the
-- exponent their newest raw sync page was converted with (the page log
-- records it); one with no page left is filled in by Go after this file.
ALTER TABLE accounts ADD COLUMN currency_exponent INTEGER CHECK (currency_exponent BETWEEN 0 AND 18);
UPDATE accounts SET currency_exponent = (
  SELECT json_extract(j, '$.account.currency.exponent') FROM (
    -- a page that is not JSON (none should be) is skipped, not fatal
    SELECT CASE WHEN json_valid(CAST(p.payload AS TEXT)) THEN CAST(p.payload AS TEXT) END AS j, u.id AS uid, p.seq AS seq
    FROM tokens t
    JOIN sync_updates u ON u.token_id = t.id
    JOIN sync_pages p ON p.update_id = u.id
    WHERE t.account_id = accounts.id)
  WHERE json_extract(j, '$.account.id') = accounts.plaid_account_id
    AND json_extract(j, '$.account.currency.code') = accounts.currency
  ORDER BY uid DESC, seq DESC
  LIMIT 1
);

-- One exponent per currency code, whoever brings it: an account or a
-- transaction in a currency no account has (Plaid sends a currency per
-- transaction). A code keeps the exponent it was first seen with, and
-- every later conversion reads it here; a code arriving with another
-- exponent is refused, so the table only grows. Filled by Go after this
-- file from the accounts' exponents, then from the codes of transactions
-- and journal lines, resolved as they were shown until now.
CREATE TABLE currencies (
  code          TEXT PRIMARY KEY,
  exponent      INTEGER NOT NULL CHECK (exponent BETWEEN 0 AND 18),
  first_seen_at TEXT
) STRICT;
CREATE TRIGGER currencies_no_update BEFORE UPDATE ON currencies
BEGIN SELECT RAISE(ABORT, 'currencies is append-only: a code keeps the exponent it was first seen with'); END;
CREATE TRIGGER currencies_no_delete BEFORE DELETE ON currencies
BEGIN SELECT RAISE(ABORT, 'currencies is append-only: a code keeps the exponent it was first seen with'); END;
