package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"bankfeed/ledger"
)

// Cur is the account's currency with the exponent its amounts were
// converted with at ingestion (the currencies table's, see NoteCurrency).
// Every later conversion of the account's minor units goes through it;
// the code is never resolved again.
func (a AccountInfo) Cur() ledger.Currency {
	return ledger.Currency{Code: a.Currency, Exponent: a.CurrencyExponent}
}

// storedExponent is SQL for the stored exponent of the currency code in
// column code: NULL when the code was never noted (a corrupt file, since
// nothing is posted or saved in a code before NoteCurrency).
func storedExponent(code string) string {
	return `(SELECT cx.exponent FROM currencies cx WHERE cx.code = ` + code + `)`
}

// NoteCurrency records c's exponent at the first sight of its code, and
// refuses a code already stored with another exponent (Plaid sending XAU
// as ISO for one account or transaction and as unofficial for another):
// one ledger currency would hold amounts at two scales. The refusal wraps
// ledger.ErrCurrency and writes nothing. Each code costs a statement or
// two once per transaction, not once per row.
func (t *Tx) NoteCurrency(c ledger.Currency) error {
	stored, err := t.Currency(c.Code)
	switch {
	case errors.Is(err, ledger.ErrCurrency):
		if _, err := t.exec(`INSERT INTO currencies(code, exponent, first_seen_at) VALUES (?,?,?)`, c.Code, c.Exponent, t.now); err != nil {
			return fmt.Errorf("currency %s: %w", c.Code, err)
		}
		t.curs[c.Code] = ledger.Currency{Code: c.Code, Exponent: c.Exponent}
		return nil
	case err != nil:
		return err
	case stored.Exponent != c.Exponent:
		return fmt.Errorf("%w: %s arrives with %d decimal places but is stored with %d (one ledger currency cannot hold two scales)",
			ledger.ErrCurrency, c.Code, c.Exponent, stored.Exponent)
	}
	return nil
}

// Currency is the stored currency of code; ledger.ErrCurrency when the
// code was never noted.
func (t *Tx) Currency(code string) (ledger.Currency, error) {
	if c, ok := t.curs[code]; ok {
		return c, nil
	}
	c := ledger.Currency{Code: code}
	err := t.tx.QueryRowContext(t.ctx, `SELECT exponent FROM currencies WHERE code = ?`, code).Scan(&c.Exponent)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ledger.Currency{}, fmt.Errorf("%w: the exponent of %q is not stored", ledger.ErrCurrency, code)
	case err != nil:
		return ledger.Currency{}, err
	}
	t.curs[code] = c
	return c, nil
}

// Currencies reads every stored currency.
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
	rows, err := tx.QueryContext(ctx, "SELECT code, exponent FROM currencies ORDER BY code")
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
		cs[c.Code] = c
	}
	return cs, Classify(rows.Err())
}

// shownExponent is the exponent amounts in code were shown with before
// exponents were stored: ISO 4217 first, then the unofficial table. The
// migration keeps it so that nothing already shown is rescaled.
func shownExponent(code string) (int32, error) {
	cur, err := ledger.ISO(code)
	if err != nil {
		if cur, err = ledger.LookupCurrency("", code); err != nil {
			return 0, err
		}
	}
	return cur.Exponent, nil
}

// backfillExponents is the Go half of migration 6. It fills in the
// exponent of each account whose raw pages did not give one (the SQL half
// reads them), then stores one exponent per code: the accounts' first,
// then every code only transactions or journal lines use.
func backfillExponents(ctx context.Context, tx *sql.Tx) error {
	if err := backfillAccountExponents(ctx, tx); err != nil {
		return err
	}
	if err := backfillAccountCurrencies(ctx, tx); err != nil {
		return err
	}
	return backfillOtherCurrencies(ctx, tx)
}

func backfillAccountExponents(ctx context.Context, tx *sql.Tx) error {
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
		if exps[id], err = shownExponent(code); err != nil {
			return fmt.Errorf("account %d: %w", id, err)
		}
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

// backfillAccountCurrencies stores each account code's exponent. Accounts
// whose pages converted one code with two exponents cannot share a ledger
// currency: the migration stops, naming them, rather than pick a scale.
func backfillAccountCurrencies(ctx context.Context, tx *sql.Tx) error {
	var code, accts string
	err := tx.QueryRowContext(ctx, `SELECT currency, group_concat(plaid_account_id || ' (' || currency_exponent || ')', ', ')
		FROM accounts GROUP BY currency HAVING COUNT(DISTINCT currency_exponent) > 1 ORDER BY currency LIMIT 1`).Scan(&code, &accts)
	switch {
	case err == nil:
		return fmt.Errorf("%w: accounts %s hold %s with different decimal places (in parentheses); keep this database on the previous bankfeed and report it, since one ledger currency cannot hold two scales",
			ledger.ErrCurrency, accts, code)
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO currencies(code, exponent, first_seen_at)
		SELECT currency, MIN(currency_exponent), MIN(created_at) FROM accounts GROUP BY currency`)
	return err
}

func backfillOtherCurrencies(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT code, MIN(seen) FROM (
		  SELECT currency AS code, first_seen_at AS seen FROM bank_transactions
		  UNION ALL SELECT l.currency, e.created_at FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
		  UNION ALL SELECT currency, NULL FROM ledger_accounts)
		WHERE code NOT IN (SELECT code FROM currencies) GROUP BY code ORDER BY code`)
	if err != nil {
		return err
	}
	defer rows.Close()
	type seen struct {
		code string
		exp  int32
		at   sql.NullString
	}
	var news []seen
	for rows.Next() {
		var s seen
		if err := rows.Scan(&s.code, &s.at); err != nil {
			return err
		}
		if s.exp, err = shownExponent(s.code); err != nil {
			return fmt.Errorf("currency of stored transactions: %w", err)
		}
		news = append(news, s)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, s := range news {
		if _, err := tx.ExecContext(ctx, "INSERT INTO currencies(code, exponent, first_seen_at) VALUES (?,?,?)", s.code, s.exp, s.at); err != nil {
			return err
		}
	}
	return nil
}
