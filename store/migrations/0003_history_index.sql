-- bankfeed schema, version 3: a run's cost must not grow with stored
-- history. The newest transaction date of a token's account (read for every
-- token a run lists) was a scan of the account's whole history; with the
-- date last in the account index it is one probe per pending state.

DROP INDEX bank_transactions_account;
CREATE INDEX bank_transactions_account ON bank_transactions(account_id, removed, pending, date);
