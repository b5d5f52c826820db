package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bankfeed/jobs"
	"bankfeed/plaidfake"
)

// linked links one Item for business through the API and syncs it once.
func (l *linkHarness) linked(business string) (itemID string, tokenID int64, accts []string) {
	l.t.Helper()
	l.business(business)
	lt := l.linkToken(l.scopedToken(business), business, "")
	pub := l.srv.LinkSuccess(lt)
	r := l.do("POST", "/v1/businesses/"+business+"/plaid/items", `{"public_token":"`+pub+`"}`)
	if r.status != http.StatusCreated {
		l.t.Fatalf("exchange: %d %s", r.status, r.body)
	}
	var created itemCreatedOut
	if err := json.Unmarshal(r.body, &created); err != nil {
		l.t.Fatal(err)
	}
	it, err := l.st.ItemByPlaidID(context.Background(), created.ItemID)
	if err != nil {
		l.t.Fatal(err)
	}
	l.run()
	return created.ItemID, it.ID, l.srv.ItemAccounts(created.ItemID)
}

func TestWebhookVerification(t *testing.T) {
	l := newLinkHarness(t)
	itemID, tokID, _ := l.linked("biz-w")
	body, _ := json.Marshal(l.srv.SyncUpdatesAvailable(itemID))
	kid := l.srv.WebhookKeyID()
	now := l.clock()
	before := len(l.syncs())
	other, _ := json.Marshal(l.srv.ItemWebhook(itemID, "LOGIN_REPAIRED"))
	forged := l.srv.WebhookHeader(body, now, kid)
	forged = forged[:len(forged)-4] + map[bool]string{true: "AAAA", false: "BBBB"}[forged[len(forged)-4:] != "AAAA"]
	for _, c := range []struct {
		name   string
		header string
	}{
		{"no header", ""},
		{"bad signature", forged},
		{"stale iat", l.srv.WebhookHeader(body, now.Add(-5*time.Minute-time.Second), kid)},
		{"iat in the future", l.srv.WebhookHeader(body, now.Add(time.Minute), kid)},
		{"another body's hash", l.srv.WebhookHeader(other, now, kid)},
		{"unknown kid", l.srv.WebhookHeader(body, now, "kid-nobody-knows")},
		{"not a JWT", "hello.world.again"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l.hookRaw(body, c.header, http.StatusUnauthorized)
		})
	}
	if got := len(l.syncs()); got != before {
		t.Fatalf("refused webhooks asked for %d syncs", got-before)
	}
	plaidCalls := l.srv.TotalCalls()
	for i := 0; i < 5; i++ {
		l.hookRaw(body, l.srv.WebhookHeader(body, now, kid), http.StatusOK)
	}
	if s := l.syncs(); len(s) != before+5 || s[len(s)-1] != tokID {
		t.Fatalf("valid webhooks asked for syncs %v, want 5 of token %d", s[before:], tokID)
	}
	if n := l.srv.TotalCalls() - plaidCalls; n != 0 {
		t.Errorf("5 webhooks signed by a key already seen made %d Plaid calls: keys are cached by kid", n)
	}
	// A rotated key is fetched by its new kid.
	newKid := l.srv.RotateWebhookKey()
	l.hookRaw(body, l.srv.WebhookHeader(body, now, newKid), http.StatusOK)
}

func TestItemWebhooksUpdateFlags(t *testing.T) {
	l := newLinkHarness(t)
	itemID, _, _ := l.linked("biz-f")
	state := func() ItemOut {
		it := l.items(l.scopedToken("biz-f"), "biz-f")
		return it[0]
	}
	l.hook(l.srv.ItemWebhook(itemID, "PENDING_DISCONNECT"), 200)
	if s := state(); s.Status != "active" || !s.PendingDisconnect {
		t.Errorf("after PENDING_DISCONNECT: %+v", s)
	}
	l.srv.SetItemErrorByID(itemID, "ITEM_LOGIN_REQUIRED")
	l.hook(l.srv.ItemWebhook(itemID, "ERROR"), 200)
	if s := state(); s.Status != "needs_refresh" || s.Reason == nil || *s.Reason != "ITEM_LOGIN_REQUIRED" ||
		s.Remedy == nil || !strings.Contains(*s.Remedy, "Reconnect") {
		t.Errorf("after ERROR: %+v", s)
	}
	l.hook(l.srv.ItemWebhook(itemID, "LOGIN_REPAIRED"), 200)
	if s := state(); s.Status != "active" {
		t.Errorf("after LOGIN_REPAIRED: %+v", s)
	}
	l.hook(l.srv.ItemWebhook(itemID, "USER_PERMISSION_REVOKED"), 200)
	if s := state(); s.Status != "needs_refresh" || *s.Reason != "USER_PERMISSION_REVOKED" {
		t.Errorf("after USER_PERMISSION_REVOKED: %+v", s)
	}
	// A webhook for an Item bankfeed does not hold is acknowledged, not acted on.
	l.hook(map[string]any{"webhook_type": "TRANSACTIONS", "webhook_code": "SYNC_UPDATES_AVAILABLE", "item_id": "unknown"}, 200)
}

// Webhooks through serve's coalescer into real syncs: a burst is folded,
// and the latency from webhook to ledger is measured (logged, not
// asserted: no time-based assertions in tests).
func TestWebhookBurstSyncsOnceAndFast(t *testing.T) {
	l := newLinkHarness(t)
	itemID, _, accts := l.linked("biz-c")
	var syncs atomic.Int32
	landed := make(chan time.Time, 10)
	co := &jobs.Coalescer{Sync: func(ctx context.Context, ids []int64) {
		syncs.Add(1)
		if _, err := l.runner.RunTargets(ctx, ids); err != nil {
			t.Errorf("webhook sync: %v", err)
		}
		landed <- time.Now()
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go co.Loop(ctx)
	// The handler under test hands syncs to the coalescer, as serve does.
	l.harness.url = newHookServer(t, l, co.Add)

	l.srv.AddTxn(plaidfake.Txn{AccountID: accts[0], Date: "2026-11-26", Name: "Webhook coffee", Amount: "4.50"})
	body := l.srv.SyncUpdatesAvailable(itemID)
	sent := time.Now()
	for i := 0; i < 50; i++ {
		l.hook(body, http.StatusOK)
	}
	burst := time.Since(sent)
	var at time.Time
	select {
	case at = <-landed:
	case <-time.After(10 * time.Second):
		t.Fatal("no sync within 10 s of the webhooks")
	}
	t.Logf("webhook-to-ledger latency: %s from the first of 50 webhooks (sent in %s)", at.Sub(sent).Round(time.Millisecond), burst.Round(time.Millisecond))
	l.exact(accts)
	time.Sleep(2500 * time.Millisecond) // let a folded follow-up, if any, start
	if n := syncs.Load(); n < 1 || n > 3 {
		t.Errorf("50 webhooks for one Item cost %d syncs, want 1 to 3", n)
	} else {
		t.Logf("50 webhooks for one Item: %d sync(s)", n)
	}
}

// newHookServer serves the API over l's store with onSync wired to fn.
func newHookServer(t *testing.T, l *linkHarness, fn func(int64)) string {
	t.Helper()
	hs := httptestServer(t, NewHandler(l.st, Options{APIKeys: []string{apiKey}, Env: "sandbox", Now: l.clock,
		Plaid: l.client, WebhookURL: testWebhookURL, OnSync: fn}))
	return hs
}

func TestProcessorWebhookSyncsItsToken(t *testing.T) {
	l := newLinkHarness(t)
	_, tok := l.srv.AddAccount(plaidfake.Account{Name: "Checking", Type: "depository", Subtype: "checking", ISOCurrency: "USD", Opening: "10.00"})
	if r := l.do("POST", "/v1/businesses", `{"id":"biz-pt","plaid_processor_tokens":[{"processor_token":"`+tok+`"}]}`); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	l.run()
	id := tokenID(t, l.st, "biz-pt", tok[len(tok)-4:])
	l.hook(l.srv.ProcessorSyncUpdatesAvailable(tok), 200)
	if s := l.syncs(); len(s) != 1 || s[0] != id {
		t.Errorf("a processor webhook asked for syncs %v, want token %d", s, id)
	}
}
