package plaidfake_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"bankfeed/plaidfake"
)

func checking(h *harness) (string, string) {
	return h.AddAccount(plaidfake.Account{Name: "Checking", Mask: "0000", Opening: "1000.00"})
}

func TestPagingFollowsCountAndHasMore(t *testing.T) {
	h := newHarness(t)
	acct, tok := checking(h)
	for i := range 1234 {
		h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: fmt.Sprintf("%d.%02d", i, i%100), Date: "2025-01-02", Name: "t"})
	}
	u := h.syncAll(tok, "", 100)
	if u.pages != 13 || len(u.added) != 1234 || len(u.modified)+len(u.removed) != 0 {
		t.Fatalf("pages %d added %d modified %d removed %d", u.pages, len(u.added), len(u.modified), len(u.removed))
	}
	if len(u.cursor) == 0 || len(u.cursor) > 256 {
		t.Fatalf("cursor %q", u.cursor)
	}
	want := h.Txns(acct)
	for _, w := range want {
		g, ok := u.added[w.ID]
		if !ok || fmt.Sprintf("%.2f", g.Amount) != w.Amount || g.AccountId != acct || g.Date != w.Date {
			t.Fatalf("txn %s: got %+v, want %+v", w.ID, g, w)
		}
	}
	again := h.syncAll(tok, u.cursor, 500)
	if again.pages != 1 || len(again.added)+len(again.modified)+len(again.removed) != 0 {
		t.Fatalf("nothing changed, but sync returned %+v", again)
	}
	for _, n := range []int32{0, 501} {
		_, r, err := h.page(tok, "", n)
		wantPlaidErr(t, err, r, 400, "INVALID_REQUEST", "INVALID_FIELD")
	}
}

func TestSyncReportsNetChange(t *testing.T) {
	h := newHarness(t)
	acct, tok := checking(h)
	h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "10.00", Date: "2025-01-01", Name: "untouched"})
	mod := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "11.00", Date: "2025-01-01", Name: "mod"})
	gone := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "12.00", Date: "2025-01-01", Name: "gone"})
	same := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "13.00", Date: "2025-01-01", Name: "same"})
	base := h.syncAll(tok, "", 2)
	if len(base.added) != 4 {
		t.Fatalf("first sync added %d", len(base.added))
	}

	flash := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "1.00", Date: "2025-01-02", Name: "flash"})
	h.RemoveTxn(flash)
	fresh := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "2.00", Date: "2025-01-02", Name: "fresh"})
	h.ModifyTxn(fresh, func(t *plaidfake.Txn) { t.Amount, t.Name = "2.50", "fresh, edited" })
	h.ModifyTxn(mod, func(t *plaidfake.Txn) { t.Amount = "-11.00" })
	h.ModifyTxn(mod, func(t *plaidfake.Txn) { t.MerchantName = "Acme" })
	h.RemoveTxn(gone)
	h.ModifyTxn(same, func(t *plaidfake.Txn) { t.Name = "other" })
	h.ModifyTxn(same, func(t *plaidfake.Txn) { t.Name = "same" })

	u := h.syncAll(tok, base.cursor, 1)
	if got := slices.Sorted(maps.Keys(u.added)); !slices.Equal(got, []string{fresh}) || u.added[fresh].Amount != 2.5 || u.added[fresh].Name != "fresh, edited" {
		t.Errorf("added %v", u.added)
	}
	if m, ok := u.modified[mod]; len(u.modified) != 1 || !ok || m.Amount != -11 || m.GetMerchantName() != "Acme" {
		t.Errorf("modified %v", u.modified)
	}
	if !slices.Equal(u.removed, []string{gone}) {
		t.Errorf("removed %v", u.removed)
	}
	if u.pages != 3 {
		t.Errorf("3 changes in pages of 1 took %d pages", u.pages)
	}
	// The base cursor stays valid: replaying from it gives the same answer.
	if again := h.syncAll(tok, base.cursor, 500); len(again.added) != 1 || len(again.modified) != 1 || len(again.removed) != 1 {
		t.Errorf("replay differs: %+v", again)
	}
}

func TestPendingPosts(t *testing.T) {
	h := newHarness(t)
	acct, tok := checking(h)
	p1 := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "42.00", Date: "2025-03-01", Name: "DINER", Pending: true})
	p2 := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "9.99", Date: "2025-03-01", Name: "APP", Pending: true})
	base := h.syncAll(tok, "", 100)
	if !base.added[p1].Pending || h.Current(acct) != "1000.00" {
		t.Fatalf("pending %v, current %s", base.added[p1].Pending, h.Current(acct))
	}
	linked := h.PostPending(p1, plaidfake.Txn{Amount: "50.40", Date: "2025-03-03", Name: "DINER"}, true)
	unlinked := h.PostPending(p2, plaidfake.Txn{Amount: "9.99", Date: "2025-03-02", Name: "APP"}, false)
	u := h.syncAll(tok, base.cursor, 100)
	if !slices.Equal(u.removed, slices.Sorted(slices.Values([]string{p1, p2}))) {
		t.Errorf("removed %v", u.removed)
	}
	l, ul := u.added[linked], u.added[unlinked]
	if l.Pending || l.GetPendingTransactionId() != p1 || l.Amount != 50.4 || l.AccountId != acct {
		t.Errorf("linked %+v", l)
	}
	if ul.Pending || ul.PendingTransactionId.IsSet() {
		t.Errorf("unlinked %+v", ul)
	}
	if got := h.Current(acct); got != "939.61" {
		t.Errorf("current %s after posting 50.40 and 9.99", got)
	}
}

func TestMutationDuringPaginationThenRestartConverges(t *testing.T) {
	h := newHarness(t)
	acct, tok := checking(h)
	for i := range 250 {
		h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "1.00", Date: "2025-01-01", Name: fmt.Sprint(i)})
	}
	first, _, err := h.page(tok, "", 100)
	if err != nil || !first.HasMore {
		t.Fatal(err, first.HasMore)
	}
	late := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "7.00", Date: "2025-01-02", Name: "late"})
	_, r, err := h.page(tok, first.NextCursor, 100)
	wantPlaidErr(t, err, r, 400, "TRANSACTIONS_ERROR", "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION")
	// Retrying the page keeps failing; only a restart from the loop's first cursor helps.
	_, _, err = h.page(tok, first.NextCursor, 100)
	plaidErr(t, err)
	u := h.syncAll(tok, "", 100)
	if len(u.added) != 251 {
		t.Fatalf("restart added %d", len(u.added))
	}
	if _, ok := u.added[late]; !ok {
		t.Fatal("restart missed the late transaction")
	}

	// With the check off, a loop keeps serving the snapshot it started on,
	// and the next loop picks up what changed meanwhile.
	h.SetMutationDuringPagination(false)
	first, _, _ = h.page(tok, u.cursor, 100)
	if len(first.Added) != 0 || first.HasMore {
		t.Fatalf("no changes expected, got %d", len(first.Added))
	}
	h.RemoveTxn(late)
	next := h.syncAll(tok, first.NextCursor, 100)
	if !slices.Equal(next.removed, []string{late}) {
		t.Fatalf("removed %v", next.removed)
	}
}

func TestCurrentArithmetic(t *testing.T) {
	h := newHarness(t)
	dep, depTok := h.AddAccount(plaidfake.Account{Opening: "100.10"})
	h.AddTxn(plaidfake.Txn{AccountID: dep, Amount: "0.29", Date: "2025-01-01"})
	h.AddTxn(plaidfake.Txn{AccountID: dep, Amount: "-1000.005", Date: "2025-01-01"})
	h.AddTxn(plaidfake.Txn{AccountID: dep, Amount: "30.00", Date: "2025-01-02", Pending: true})
	if got := h.Current(dep); got != "1099.815" {
		t.Errorf("depository current %s", got)
	}
	card, cardTok := h.AddAccount(plaidfake.Account{Type: "credit", Subtype: "credit card", Opening: "500.00", Limit: "2000.00"})
	h.AddTxn(plaidfake.Txn{AccountID: card, Amount: "120.50", Date: "2025-01-01"})
	id := h.AddTxn(plaidfake.Txn{AccountID: card, Amount: "-300.00", Date: "2025-01-01"})
	h.AddTxn(plaidfake.Txn{AccountID: card, Amount: "19.99", Date: "2025-01-02", Pending: true})
	if got := h.Current(card); got != "320.50" {
		t.Errorf("credit current %s", got)
	}
	h.ModifyTxn(id, func(t *plaidfake.Txn) { t.Amount = "-200.00" })
	h.AdjustBalance(card, "0.01")
	if got := h.Current(card); got != "420.51" {
		t.Errorf("credit current after modify+adjust %s", got)
	}
	// The wire carries the exact decimals, and available follows Plaid's rule.
	for _, c := range []struct{ tok, path, want string }{
		{depTok, "/processor/balance/get", `"available":1069.815,"current":1099.815,"limit":null`},
		{cardTok, "/processor/account/get", `"available":1559.50,"current":420.51,"limit":2000.00`},
	} {
		_, body := h.post(c.path, map[string]string{"processor_token": c.tok}, creds)
		if !containsStr(string(body), c.want) {
			t.Errorf("%s: %s lacks %s", c.path, body, c.want)
		}
	}
	bal, _, err := h.c.PlaidApi.ProcessorBalanceGet(t.Context()).ProcessorBalanceGetRequest(*newBalanceReq(cardTok)).Execute()
	if err != nil || bal.Account.Balances.GetCurrent() != 420.51 || bal.Account.AccountId != card || bal.RequestId == "" {
		t.Errorf("balance/get %+v %v", bal, err)
	}
}

func TestTxnsModelMatchesSync(t *testing.T) {
	h := newHarness(t)
	acct, tok := checking(h)
	var ids []string
	for i := range 40 {
		ids = append(ids, h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "1.00", Date: "2025-01-01", Pending: i%5 == 0}))
	}
	u := h.syncAll(tok, "", 7)
	model := map[string]bool{}
	for id := range u.added {
		model[id] = true
	}
	for i, id := range ids {
		switch i % 3 {
		case 0:
			h.RemoveTxn(id)
		case 1:
			h.ModifyTxn(id, func(t *plaidfake.Txn) { t.Amount = "2.00" })
		}
	}
	u2 := h.syncAll(tok, u.cursor, 7)
	for _, id := range u2.removed {
		delete(model, id)
	}
	for id := range u2.added {
		model[id] = true
	}
	var want []string
	for _, t := range h.Txns(acct) {
		want = append(want, t.ID)
	}
	if got := slices.Sorted(maps.Keys(model)); !slices.Equal(got, want) {
		t.Fatalf("client model %v, server %v", got, want)
	}
	if len(u2.modified) != 13 {
		t.Fatalf("modified %d", len(u2.modified))
	}
}
