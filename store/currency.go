package store

import (
	"context"
	"database/sql"
	"fmt"

	"bankfeed/ledger"
)

// Cur is the account's currency with the exponent its amounts were
// converted with at ingestion. Every later conversion of the account's
// minor units goes through it; the code is never resolved again.
func (a AccountInfo) Cur() ledger.Currency {
	return ledger.Currency{Code: a.Currency, Exponent: a.CurrencyExponent}
}

// backfillExponents fills in, during migration 6, the exponent of an
// account whose raw pages did not give one (the SQL half reads them): the
// exponent its amounts were shown with until now, ISO 4217 first, then
// the unofficial table, so that nothing already shown is rescaled.
func backfillExponents(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "SELECT id, currency FROM accounts WHERE currency_exponent IS NULL")
	if err != nil {
		return err
	}
	defer rows.Close()
	exps := map[int64]int32{}
	for rows.Next() {
		var id int64
		var code string
		if err := rows.Scan(&id, &code); err != nil {
			return err
		}
		cur, err := ledger.ISO(code)
		if err != nil {
			if cur, err = ledger.LookupCurrency("", code); err != nil {
				return fmt.Errorf("account %d: %w", id, err)
			}
		}
		exps[id] = cur.Exponent
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for id, e := range exps {
		if _, err := tx.ExecContext(ctx, "UPDATE accounts SET currency_exponent = ? WHERE id = ?", e, id); err != nil {
			return err
		}
	}
	return nil
}
