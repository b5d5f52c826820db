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
