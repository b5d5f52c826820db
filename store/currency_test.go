package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"bankfeed/ledger"
	"bankfeed/store"
)

// One currency code keeps one scale: an account whose code is already
// stored with another exponent (Plaid sending XAU as ISO for one account
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
	st.Close()
	downgradeTo5(t, path).Close()

	st = open(t, path, key1, store.Options{})
	defer st.Close()
	cs, err := st.Currencies(ctx)
	if err != nil || cs["XAU"].Exponent != 8 || cs["USD"].Exponent != 2 || len(cs) != 2 {
		t.Fatalf("migrated currencies %+v (%v)", cs, err)
	}
}
