package plaidfake_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"bankfeed/plaidfake"

	"github.com/plaid/plaid-go/v29/plaid"
)

// sameFacts is a transaction as the customer sees it, without Plaid's ids.
func sameFacts(t plaid.Transaction) string {
	return fmt.Sprintf("%s|%.2f|%s|%v", t.Date, t.Amount, t.Name, t.Pending)
}

func facts(ts map[string]plaid.Transaction) []string {
	var out []string
	for _, t := range ts {
		out = append(out, sameFacts(t))
	}
	slices.Sort(out)
	return out
}

func TestRelinkCopiesRecentHistoryUnderNewIDs(t *testing.T) {
	clk := &clock{today}
	h := newHarness(t, plaidfake.WithClock(clk.now))
	old, oldTok := h.AddAccount(plaidfake.Account{Name: "Ops Checking", OfficialName: "Gingham Ops Checking", Mask: "0042",
		Subtype: "checking", Opening: "5000.00", InstitutionID: "ins_3"})
	h.AddTxn(plaidfake.Txn{AccountID: old, Amount: "100.00", Date: daysAgo(120), Name: "before the copy"})
	h.AddTxn(plaidfake.Txn{AccountID: old, Amount: "-2500.00", Date: daysAgo(60), Name: "Stripe payout"})
	h.AddTxn(plaidfake.Txn{AccountID: old, Amount: "12.34", Date: daysAgo(5), Name: "AWS"})
	pendingHold := h.AddTxn(plaidfake.Txn{AccountID: old, Amount: "40.00", Date: daysAgo(2), Name: "hotel hold", Pending: true})
	h.PostPending(pendingHold, plaidfake.Txn{Amount: "41.00", Date: daysAgo(1), Name: "hotel"}, true)
	h.AddTxn(plaidfake.Txn{AccountID: old, Amount: "7.00", Date: daysAgo(0), Name: "cafe", Pending: true})
	h.AdjustBalance(old, "-3.00") // activity the feed missed: the balance still carries over
	before, _, _ := h.syncWith(oldTok, "", 90)

	acct, tok := h.Relink(old, 90)
	if acct == old || tok == oldTok || h.ItemID(acct) == h.ItemID(old) {
		t.Fatalf("relink reused ids: account %s (old %s), item %s", acct, old, h.ItemID(acct))
	}
	if h.Current(acct) != h.Current(old) {
		t.Fatalf("bank balance %s, old account's %s", h.Current(acct), h.Current(old))
	}

	// The same real account under new ids.
	got := h.accountGet(tok)
	if got.InstitutionId != "ins_3" || got.Account.AccountId != acct || got.Account.Name != "Ops Checking" ||
		got.Account.GetMask() != "0042" || got.Account.GetOfficialName() != "Gingham Ops Checking" ||
		got.Account.Type != "depository" || got.Account.GetSubtype() != "checking" ||
		got.Account.Balances.GetIsoCurrencyCode() != "USD" || h.PulledCurrent(acct) != "7343.66" || current(got.Account) != 7343.66 {
		t.Fatalf("account/get of the new token: %+v", got)
	}

	u, status, a := h.syncWith(tok, "", 730)
	if status != "HISTORICAL_UPDATE_COMPLETE" || a.AccountId != acct {
		t.Fatalf("new Item: status %s account %s", status, a.AccountId)
	}
	want := facts(before.added)
	if !slices.Equal(facts(u.added), want) {
		t.Fatalf("copy:\n got %v\nwant %v", facts(u.added), want)
	}
	for id, tx := range u.added {
		if _, reused := before.added[id]; reused || tx.AccountId != acct || tx.GetPendingTransactionId() != "" {
			t.Errorf("copied transaction %s: account %s, pending link %q", id, tx.AccountId, tx.GetPendingTransactionId())
		}
	}

	// The old Item needs a login now, on every endpoint.
	_, r, err := h.page(oldTok, before.cursor, 100)
	wantPlaidErr(t, err, r, 400, "ITEM_ERROR", "ITEM_LOGIN_REQUIRED")
	_, r, err = h.c.PlaidApi.ProcessorAccountGet(t.Context()).ProcessorAccountGetRequest(*plaid.NewProcessorAccountGetRequest(oldTok)).Execute()
	wantPlaidErr(t, err, r, 400, "ITEM_ERROR", "ITEM_LOGIN_REQUIRED")
	_, r, err = h.c.PlaidApi.ProcessorBalanceGet(t.Context()).ProcessorBalanceGetRequest(*newBalanceReq(h.NewToken(old))).Execute()
	wantPlaidErr(t, err, r, 400, "ITEM_ERROR", "ITEM_LOGIN_REQUIRED")

	// Later activity is the new Item's own.
	fresh := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "9.99", Date: daysAgo(0), Name: "new activity"})
	next, _, _ := h.syncWith(tok, u.cursor, 730)
	if _, ok := next.added[fresh]; !ok || len(next.added) != 1 || len(next.modified)+len(next.removed) != 0 {
		t.Fatalf("new activity: %+v", next)
	}
}

// A new Item may ask for more history than the old one did.
func TestRelinkHonoursTheNewItemsWindow(t *testing.T) {
	clk := &clock{today}
	h := newHarness(t, plaidfake.WithClock(clk.now))
	old, oldTok := checking(h)
	for _, d := range []int{10, 89, 200, 729, 800} {
		h.AddTxn(plaidfake.Txn{AccountID: old, Amount: "1.00", Date: daysAgo(d), Name: fmt.Sprint(d, " days ago")})
	}
	if u, _, _ := h.syncWith(oldTok, "", 90); len(u.added) != 2 || h.DaysRequested(old) != 90 {
		t.Fatalf("old Item delivered %d in %d days", len(u.added), h.DaysRequested(old))
	}
	for _, c := range []struct {
		copyDays, daysRequested int32
		want                    []string
	}{
		{730, 730, []string{"10", "89", "200", "729"}},
		{730, 90, []string{"10", "89"}},  // the new Item's own window holds
		{100, 730, []string{"10", "89"}}, // only what was copied
		{0, 730, []string{"10", "89", "200", "729"}},
	} {
		t.Run(fmt.Sprint(c.copyDays, "/", c.daysRequested), func(t *testing.T) {
			h.SetItemError(oldTok, "") // re-link from a working Item each time
			acct, tok := h.Relink(old, int(c.copyDays))
			u, _, _ := h.syncWith(tok, "", c.daysRequested)
			var got []string
			for _, tx := range u.added {
				var d string
				fmt.Sscan(tx.Name, &d)
				got = append(got, d)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(c.want))
			if !slices.Equal(got, want) || h.DaysRequested(acct) != int(c.daysRequested) {
				t.Fatalf("new Item delivered %v in %d days, want %v", got, h.DaysRequested(acct), want)
			}
		})
	}
}

func TestRelinkResponsesConformToPlaidSpec(t *testing.T) {
	loadSpec(t)
	h := newHarness(t)
	old, oldTok := h.AddAccount(plaidfake.Account{Name: "Card", Mask: "4242", Type: "credit", Subtype: "credit card", Opening: "10.00", Limit: "500.00"})
	h.AddTxn(plaidfake.Txn{AccountID: old, Amount: "12.34", Date: "2025-01-02", Name: "AWS"})
	h.AddTxn(plaidfake.Txn{AccountID: old, Amount: "7.00", Date: "2025-01-03", Name: "cafe", Pending: true})
	_, tok := h.Relink(old, 0)
	for _, path := range []string{"/processor/transactions/sync", "/processor/account/get", "/processor/balance/get"} {
		out := conforms(t, h, path, map[string]any{"processor_token": tok}, 200)
		decodes(t, path, 200, out)
		out = conforms(t, h, path, map[string]any{"processor_token": oldTok}, 400)
		decodes(t, path, 400, out)
	}
}

func TestDemoRelink(t *testing.T) {
	s, toks := plaidfake.Demo()
	h := attach(t, s)
	old := h.syncAll(toks["checking"], "", 500)
	oldAcct := h.accountGet(toks["checking"])

	tok := plaidfake.DemoRelink(s)
	_, r, err := h.page(toks["checking"], old.cursor, 100)
	wantPlaidErr(t, err, r, 400, "ITEM_ERROR", "ITEM_LOGIN_REQUIRED")
	got := h.accountGet(tok)
	if got.Account.AccountId == oldAcct.Account.AccountId || got.Account.GetMask() != "0000" ||
		got.InstitutionId != oldAcct.InstitutionId || s.Current(oldAcct.Account.AccountId) != "147973.48" ||
		s.Current(got.Account.AccountId) != "171092.12" { // the same balance plus the new deposit
		t.Fatalf("relinked demo checking: %+v, old %+v", got, oldAcct)
	}
	u := h.syncAll(tok, "", 500)
	var copied, fresh int
	oldFacts := map[string]bool{}
	for _, f := range facts(old.added) {
		oldFacts[f] = true
	}
	for _, f := range facts(u.added) {
		if oldFacts[f] {
			copied++
		} else {
			fresh++
		}
	}
	// February and March of the old history (28 rows), plus the deposit.
	if copied != 28 || fresh != 1 || len(u.added) != 29 {
		t.Fatalf("demo relink: %d copied, %d new of %d: %v", copied, fresh, len(u.added), slices.Sorted(maps.Keys(u.added)))
	}
	// The other demo Items are untouched.
	h.syncAll(toks["card"], "", 500)
}

func TestRelinkItemCopiesEveryAccount(t *testing.T) {
	clk := &clock{today}
	h := newHarness(t, plaidfake.WithClock(clk.now))
	oldAccess, oldItem := h.sandboxItem("ins_3", 730, "https://books.example/plaid/webhook")
	before, err := h.itemSyncAll(oldAccess, "", 500)
	if err != nil {
		t.Fatal(err)
	}
	oldAccts, _, _ := h.accounts(oldAccess)

	ex, _, err := h.exchange(h.RelinkItem(oldItem, 30))
	if err != nil || ex.ItemId == oldItem {
		t.Fatalf("exchange of the relinked Item: %+v %v", ex, err)
	}
	got, _, err := h.accounts(ex.AccessToken)
	if err != nil || got.Item.GetInstitutionId() != "ins_3" || got.Item.GetWebhook() != "https://books.example/plaid/webhook" || len(got.Accounts) != 2 {
		t.Fatalf("accounts/get: %+v %v", got, err)
	}
	for i, a := range got.Accounts {
		o := oldAccts.Accounts[i]
		if a.AccountId == o.AccountId || a.Name != o.Name || a.GetMask() != o.GetMask() || a.Type != o.Type ||
			a.GetSubtype() != o.GetSubtype() || a.Balances.GetCurrent() != o.Balances.GetCurrent() ||
			h.Current(a.AccountId) != h.Current(o.AccountId) {
			t.Errorf("account %d: %+v, old %+v", i, a, o)
		}
	}
	u, err := h.itemSyncAll(ex.AccessToken, "", 500)
	if err != nil || len(u.added) != 9 {
		t.Fatalf("relinked Item delivered %d (want the 9 of the last 30 days): %v", len(u.added), err)
	}
	recent := map[string]plaid.Transaction{}
	for id, tx := range before.added {
		if tx.Date >= daysAgo(30) {
			recent[id] = tx
		}
	}
	if !slices.Equal(facts(u.added), facts(recent)) {
		t.Fatalf("copy:\n got %v\nwant %v", facts(u.added), facts(recent))
	}
	for id := range u.added {
		if _, reused := before.added[id]; reused {
			t.Errorf("transaction id %s reused", id)
		}
	}
	_, r, err := h.itemPage(oldAccess, before.cursor, 10)
	wantPlaidErr(t, err, r, 400, "ITEM_ERROR", "ITEM_LOGIN_REQUIRED")
}
