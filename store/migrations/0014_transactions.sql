-- bankfeed schema, version 14: reading bank transactions back (issue 15).
--
-- `transactions list` and GET /v1/businesses/{id}/bank-transactions walk an
-- account's transactions in row-id order: the id never changes once a row
-- exists (a date, an amount or a status can), so a page boundary stays put
-- while a sync writes, and every row is seen once. An account's rows in id
-- order are one index range per account; a business's are those ranges
-- merged (store.Transactions). No existing index ends its account prefix
-- with the id: (account_id, removed, pending, date) orders by state first.
CREATE INDEX bank_transactions_account_id ON bank_transactions(account_id, id);
