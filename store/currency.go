package store

import (
	"context"
	"database/sql"
	"errors"
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

// exponentOf is SQL for the stored exponent of the currency in column
// code, read from the account aliased acct when it is in that currency,
// else from any account that is (a transaction in a currency other than
// its account's). NULL (a scan error) when no account stores it.
func exponentOf(code, acct string) string {
	return `COALESCE(CASE WHEN ` + acct + `.currency = ` + code + ` THEN ` + acct + `.currency_exponent END,
	       (SELECT x.currency_exponent FROM accounts x WHERE x.currency = ` + code + ` LIMIT 1))`
}

// Currencies reads every stored currency. A code stored with two
// exponents would put two scales in one ledger currency: refused as
// corrupt rather than summed.
func (rt *ReadTx) Currencies() (ledger.Currencies, error) {
	return readCurrencies(rt.ctx, rt.tx)
}

// Currencies is ReadTx.Currencies on its own snapshot.
func (s *Store) Currencies(ctx context.Context) (ledger.Currencies, error) {
	var cs ledger.Currencies
	err := s.Read(ctx, func(rt *ReadTx) (err error) { cs, err = rt.Currencies(); return err })
	return cs, err
}

func readCurrencies(ctx context.Context, tx *sql.Tx) (ledger.Currencies, error) {
	rows, err := tx.QueryContext(ctx, "SELECT DISTINCT currency, currency_exponent FROM accounts ORDER BY currency")
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	cs := ledger.Currencies{}
	for rows.Next() {
		var c ledger.Currency
		if err := rows.Scan(&c.Code, &c.Exponent); err != nil {
			return nil, Classify(err)
		}
		if prev, ok := cs[c.Code]; ok {
			return nil, fmt.Errorf("%w: currency %s is stored with exponents %d and %d", ErrCorrupt, c.Code, prev.Exponent, c.Exponent)
		}
		cs[c.Code] = c
	}
	return cs, Classify(rows.Err())
}

// sameScale refuses a new account whose currency code is already stored
// with another exponent (Plaid sending one code as ISO for one account and
// as unofficial for another): the two would share ledger accounts of that
// code with amounts at two scales.
func (t *Tx) sameScale(a AccountInfo) error {
	var e int32
	err := t.tx.QueryRowContext(t.ctx, "SELECT currency_exponent FROM accounts WHERE currency = ? AND currency_exponent != ? LIMIT 1",
		a.Currency, a.CurrencyExponent).Scan(&e)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return fmt.Errorf("%w: account %s is in %s with %d decimal places, but other accounts keep %s with %d", ledger.ErrCurrency,
		a.PlaidAccountID, a.Currency, a.CurrencyExponent, a.Currency, e)
}
