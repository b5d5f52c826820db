-- bankfeed schema, version 4: the reconciliation chart reads the last 30
-- reconciliations of every account each night. This index holds every
-- column the chart draws, in (account, currency, id) order, so that read
-- is one contiguous range per account and never visits a table row, which
-- are scattered one run apart across the table.
CREATE INDEX reconciliations_chart ON reconciliations(account_id, currency, id, report_date, generated_at, expected, reported, status);
-- It begins with reconciliations_account's columns and serves its seeks
-- (an account's newest reconciliation): one index fewer to keep up on
-- every row a run inserts.
DROP INDEX reconciliations_account;
