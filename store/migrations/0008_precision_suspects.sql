-- bankfeed schema, version 8: the nightly report lists live transactions
-- of a million or more (major units) as precision suspects. A million
-- minor units is the least such an amount can be in any currency; this
-- partial index holds only the live rows at or above it, so the report
-- reads the large transactions, not the whole history.
CREATE INDEX bank_transactions_large ON bank_transactions(account_id, date, transaction_id)
  WHERE abs(amount) >= 1000000 AND removed = 0;
