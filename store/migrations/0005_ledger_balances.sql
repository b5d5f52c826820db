-- bankfeed schema, version 5: running balances. The nightly reconcile,
-- the trial balance and the balances API used to sum every journal line
-- ever posted, so they grew slower with every year of history. A ledger
-- account's balance is now kept beside it, moved by the same statement
-- that inserts a line (journal lines are append-only, so a balance only
-- ever moves by the lines added), and those reads cost one row per ledger
-- account. `bankfeed doctor` checks every row against the lines.

CREATE TABLE ledger_balances (
  ledger_account_id INTEGER NOT NULL REFERENCES ledger_accounts(id),
  currency          TEXT NOT NULL,      -- the lines' currency
  amount            INTEGER NOT NULL,   -- SUM(journal_lines.amount), minor units
  lines             INTEGER NOT NULL,   -- COUNT of journal lines
  live_txns         INTEGER NOT NULL,   -- lines of txn entries that no reversal undoes
  PRIMARY KEY (ledger_account_id, currency)
) STRICT, WITHOUT ROWID;

INSERT INTO ledger_balances(ledger_account_id, currency, amount, lines, live_txns)
SELECT l.ledger_account_id, l.currency, SUM(l.amount), COUNT(*),
       SUM(CASE WHEN e.kind = 'txn' THEN 1 WHEN e.kind = 'reversal' AND o.kind = 'txn' THEN -1 ELSE 0 END)
FROM journal_lines l
LEFT JOIN journal_entries e ON e.id = l.entry_id
LEFT JOIN journal_entries o ON o.id = e.reverses
GROUP BY l.ledger_account_id, l.currency;

-- A line of a txn entry adds a live transaction; a line of the reversal
-- of a txn entry takes one away (a reversal mirrors its entry line for
-- line, so it lands on the same ledger account).
CREATE TRIGGER journal_lines_balance AFTER INSERT ON journal_lines
BEGIN
  INSERT INTO ledger_balances(ledger_account_id, currency, amount, lines, live_txns)
  VALUES (NEW.ledger_account_id, NEW.currency, NEW.amount, 1,
    COALESCE((SELECT CASE e.kind WHEN 'txn' THEN 1
                     WHEN 'reversal' THEN -(SELECT COUNT(*) FROM journal_entries o WHERE o.id = e.reverses AND o.kind = 'txn')
                     ELSE 0 END
              FROM journal_entries e WHERE e.id = NEW.entry_id), 0))
  ON CONFLICT (ledger_account_id, currency) DO UPDATE
    SET amount = amount + excluded.amount, lines = lines + 1, live_txns = live_txns + excluded.live_txns;
END;

-- The oldest live transaction still in suspense: a walk over a posted
-- account's txn entries in date order, which stops at the first one no
-- reversal undoes. (account_id, kind) still leads, so every seek the old
-- index served it serves.
DROP INDEX journal_entries_account;
CREATE INDEX journal_entries_account ON journal_entries(account_id, kind, date);

-- Two indexes of version 2 were meant for the candidates' time windows,
-- but those compare instants through julianday(), which no index can
-- serve: SQLite only ever used their account_id prefix, which other
-- indexes lead with too. Each cost a B-tree insert per journal entry and
-- per bank transaction (and an update on every change of one).
DROP INDEX journal_entries_account_created;
DROP INDEX bank_transactions_account_updated;
