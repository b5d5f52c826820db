package jobs_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"
	"time"

	"bankfeed/jobs"
	"bankfeed/plaidapi"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

// linkItem links a sandbox Item for business the way the API does
// (public token, exchange, /accounts/get, stored sealed) and returns its
// item_id and the Plaid ids of its accounts.
func (e *env) linkItem(business string) (string, []string) {
	e.t.Helper()
	return e.linkItemHooked(business, "")
}

// linkItemHooked links an Item whose link token named webhook.
func (e *env) linkItemHooked(business, webhook string) (string, []string) {
	e.t.Helper()
	ctx := context.Background()
	c := plaidapi.New(plaidapi.Config{BaseURL: e.http.URL, ClientID: "cid", Secret: "sec"})
	if _, err := e.store.PutTokens(ctx, business, "sandbox", nil, true); err != nil {
		e.t.Fatal(err)
	}
	pub, err := c.SandboxPublicToken(ctx, "ins_109508", webhook)
	if err != nil {
		e.t.Fatal(err)
	}
	access, itemID, err := c.ExchangePublicToken(ctx, pub)
	if err != nil {
		e.t.Fatal(err)
	}
	inst, accts, err := c.ItemAccounts(ctx, access)
	if err != nil {
		e.t.Fatal(err)
	}
	in := store.ItemInput{BusinessID: business, ItemID: itemID, InstitutionID: inst, AccessToken: access, PublicToken: pub, WebhookURL: webhook}
	for _, a := range accts {
		in.Accounts = append(in.Accounts, store.AccountInfo{PlaidAccountID: a.ID, Name: a.Name, Mask: a.Mask, Type: a.Type,
			Subtype: a.Subtype, Currency: a.Currency.Code, CurrencyExponent: a.Currency.Exponent})
	}
	if _, err := e.store.AddItem(ctx, in); err != nil {
		e.t.Fatal(err)
	}
	return itemID, e.srv.ItemAccounts(itemID)
}

func TestItemSyncsEveryAccountExactly(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	itemID, accts := e.linkItem("biz-item")
	if len(accts) < 2 {
		t.Fatalf("the sandbox Item has %d accounts; the test needs several", len(accts))
	}
	sum := e.run(jobs.JobSync)
	if sum.Counts["synced"] != 1 {
		t.Fatalf("counts %v, want one Item synced", sum.Counts)
	}
	e.checkExact(accts...)

	// Changes on both accounts arrive in one stream, with a page size (7)
	// that splits them over several pages.
	for i := 0; i < 6; i++ {
		e.srv.AddTxn(plaidfake.Txn{AccountID: accts[0], Date: "2026-11-25", Name: "Coffee", Amount: "3.10"})
		e.srv.AddTxn(plaidfake.Txn{AccountID: accts[1], Date: "2026-11-25", Name: "Lunch", Amount: "12.00"})
	}
	e.run(jobs.JobSync)
	e.checkExact(accts...)

	items, err := e.store.Items(ctx, "biz-item")
	if err != nil || len(items) != 1 || items[0].ItemID != itemID || len(items[0].AccountIDs) != len(accts) {
		t.Fatalf("items %+v, %v", items, err)
	}
	// An Item is no processor token: tokens list leaves it out, and a
	// replace of the business's tokens does not remove it.
	if toks, _ := e.store.Tokens(ctx, store.TokenFilter{BusinessID: "biz-item"}); len(toks) != 0 {
		t.Errorf("tokens list shows %d tokens for a business with only an Item", len(toks))
	}
	e.put("biz-item")
	if it, _ := e.store.ItemByPlaidID(ctx, itemID); it.Status != store.StatusActive {
		t.Errorf("a processor-token replace changed the Item to %s", it.Status)
	}
	views, err := e.store.Accounts(ctx, "biz-item")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range views {
		if v.ItemID != itemID || v.TokenStatus != store.StatusActive {
			t.Errorf("account %s: item %q status %s", v.PlaidAccountID, v.ItemID, v.TokenStatus)
		}
	}
}

func TestItemMutationDuringPaginationRestarts(t *testing.T) {
	e := newEnv(t)
	_, accts := e.linkItem("biz-mut")
	e.run(jobs.JobSync)
	for i := 0; i < 10; i++ {
		e.srv.AddTxn(plaidfake.Txn{AccountID: accts[i%2], Date: "2026-11-24", Name: "Shop", Amount: "1.25"})
	}
	e.srv.SetMutationDuringPagination(true)
	sum, err := e.runner.Run(context.Background(), jobs.JobSync)
	e.srv.SetMutationDuringPagination(false)
	if err == nil {
		// Plaid kept failing past the restart budget: the next run converges.
		t.Logf("first run: %v", sum.Counts)
	}
	e.run(jobs.JobSync)
	e.checkExact(accts...)
}

func TestItemLoginRequiredFlagsAndProbeRepairs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	itemID, accts := e.linkItem("biz-flag")
	e.run(jobs.JobSync)
	e.srv.SetItemErrorByID(itemID, "ITEM_LOGIN_REQUIRED")
	sum := e.run(jobs.JobSync)
	if sum.Counts["flagged"] != 1 {
		t.Fatalf("counts %v, want the Item flagged", sum.Counts)
	}
	it, _ := e.store.ItemByPlaidID(ctx, itemID)
	if it.Status != store.StatusNeedsRefresh || it.Reason != "ITEM_LOGIN_REQUIRED" {
		t.Fatalf("item %s %s", it.Status, it.Reason)
	}
	e.srv.SetItemErrorByID(itemID, "")
	e.now = e.now.Add(7 * 3600e9)
	e.run(jobs.JobAll)
	if it, _ = e.store.ItemByPlaidID(ctx, itemID); it.Status != store.StatusActive {
		t.Fatalf("after the repair the Item is %s", it.Status)
	}
	e.checkExact(accts...)
}

func TestProcessorTokensArePointedAtTheWebhookOnce(t *testing.T) {
	e := newEnv(t)
	chk, tok := e.srv.AddAccount(plaidfake.Account{Name: "Checking", Type: "depository", Subtype: "checking", ISOCurrency: "USD", Opening: "100.00"})
	e.put("biz-hook", tok)
	e.run(jobs.JobSync)
	if got := e.srv.ProcessorWebhook(tok); got != "" {
		t.Fatalf("without BANKFEED_WEBHOOK_URL the token's webhook was set to %q", got)
	}
	e.runner.WebhookURL = "https://bankfeed.example.com/plaid/webhook"
	e.run(jobs.JobSync)
	e.run(jobs.JobSync)
	if got := e.srv.ProcessorWebhook(tok); got != e.runner.WebhookURL {
		t.Fatalf("webhook %q, want %q", got, e.runner.WebhookURL)
	}
	if n := e.srv.Calls(tok, "/processor/token/webhook/update"); n != 1 {
		t.Errorf("the webhook was set %d times; once per URL is enough", n)
	}
	e.runner.WebhookURL = "https://bankfeed2.example.com/plaid/webhook"
	e.run(jobs.JobSync)
	if got := e.srv.ProcessorWebhook(tok); got != e.runner.WebhookURL {
		t.Errorf("after the URL changed the webhook is %q", got)
	}
	e.checkExact(chk)
}

// An Item's webhook is moved with /item/webhook/update, once per URL: the
// processor endpoint refuses an access token, and a refusal would flag a
// healthy Item.
func TestItemsArePointedAtTheWebhookOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	itemID, _ := e.linkItem("biz-item-hook")
	item, err := e.store.ItemByPlaidID(ctx, itemID)
	if err != nil {
		t.Fatal(err)
	}
	access, err := e.store.Reveal(ctx, item.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{"https://bankfeed.example.com/plaid/webhook", "https://bankfeed2.example.com/plaid/webhook"} {
		e.runner.WebhookURL = url
		for range 2 {
			if sum := e.run(jobs.JobSync); sum.Counts["synced"] != 1 {
				t.Fatalf("counts %v, want the Item synced", sum.Counts)
			}
		}
		if got := e.srv.ItemWebhookURL(itemID); got != url {
			t.Fatalf("the Item's webhook is %q, want %q", got, url)
		}
	}
	if n := e.srv.Calls(access, "/item/webhook/update"); n != 2 {
		t.Errorf("the Item's webhook was set %d times; once per URL is enough", n)
	}
	items, err := e.store.Items(ctx, "biz-item-hook")
	if err != nil || len(items) != 1 || items[0].Status != store.StatusActive {
		t.Fatalf("items %+v, %v: want one active Item", items, err)
	}
	// An Item linked with the URL in its link token needs no update.
	linked, _ := e.linkItemHooked("biz-item-hooked", e.runner.WebhookURL)
	e.run(jobs.JobSync)
	tok, err := e.store.ItemByPlaidID(ctx, linked)
	if err != nil {
		t.Fatal(err)
	}
	access2, err := e.store.Reveal(ctx, tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.srv.Calls(access2, "/item/webhook/update"); n != 0 || e.srv.ItemWebhookURL(linked) != e.runner.WebhookURL {
		t.Errorf("an Item linked with the webhook in its link token: %d updates, webhook %q", n, e.srv.ItemWebhookURL(linked))
	}
}

func TestRunTargetsSyncsOnlyThoseTokens(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	itemID, accts := e.linkItem("biz-t")
	_, tok := e.srv.AddAccount(plaidfake.Account{Name: "Other", Type: "depository", Subtype: "checking", ISOCurrency: "USD", Opening: "5.00"})
	e.put("biz-other", tok)
	it, _ := e.store.ItemByPlaidID(ctx, itemID)
	sum, err := e.runner.RunTargets(ctx, []int64{it.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Results) != 1 || sum.Results[0].TokenID != it.ID || sum.Results[0].Outcome != "synced" {
		t.Fatalf("results %+v, want the Item alone synced", sum.Results)
	}
	if n := e.srv.Calls(tok, "/processor/transactions/sync"); n != 0 {
		t.Errorf("the other token was synced %d times", n)
	}
	e.checkExact(accts...)
	// The next full run syncs everything again.
	e.run(jobs.JobSync)
	if n := e.srv.Calls(tok, "/processor/transactions/sync"); n == 0 {
		t.Error("after RunTargets a full run left the other token out")
	}
}

// A flagged Item is one entry of the report's tokens, whatever its
// accounts, and its accounts reconcile as needs_refresh.
func TestReportListsAFlaggedItemOnce(t *testing.T) {
	e := newEnv(t)
	itemID, accts := e.linkItem("biz-rep")
	e.run(jobs.JobSync)
	e.srv.SetItemErrorByID(itemID, "ITEM_LOGIN_REQUIRED")
	e.run(jobs.JobSync)
	dir := t.TempDir()
	_, paths, err := jobs.Reconcile(context.Background(), e.store, jobs.ReconcileOptions{Dir: dir, Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	d := readDocument(t, paths[0])
	if len(d.Tokens) != 1 {
		t.Fatalf("tokens %+v, want the Item once", d.Tokens)
	}
	tk := d.Tokens[0]
	if tk.ItemID == nil || *tk.ItemID != itemID || tk.TokenHint != nil || tk.AccountID != nil || tk.Status != "needs_refresh" ||
		tk.Reason == nil || *tk.Reason != "ITEM_LOGIN_REQUIRED" {
		t.Errorf("token entry %+v", tk)
	}
	if d.Summary.NeedsRefresh != 1 || d.Summary.Accounts != len(accts) {
		t.Errorf("summary %+v, want the Item counted once over %d accounts", d.Summary, len(accts))
	}
	for _, a := range d.Accounts {
		if a.Status != "needs_refresh" {
			t.Errorf("account %s: %s", a.AccountID, a.Status)
		}
	}
}

// doctor rebuilds the journal from the page log for Items too: the Item
// pages are split per account as the sync did.
func TestDoctorReplaysItems(t *testing.T) {
	e := newEnv(t)
	itemID, accts := e.linkItem("biz-doc")
	e.run(jobs.JobSync)
	for i := 0; i < 5; i++ {
		e.srv.AddTxn(plaidfake.Txn{AccountID: accts[i%2], Date: "2026-11-25", Name: "Shop", Amount: "2.50"})
	}
	pend := e.srv.AddTxn(plaidfake.Txn{AccountID: accts[0], Date: "2026-11-25", Name: "Hold", Amount: "30.00", Pending: true})
	e.run(jobs.JobSync)
	e.srv.PostPending(pend, plaidfake.Txn{Date: "2026-11-26", Name: "Hold", Amount: "31.00"}, true)
	e.run(jobs.JobSync)
	e.checkExact(accts...)
	rep, err := jobs.Doctor(context.Background(), e.store, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Replayed < 3 || rep.Rebuilt != rep.Entries {
		t.Fatalf("doctor over Item %s: %+v", itemID, rep)
	}
}

const itemSyncPath = "/transactions/sync"

// killItemAfter starts a child run and SIGKILLs it while it waits on a
// stalled Item page, once the Item has made `calls` sync calls.
func (e *env) killItemAfter(access string, calls int) {
	e.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = e.childEnv()
	base := e.srv.Calls(access, itemSyncPath)
	if calls == 0 {
		e.srv.Inject(access, plaidfake.Fault{Endpoint: itemSyncPath, Kind: plaidfake.FaultStall}, 1)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	waitCalls := func(n int) {
		for e.srv.Calls(access, itemSyncPath)-base < n && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	if calls > 0 {
		waitCalls(calls)
		e.srv.Inject(access, plaidfake.Fault{Endpoint: itemSyncPath, Kind: plaidfake.FaultStall}, 1)
	}
	waitCalls(calls + 1)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	e.srv.ClearFaults()
	e.srv.Release()
}

// Kills during an Item's multi-account sync, on stalled pages and at
// random: every next run converges on the bank for every account.
func TestKilledMidItemSyncConverges(t *testing.T) {
	e := newEnv(t, plaidfake.WithLatency(5*time.Millisecond))
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 5))
	itemID, accts := e.linkItem("biz-kill")
	for i := 0; i < 20; i++ {
		e.srv.AddTxn(plaidfake.Txn{AccountID: accts[i%2], Amount: fmt.Sprintf("%d.%02d", i, i), Date: "2026-11-01", Name: "seed"})
	}
	it, err := e.store.ItemByPlaidID(ctx, itemID)
	if err != nil {
		t.Fatal(err)
	}
	access, err := e.store.Reveal(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	kills := 0
	for k := 0; k < 4; k++ { // the first sync (page size 5 in the child: several pages)
		e.killItemAfter(access, k)
		kills++
	}
	e.run(jobs.JobSync)
	e.checkExact(accts...)
	var ids []string
	for round := 0; round < 3; round++ {
		for i := 0; i < 9; i++ {
			ids = append(ids, e.srv.AddTxn(plaidfake.Txn{AccountID: accts[i%2], Amount: "1.10", Date: "2026-11-20", Name: "new"}))
		}
		e.srv.RemoveTxn(ids[0])
		ids = ids[1:]
		e.srv.ModifyTxn(ids[rng.IntN(len(ids))], func(t *plaidfake.Txn) { t.Amount = "7.77" })
		e.killItemAfter(access, round%3)
		kills++
		e.run(jobs.JobSync)
		e.checkExact(accts...)
		e.srv.AddTxn(plaidfake.Txn{AccountID: accts[1], Amount: "3.33", Date: "2026-11-21", Name: "k"})
		e.killAtRandom(rng)
		kills++
		e.run(jobs.JobSync)
		e.checkExact(accts...)
	}
	t.Logf("%d kill points during an Item's sync survived", kills)
	if n := countUpdates(t, e, "open"); n != 0 {
		t.Fatalf("%d updates left open", n)
	}
	if n := countUpdates(t, e, "abandoned"); n < 4 {
		t.Fatalf("only %d updates were cut off: the kills missed the Item's loop", n)
	}
	rep, err := jobs.Doctor(ctx, e.store, 0)
	if err != nil || !rep.OK {
		t.Fatalf("doctor after the kills: %+v %v", rep, err)
	}
}

// An Item's access token is sealed with the processor tokens' key and
// rotates with it: after rotate-key the Item syncs under the new key, and
// the old key opens nothing.
func TestItemAccessTokenRotatesWithTheKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	itemID, accts := e.linkItem("biz-rot")
	_, tok := e.srv.AddAccount(plaidfake.Account{Name: "Checking", Type: "depository", Subtype: "checking", ISOCurrency: "USD", Opening: "1.00"})
	e.put("biz-proc", tok)
	e.run(jobs.JobSync)
	n, err := e.store.RotateKey(ctx, []byte("fedcba9876543210fedcba9876543210"))
	if err != nil || n != 2 {
		t.Fatalf("rotated %d tokens (%v), want the processor token and the Item", n, err)
	}
	e.srv.AddTxn(plaidfake.Txn{AccountID: accts[0], Date: "2026-11-25", Name: "After rotation", Amount: "6.00"})
	if sum := e.run(jobs.JobSync); sum.Counts["synced"] != 2 {
		t.Fatalf("after rotation: %v", sum.Counts)
	}
	e.checkExact(accts...)
	old, err := store.Open(ctx, e.store.Path(), testKey, store.Options{ReadOnly: true})
	if err == nil {
		it, _ := old.ItemByPlaidID(ctx, itemID)
		if _, rerr := old.Reveal(ctx, it.ID); rerr == nil {
			t.Error("the old key still opens the Item's access token")
		}
		old.Close()
	}
}
