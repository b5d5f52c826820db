package jobs_test

import (
	"context"
	"errors"
	"testing"

	"bankfeed/ledger"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

// ledgerLines formats an account's ledger balances per currency with the
// stored exponents, as `ledger balances` and the API show them.
func ledgerLines(t *testing.T, st *store.Store, plaidAccountID string) map[string]string {
	t.Helper()
	bs, err := st.LedgerBalances(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, b := range bs {
		if b.PlaidAccountID == plaidAccountID {
			out[b.Currency] = ledger.Format(b.Balance, b.Cur())
		}
	}
	return out
}

// A transaction in a currency its account does not have (Plaid sends a
// currency per transaction) is posted and shown at the scale plaidapi
// converted it with, stored for its code at first sight: two, three and
// no decimal places (BHD 1.23 reads 1.230), and EUR after a change of currency.
func TestTransactionInAnotherCurrencyKeepsItsScale(t *testing.T) {
	e := newEnv(t)
	chk, tok := e.srv.AddAccount(plaidfake.Account{Name: "Checking", Type: "depository", Subtype: "checking", ISOCurrency: "USD", Opening: "1000.00"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "12.34", Date: "2026-10-05", Name: "Shop"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "1.23", Date: "2026-10-06", Name: "Manama", ISOCurrency: "BHD"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "500", Date: "2026-10-07", Name: "Tokyo", ISOCurrency: "JPY"})
	cad := e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "7.50", Date: "2026-10-08", Name: "Montreal", ISOCurrency: "CAD"})
	e.put("biz1", tok)
	e.run("all")
	e.checkExact()

	e.srv.ModifyTxn(cad, func(t *plaidfake.Txn) { t.ISOCurrency = "EUR" })
	e.run("sync")
	e.checkExact()
	got := ledgerLines(t, e.store, chk)
	want := map[string]string{"BHD": "-1.230", "JPY": "-500", "CAD": "0.00", "EUR": "-7.50"}
	for code, s := range want {
		if got[code] != s {
			t.Errorf("%s ledger balance %q, want %q (all: %v)", code, got[code], s, got)
		}
	}
	cs, err := e.store.Currencies(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for code, exp := range map[string]int32{"USD": 2, "BHD": 3, "JPY": 0, "CAD": 2, "EUR": 2} {
		if cs[code].Exponent != exp {
			t.Errorf("%s stored as %+v, want exponent %d", code, cs[code], exp)
		}
	}
}

// XAU arrives as unofficial (8 places) first, then as ISO (2 places) on
// another transaction: the second update is refused with
// ledger.ErrCurrency and writes nothing, and the first keeps its scale.
func TestTransactionCurrencyAtASecondScaleIsRefused(t *testing.T) {
	e := newEnv(t)
	chk, tok := e.srv.AddAccount(plaidfake.Account{Name: "Checking", Type: "depository", Subtype: "checking", ISOCurrency: "USD", Opening: "1000.00"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "0.01", Date: "2026-10-05", Name: "Gold dust", UnofficialCurrency: "XAU"})
	e.put("biz1", tok)
	e.run("all")
	e.checkExact()
	before := len(e.journal())

	iso := e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "1.00", Date: "2026-10-06", Name: "Gold bar", ISOCurrency: "XAU"})
	sum, err := e.runner.Run(context.Background(), "sync")
	if r := result(t, sum, e.token(tok).ID); err == nil || !errors.Is(r.Err, ledger.ErrCurrency) {
		t.Fatalf("sync of XAU at 2 places: %v (token: %s %v)", err, r.Outcome, r.Err)
	}
	if n := len(e.journal()); n != before {
		t.Errorf("the refused update posted %d entries", n-before)
	}
	err = e.store.Update(context.Background(), func(tx *store.Tx) error {
		if _, ok, err := tx.BankTxn(iso); err != nil || ok {
			t.Errorf("the refused transaction was saved (%v)", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := ledgerLines(t, e.store, chk)["XAU"]; got != "-0.01000000" {
		t.Errorf("XAU ledger balance %q, want -0.01000000", got)
	}
}
