-- bankfeed schema, version 10: re-linked accounts (issue 12).
--
-- A customer who links a bank again gets a new Plaid Item: a new
-- account_id and new transaction_ids for the same real account and the
-- same history. Such an account is the successor of the old one and
-- continues its ledger account, so the books hold the real account once.

-- What /processor/account/get says about the account's bank: successors
-- are only recognised among accounts whose institution is known (an
-- account from before this version gets it at its next sync, or never).
ALTER TABLE accounts ADD COLUMN institution_id TEXT;
-- Look-alikes (successor candidates, and the report's possible duplicates)
-- are found by one probe per account, not by comparing every pair.
CREATE INDEX accounts_identity ON accounts(business_id, institution_id, type, mask, currency) WHERE institution_id IS NOT NULL;
-- The account this one succeeds (NULL: none). An account is replaced by at
-- most one successor.
ALTER TABLE accounts ADD COLUMN replaces INTEGER; -- accounts(id); no REFERENCES: a column in a
-- foreign key could never be dropped again (SQLite refuses)
CREATE UNIQUE INDEX accounts_replaces ON accounts(replaces) WHERE replaces IS NOT NULL;
-- The account whose ledger account (Bank:<its plaid id>) and opening this
-- account posts to: the first of its chain of predecessors. NULL: its own.
ALTER TABLE accounts ADD COLUMN book_account_id INTEGER; -- accounts(id)
-- A book's accounts, and the newest of them, are looked up per ledger row
-- of every balance list and reconcile: one probe, not a scan per row.
CREATE INDEX accounts_book ON accounts(book_account_id) WHERE book_account_id IS NOT NULL;
-- A successor's transactions dated on or before this date (its
-- predecessors' newest posted transaction when it was recognised) are
-- matched against the predecessors' live posted transactions before they
-- may post.
ALTER TABLE accounts ADD COLUMN match_through TEXT;

-- A successor's transaction matched at re-link to a predecessor's live
-- posted transaction (its transaction_id): the same real transaction,
-- kept and shown, never posted.
ALTER TABLE bank_transactions ADD COLUMN duplicate_of TEXT;
CREATE UNIQUE INDEX bank_transactions_duplicate ON bank_transactions(duplicate_of) WHERE duplicate_of IS NOT NULL AND removed = 0;
