package store_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"bankfeed/ledger"
	"bankfeed/store"
)

// One currency code keeps one scale: an account (new, or seen again)
// whose code is already stored with another exponent (Plaid sending XAU as ISO for one account
// and as unofficial for another) is refused, nothing written, instead of
// mixing two scales in one ledger currency.
func TestOneExponentPerCurrencyCode(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "b.db"), key1, store.Options{})
	defer st.Close()
	b, err := st.PutTokens(ctx, "biz", "sandbox", []string{tok, tok2}, true)
	if err != nil {
		t.Fatal(err)
	}
	ensure := func(tokenID int64, id string, exp int32) error {
		return st.Update(ctx, func(tx *store.Tx) error {
			_, err := tx.EnsureAccount("biz", tokenID, store.AccountInfo{PlaidAccountID: id, Type: "depository", Currency: "XAU", CurrencyExponent: exp})
			return err
		})
	}
	if err := ensure(b.Tokens[0].ID, "gold-unofficial", 8); err != nil {
		t.Fatal(err)
	}
	if err := ensure(b.Tokens[1].ID, "gold-iso", 2); !errors.Is(err, ledger.ErrCurrency) || !strings.Contains(err.Error(), "gold-iso") {
		t.Fatalf("second scale for XAU: %v", err)
	}
	if err := ensure(b.Tokens[0].ID, "gold-unofficial", 2); !errors.Is(err, ledger.ErrCurrency) {
		t.Fatalf("the known account seen again at a second scale: %v", err)
	}
	cs, err := st.Currencies(ctx)
	if err != nil || len(cs) != 1 || cs["XAU"].Exponent != 8 {
		t.Fatalf("currencies %+v (%v)", cs, err)
	}
}

// Migrating from schema 5 gives each account the exponent its newest raw
// page was converted with (a page that is not JSON is skipped), and an
// account without pages the one its amounts were shown with until then.
func TestMigrationBackfillsExponentsFromThePages(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	st := open(t, path, key1, store.Options{})
	b, err := st.PutTokens(ctx, "biz", "sandbox", []string{tok, tok2}, true)
	if err != nil {
		t.Fatal(err)
	}
	gold, usd := b.Tokens[0].ID, b.Tokens[1].ID
	for _, a := range []struct {
		tok  int64
		id   string
		code string
		exp  int32
	}{{gold, "gold", "XAU", 8}, {usd, "cash", "USD", 2}} {
		err := st.Update(ctx, func(tx *store.Tx) error {
			_, err := tx.EnsureAccount("biz", a.tok, store.AccountInfo{PlaidAccountID: a.id, Type: "depository", Currency: a.code, CurrencyExponent: a.exp})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	upd, err := st.BeginUpdate(ctx, gold, "run", "")
	if err != nil {
		t.Fatal(err)
	}
	pages := []string{
		`{"account":{"id":"gold","currency":{"code":"XAU","exponent":8,"unofficial":true}}}`,
		`not json at all`,
	}
	for i, p := range pages {
		if err := st.AppendPage(ctx, upd, store.PageMeta{Seq: i + 1, CursorAfter: "c", RequestID: "r"}, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	// Currencies no account has: transactions in BHD (ISO, 3 places), BTC
	// (unofficial only) and XAU (an account's code: its exponent, 8, wins
	// over ISO's 2), and JPY on journal lines only. The exponents noted
	// here are dropped with the table; the migration must find them again.
	err = st.Update(ctx, func(tx *store.Tx) error {
		acct, err := tx.EnsureAccount("biz", usd, store.AccountInfo{PlaidAccountID: "cash", Type: "depository", Currency: "USD", CurrencyExponent: 2})
		if err != nil {
			return err
		}
		for _, c := range []ledger.Currency{{Code: "BHD", Exponent: 3}, {Code: "BTC", Exponent: 8}, {Code: "JPY"}} {
			if err := tx.NoteCurrency(c); err != nil {
				return err
			}
		}
		for i, code := range []string{"BHD", "BTC", "XAU"} {
			b := store.BankTxn{AccountID: acct.ID, TransactionID: "t-" + code, Amount: int64(1000 + i), Currency: code, Date: "2026-10-01",
				Name: "abroad", FirstUpdateID: upd, LastUpdateID: upd, Revision: 1, Pending: true}
			if err := tx.SaveBankTxn(&b); err != nil {
				return err
			}
		}
		e, err := ledger.PostTransaction("cash", "t-yen", 1, "2026-10-02", ledger.Money{Minor: 500, Currency: ledger.Currency{Code: "JPY"}})
		if err != nil {
			return err
		}
		return tx.PostEntry("biz", acct.ID, e, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	downgradeTo5(t, path)

	st = open(t, path, key1, store.Options{})
	defer st.Close()
	cs, err := st.Currencies(ctx)
	want := map[string]int32{"XAU": 8, "USD": 2, "BHD": 3, "BTC": 8, "JPY": 0}
	if err != nil || len(cs) != len(want) {
		t.Fatalf("migrated currencies %+v (%v)", cs, err)
	}
	for code, exp := range want {
		if c, err := cs.Get(code); err != nil || c.Exponent != exp {
			t.Errorf("%s migrated with %+v (%v), want exponent %d", code, c, err, exp)
		}
	}
	bs, err := st.LedgerBalances(ctx, "")
	if err != nil || len(bs) != 1 || bs[0].Currency != "JPY" || ledger.Format(bs[0].Balance, bs[0].Cur()) != "-500" {
		t.Fatalf("ledger balances after the migration: %+v (%v)", bs, err)
	}
}

// Two accounts whose amounts were converted with two exponents of one
// code (one page said 8 places for XAU, the other account had no page and
// was shown with ISO's 2) cannot share a ledger currency: the migration
// stops, names both, and leaves the file at version 5.
func TestMigrationRefusesOneCodeAtTwoScales(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	st := open(t, path, key1, store.Options{})
	b, err := st.PutTokens(ctx, "biz", "sandbox", []string{tok, tok2}, true)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"gold-paged", "gold-bare"} {
		err := st.Update(ctx, func(tx *store.Tx) error {
			_, err := tx.EnsureAccount("biz", b.Tokens[i].ID, store.AccountInfo{PlaidAccountID: id, Type: "depository", Currency: "XAU", CurrencyExponent: 8})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	upd, err := st.BeginUpdate(ctx, b.Tokens[0].ID, "run", "")
	if err != nil {
		t.Fatal(err)
	}
	page := `{"account":{"id":"gold-paged","currency":{"code":"XAU","exponent":8,"unofficial":true}}}`
	if err := st.AppendPage(ctx, upd, store.PageMeta{Seq: 1, CursorAfter: "c", RequestID: "r"}, []byte(page)); err != nil {
		t.Fatal(err)
	}
	st.Close()
	downgradeTo5(t, path)

	_, err = store.Open(ctx, path, key1, store.Options{})
	if !errors.Is(err, ledger.ErrCurrency) || !strings.Contains(err.Error(), "gold-paged (8)") || !strings.Contains(err.Error(), "gold-bare (2)") {
		t.Fatalf("migrating XAU at two scales: %v", err)
	}
	ro, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	var v int
	if err := ro.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != 5 {
		t.Fatalf("a refused migration left version %d (%v)", v, err)
	}
}

// A transaction's currency is stored at first sight, and a later sight
// with another exponent is refused with ledger.ErrCurrency: the whole unit
// of work rolls back, the row saved before the refusal included, and the
// stored exponent stays. The same holds inside one transaction, where the
// code is cached. The table defends itself against edits.
func TestTransactionCurrencyKeepsItsFirstExponent(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "b.db"), key1, store.Options{})
	defer st.Close()
	b, err := st.PutTokens(ctx, "biz", "sandbox", []string{tok}, true)
	if err != nil {
		t.Fatal(err)
	}
	upd, err := st.BeginUpdate(ctx, b.Tokens[0].ID, "run", "")
	if err != nil {
		t.Fatal(err)
	}
	var acct store.Account
	save := func(id string, c ledger.Currency) error {
		return st.Update(ctx, func(tx *store.Tx) error {
			var err error
			if acct, err = tx.EnsureAccount("biz", b.Tokens[0].ID, store.AccountInfo{PlaidAccountID: "cash", Type: "depository", Currency: "USD", CurrencyExponent: 2}); err != nil {
				return err
			}
			bt := store.BankTxn{AccountID: acct.ID, TransactionID: id, Amount: 1, Currency: c.Code, Date: "2026-10-01", Name: "gold",
				FirstUpdateID: upd, LastUpdateID: upd, Revision: 1, Pending: true}
			if err := tx.SaveBankTxn(&bt); err != nil {
				return err
			}
			return tx.NoteCurrency(c)
		})
	}
	if err := save("t1", ledger.Currency{Code: "XAU", Exponent: 8, Unofficial: true}); err != nil {
		t.Fatal(err)
	}
	err = save("t2", ledger.Currency{Code: "XAU", Exponent: 2})
	if !errors.Is(err, ledger.ErrCurrency) || !strings.Contains(err.Error(), "XAU arrives with 2 decimal places but is stored with 8") {
		t.Fatalf("XAU at a second scale: %v", err)
	}
	err = st.Update(ctx, func(tx *store.Tx) error {
		if _, ok, err := tx.BankTxn("t2"); err != nil || ok {
			t.Errorf("the refused transaction was written (%v)", err)
		}
		if err := tx.NoteCurrency(ledger.Currency{Code: "CHF", Exponent: 2}); err != nil {
			return err
		}
		return tx.NoteCurrency(ledger.Currency{Code: "CHF", Exponent: 0})
	})
	if !errors.Is(err, ledger.ErrCurrency) {
		t.Fatalf("CHF at two scales in one transaction: %v", err)
	}
	cs, err := st.Currencies(ctx)
	if err != nil || len(cs) != 2 || cs["XAU"].Exponent != 8 || cs["USD"].Exponent != 2 {
		t.Fatalf("currencies %+v (%v)", cs, err)
	}
	for _, q := range []string{"UPDATE currencies SET exponent = 2 WHERE code = 'XAU'", "DELETE FROM currencies"} {
		if err := st.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v", q, err)
		}
	}
}

// Nothing is posted in a code whose exponent is not stored: no reader
// could format it.
func TestPostingNeedsAStoredExponent(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "b.db"), key1, store.Options{})
	defer st.Close()
	if _, err := st.PutTokens(ctx, "biz", "sandbox", []string{tok}, true); err != nil {
		t.Fatal(err)
	}
	e, err := ledger.PostTransaction("cash", "t1", 1, "2026-10-02", ledger.Money{Minor: 500, Currency: ledger.Currency{Code: "EUR", Exponent: 2}})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(ctx, func(tx *store.Tx) error { return tx.PostEntry("biz", 0, e, 0) })
	if !errors.Is(err, ledger.ErrCurrency) || !strings.Contains(err.Error(), `"EUR"`) {
		t.Fatalf("posting EUR with no stored exponent: %v", err)
	}
	if tb, err := st.TrialBalance(ctx); err != nil || len(tb) != 0 {
		t.Fatalf("journal after the refusal: %v (%v)", tb, err)
	}
}
