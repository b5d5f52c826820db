package jobs

import (
	"context"
	"io"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"bankfeed/plaidapi"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

// TestReplayIsANoOp applies every logged page of an applied update a
// second time: the journal and the bank transactions must not change.
func TestReplayIsANoOp(t *testing.T) {
	ctx := context.Background()
	srv := plaidfake.New()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	acct, tok := srv.AddAccount(plaidfake.Account{Type: "credit", Subtype: "credit card", Opening: "10.00"})
	for _, amt := range []string{"400.00", "-250.00", "12.00", "0.01"} {
		srv.AddTxn(plaidfake.Txn{AccountID: acct, Amount: amt, Date: "2026-10-01", Name: "x"})
	}
	srv.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "5.00", Date: "2026-10-02", Name: "p", Pending: true})
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "b.db"), []byte("0123456789abcdef0123456789abcdef"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.PutTokens(ctx, "b", "sandbox", []string{tok}, true); err != nil {
		t.Fatal(err)
	}
	r := &Runner{Store: st, Log: zerolog.New(io.Discard), PageSize: 2,
		Plaid: plaidapi.New(plaidapi.Config{BaseURL: hs.URL, Timeout: 5 * time.Second})}
	if _, err := r.Run(ctx, JobAll); err != nil {
		t.Fatal(err)
	}
	before, _ := st.Journal(ctx)
	balBefore, _ := st.LedgerBalances(ctx, "")
	toks, _ := st.Tokens(ctx, store.TokenFilter{})
	for upd := int64(1); upd <= 1; upd++ {
		err := st.Update(ctx, func(tx *store.Tx) error {
			a := newApplier(tx, "b", toks[0].ID, upd, true)
			if err := applyLogged(tx, upd, a); err != nil {
				return err
			}
			if err := a.finish(); err != nil {
				return err
			}
			if a.counts.Posted+a.counts.Reversed != 0 || a.counts.Unchanged != 4+1 {
				t.Errorf("replay changed things: %+v", a.counts)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	after, _ := st.Journal(ctx)
	balAfter, _ := st.LedgerBalances(ctx, "")
	if len(after) != len(before) || balAfter[0].Balance != balBefore[0].Balance || balAfter[0].PostedCount != 4 {
		t.Fatalf("replay moved the ledger: %d -> %d entries, %+v -> %+v", len(before), len(after), balBefore, balAfter)
	}
}
