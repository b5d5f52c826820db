package plaidapi

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bankfeed/plaidfake"
)

const (
	pathItemSync = "/transactions/sync"
	pathExchange = "/item/public_token/exchange"
)

// linkedItem links a sandbox Item through the client, as the demo does.
func linkedItem(t *testing.T, fake *plaidfake.Server, c *Client, webhook string) (access, itemID string) {
	t.Helper()
	ctx := t.Context()
	public, err := c.SandboxPublicToken(ctx, "ins_3", webhook)
	if err != nil || !strings.HasPrefix(public, "public-sandbox-") {
		t.Fatalf("sandbox public token %q: %v", public, err)
	}
	access, itemID, err = c.ExchangePublicToken(ctx, public)
	if err != nil || !strings.HasPrefix(access, "access-sandbox-") || itemID == "" {
		t.Fatalf("exchange: %q %q %v", access, itemID, err)
	}
	// One exchange per public token.
	_, _, err = c.ExchangePublicToken(ctx, public)
	if e := asError(t, err, Fatal, public); !IsInvalidPublicToken(err) || e.Op != "exchange" {
		t.Fatalf("second exchange: %v", err)
	}
	return access, itemID
}

func TestLinkTokenRequests(t *testing.T) {
	fake, url := newFake(t)
	c := newClient(t, url, nil)
	ctx := t.Context()
	tok, exp, err := c.LinkToken(ctx, LinkTokenRequest{ClientUserID: "biz-42", Webhook: "https://books.example/plaid/webhook"})
	if err != nil || !strings.HasPrefix(tok, "link-sandbox-") || !exp.After(time.Now()) || exp.Location() != time.UTC {
		t.Fatalf("link token %q, expiration %v: %v", tok, exp, err)
	}
	if _, _, err := c.LinkToken(ctx, LinkTokenRequest{ClientUserID: "biz-42", DaysRequested: 400, ClientName: "Acme Books"}); err != nil {
		t.Fatal(err)
	}
	access, _ := linkedItem(t, fake, c, "")
	if _, _, err := c.LinkToken(ctx, LinkTokenRequest{ClientUserID: "biz-42", AccessToken: access}); err != nil {
		t.Fatalf("update mode: %v", err)
	}
	got := fake.LinkTokenRequests()
	if len(got) != 3 {
		t.Fatalf("fake saw %d link token requests", len(got))
	}
	for i, want := range []plaidfake.LinkTokenRequest{
		{LinkToken: tok, ClientName: "bankfeed", ClientUserID: "biz-42", Products: []string{"transactions"}, DaysRequested: 730,
			Webhook: "https://books.example/plaid/webhook", CountryCodes: []string{"US"}, Language: "en"},
		{ClientName: "Acme Books", ClientUserID: "biz-42", Products: []string{"transactions"}, DaysRequested: 400,
			CountryCodes: []string{"US"}, Language: "en"},
		// Update mode: no products and no days, as Plaid's spec asks.
		{ClientName: "bankfeed", ClientUserID: "biz-42", AccessToken: access, CountryCodes: []string{"US"}, Language: "en"},
	} {
		g := got[i]
		if i > 0 {
			want.LinkToken = g.LinkToken
		}
		if g.ClientName != want.ClientName || g.ClientUserID != want.ClientUserID || !slices.Equal(g.Products, want.Products) ||
			(g.Products == nil) != (want.Products == nil) || g.DaysRequested != want.DaysRequested || g.Webhook != want.Webhook ||
			g.AccessToken != want.AccessToken || !slices.Equal(g.CountryCodes, want.CountryCodes) || g.Language != want.Language ||
			g.LinkToken != want.LinkToken {
			t.Errorf("request %d = %+v, want %+v", i, g, want)
		}
	}

	before := c.Calls()
	for _, bad := range []LinkTokenRequest{{}, {ClientUserID: "biz-42", DaysRequested: 731}} {
		_, _, err := c.LinkToken(ctx, bad)
		asError(t, err, Fatal, "")
	}
	if c.Calls() != before {
		t.Errorf("bad requests reached Plaid: %d calls", c.Calls()-before)
	}
	// Plaid's refusal of an unknown access token names the token's problem.
	_, _, err = c.LinkToken(ctx, LinkTokenRequest{ClientUserID: "biz-42", AccessToken: "access-sandbox-gone"})
	if e := asError(t, err, InvalidToken, "access-sandbox-gone"); e.Code != "INVALID_ACCESS_TOKEN" {
		t.Fatalf("unknown access token: %v", err)
	}
}

func TestItemFlowThroughTheClient(t *testing.T) {
	fake, url := newFake(t)
	c := newClient(t, url, nil)
	ctx := t.Context()
	access, itemID := linkedItem(t, fake, c, "")
	ids := fake.ItemAccounts(itemID)
	if fake.DaysRequested(ids[0]) != 730 {
		t.Fatalf("the sandbox Item keeps %d days, want Config.DaysRequested", fake.DaysRequested(ids[0]))
	}

	inst, accts, err := c.ItemAccounts(ctx, access)
	if err != nil || inst != "ins_3" || len(accts) != 2 {
		t.Fatalf("item accounts: %q %+v %v", inst, accts, err)
	}
	chk, card := accts[0], accts[1]
	if chk.ID != ids[0] || chk.Type != "depository" || chk.Mask != "0000" || chk.Currency.Code != "USD" || chk.InstitutionID != "ins_3" ||
		*chk.Current != 1210_00-(50000+7850+540+2500-422) || card.ID != ids[1] || card.Subtype != "credit card" || *card.Limit != 2000_00 {
		t.Fatalf("accounts %+v / %+v, current %d", chk, card, *chk.Current)
	}

	// One cursor for the Item; pages mix its accounts.
	var pages []ItemPage
	cursor := ""
	for {
		p, err := c.ItemSync(ctx, access, cursor, 4)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
		cursor = p.NextCursor
		if !p.HasMore {
			break
		}
	}
	amounts := map[string]int64{}
	for _, p := range pages {
		if len(p.Accounts) != 2 || p.UpdateStatus != "HISTORICAL_UPDATE_COMPLETE" || p.RequestID == "" {
			t.Fatalf("page %+v", p)
		}
		for _, tx := range p.Added {
			amounts[tx.Name] = tx.Amount.Minor
			if tx.AccountID != ids[0] && tx.AccountID != ids[1] {
				t.Fatalf("transaction %s of account %s", tx.ID, tx.AccountID)
			}
		}
	}
	if len(pages) != 3 || len(amounts) != 11 || amounts["INTRST PYMNT"] != -422 || amounts["Starbucks"] != 433 {
		t.Fatalf("%d pages, amounts %v", len(pages), amounts)
	}
	fresh := fake.AddTxn(plaidfake.Txn{AccountID: ids[1], Amount: "0.29", Date: "2026-12-01", Name: "Gum"})
	p, err := c.ItemSync(ctx, access, cursor, 0)
	if err != nil || len(p.Added) != 1 || p.Added[0].ID != fresh || p.Added[0].Amount.Minor != 29 || p.Added[0].AccountID != ids[1] {
		t.Fatalf("next page %+v %v", p, err)
	}

	// Removal is idempotent; after it every token of the Item is dead.
	procTok := fake.NewToken(ids[0])
	if err := c.RemoveItem(ctx, access); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveItem(ctx, access); err != nil {
		t.Fatalf("second removal: %v", err)
	}
	_, err = c.ItemSync(ctx, access, p.NextCursor, 0)
	if e := asError(t, err, InvalidToken, access); e.Code != "ITEM_NOT_FOUND" || !NeedsNewToken(e.Code) {
		t.Fatalf("sync after removal: %v", err)
	}
	_, _, err = c.ItemAccounts(ctx, access)
	asError(t, err, InvalidToken, access)
	_, err = c.Sync(ctx, procTok, "", 0)
	asError(t, err, InvalidToken, procTok)
}

func TestItemSyncRetriesAndRestarts(t *testing.T) {
	fake, url := newFake(t)
	var sl sleeps
	c := newClient(t, url, func(cfg *Config) { cfg.Sleep = sl.sleep })
	access, itemID := linkedItem(t, fake, c, "")
	fake.Inject(access, plaidfake.Fault{Endpoint: pathItemSync, Kind: plaidfake.FaultPlaidError}, 1)
	fake.Inject(access, plaidfake.Fault{Endpoint: pathItemSync, Kind: plaidfake.FaultHTML502}, 1)
	first, err := c.ItemSync(t.Context(), access, "", 2)
	if err != nil || fake.Calls(access, pathItemSync) != 3 || len(sl.ds) != 2 {
		t.Fatalf("after two transient failures: %v, %d calls, %d sleeps", err, fake.Calls(access, pathItemSync), len(sl.ds))
	}
	// A change mid-loop is the caller's to restart, not retried here.
	fake.AddTxn(plaidfake.Txn{AccountID: fake.ItemAccounts(itemID)[1], Amount: "1.00", Date: "2026-12-01", Name: "mid-loop"})
	_, err = c.ItemSync(t.Context(), access, first.NextCursor, 2)
	if asError(t, err, Transient, access); !IsMutationDuringPagination(err) || fake.Calls(access, pathItemSync) != 4 {
		t.Fatalf("mutation during pagination: %v, %d calls", err, fake.Calls(access, pathItemSync))
	}
	// The Item needs a login: the token is flagged, not retried.
	fake.SetItemError(fake.NewToken(fake.ItemAccounts(itemID)[0]), "ITEM_LOGIN_REQUIRED")
	_, err = c.ItemSync(t.Context(), access, "", 2)
	if e := asError(t, err, InvalidToken, access); e.Code != "ITEM_LOGIN_REQUIRED" || fake.Calls(access, pathItemSync) != 5 {
		t.Fatalf("login required: %v", err)
	}
}

func itemSyncBody(accounts, added, removed string) string {
	return `{"accounts":[` + accounts + `],"added":[` + added + `],"modified":[],"removed":[` + removed + `],"next_cursor":"c2","has_more":false,` +
		`"request_id":"req-i1","transactions_update_status":"HISTORICAL_UPDATE_COMPLETE"}`
}

const (
	acc1 = `{"account_id":"acc1","name":"Checking","type":"depository","subtype":"checking","mask":"0000","official_name":null,` +
		`"balances":{"current":10,"available":null,"limit":null,"iso_currency_code":"USD","unofficial_currency_code":null}}`
	acc2 = `{"account_id":"acc2","name":"Card","type":"credit","subtype":"credit card","mask":"4242","official_name":null,` +
		`"balances":{"current":5,"available":null,"limit":100,"iso_currency_code":"USD","unofficial_currency_code":null}}`
	txnAcc2 = `{"transaction_id":"t1","account_id":"acc2","amount":1.5,"iso_currency_code":"USD","unofficial_currency_code":null,"date":"2026-02-03","name":"x","pending":false,"payment_channel":"other"}`
	txnAcc3 = `{"transaction_id":"t3","account_id":"acc3","amount":1.5,"iso_currency_code":"USD","unofficial_currency_code":null,"date":"2026-02-03","name":"x","pending":false,"payment_channel":"other"}`
)

func TestItemPagesWeRefuse(t *testing.T) {
	const access = "access-sandbox-0d1e2a3d-beef-4c0f-9e1e-000000000042"
	for _, tc := range []struct {
		name  string
		body  string
		known []string
		msg   string // "" = accepted
	}{
		{"transactions of two accounts", itemSyncBody(acc1+","+acc2, txnAcc2, `{"transaction_id":"t0","account_id":"acc1"}`), nil, ""},
		{"NOT_READY", `{"accounts":[],"added":[],"modified":[],"removed":[],"next_cursor":"","has_more":false,"request_id":"req-n","transactions_update_status":"NOT_READY"}`, nil, ""},
		{"an account the page does not list", itemSyncBody(acc1+","+acc2, txnAcc3, ""), nil, `transaction t3 belongs to account "acc3", not one of this Item's`},
		{"an account bankfeed knows", itemSyncBody(acc1+","+acc2, txnAcc3, ""), []string{"acc3"}, ""},
		{"removed from a stranger", itemSyncBody(acc1, "", `{"transaction_id":"t7","account_id":"acc9"}`), nil, "removed transaction t7 belongs to account"},
		{"no accounts but a cursor", itemSyncBody("", "", ""), nil, "response has no accounts"},
		{"the same account twice", itemSyncBody(acc1+","+acc1, "", ""), nil, "account acc1 listed twice"},
		{"no request_id", strings.Replace(itemSyncBody(acc1, "", ""), `"req-i1"`, `""`, 1), nil, "no request_id"},
		{"has_more without a cursor", strings.Replace(strings.Replace(itemSyncBody(acc1, "", ""), `"c2"`, `""`, 1), `"has_more":false`, `"has_more":true`, 1), nil, "has_more with an unchanged cursor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, _, _ := serve(t, 200, "application/json", tc.body)
			c := newClient(t, url, nil)
			p, err := c.ItemSync(t.Context(), access, "", 500, tc.known...)
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				for _, tx := range p.Added {
					if tx.Amount.Minor != 150 {
						t.Errorf("amount %d", tx.Amount.Minor)
					}
				}
				return
			}
			asError(t, err, Fatal, access)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q lacks %q", err, tc.msg)
			}
		})
	}
}

func TestAccessTokensAreScrubbed(t *testing.T) {
	const access = "access-sandbox-0d1e2a3d-beef-4c0f-9e1e-000000000042"
	echo := `{"error_type":"INVALID_INPUT","error_code":"INVALID_ACCESS_TOKEN","error_message":"token ` + access +
		` with secret ` + testSecret + ` is bad","request_id":"req-` + access + `"}`
	url, _, _ := serve(t, 400, "application/json", echo)
	c := newClient(t, url, nil)
	ctx := t.Context()
	_, err := c.ItemSync(ctx, access, "", 0)
	assertNoSecrets(t, err, access)
	_, _, err = c.ItemAccounts(ctx, access)
	assertNoSecrets(t, err, access)
	assertNoSecrets(t, c.RemoveItem(ctx, access), access)
	_, _, err = c.LinkToken(ctx, LinkTokenRequest{ClientUserID: "biz-1", AccessToken: access})
	assertNoSecrets(t, err, access)
	_, _, err = c.ExchangePublicToken(ctx, access) // a public token is scrubbed the same way
	assertNoSecrets(t, err, access)
	if !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("expected a redaction in %q", err)
	}
}

// A lost answer may have spent the public token: the retry's refusal is
// not the caller's reuse.
func TestExchangeAfterALostAnswer(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		w.Write([]byte(`{"error_type":"INVALID_INPUT","error_code":"INVALID_PUBLIC_TOKEN","error_message":"bad public token","request_id":"req-2"}`))
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL, nil)
	_, _, err := c.ExchangePublicToken(t.Context(), "public-sandbox-x")
	if e := asError(t, err, Transient, "public-sandbox-x"); !IsInvalidPublicToken(err) || !strings.Contains(e.Message, "may have exchanged") || n.Load() != 2 {
		t.Fatalf("after a lost answer: %v (%d calls)", err, n.Load())
	}
}

func TestWebhookKeyAndProcessorWebhook(t *testing.T) {
	fake, url := newFake(t)
	c := newClient(t, url, nil)
	ctx := t.Context()
	kid := fake.WebhookKeyID()
	k, err := c.WebhookKey(ctx, kid)
	if err != nil || k.Kid != kid || k.Alg != "ES256" || k.Crv != "P-256" || k.Kty != "EC" || k.Use != "sig" ||
		len(k.X) != 43 || len(k.Y) != 43 || k.CreatedAt.IsZero() || !k.ExpiredAt.IsZero() {
		t.Fatalf("key %+v: %v", k, err)
	}
	fake.RotateWebhookKey()
	if old, err := c.WebhookKey(ctx, kid); err != nil || old.ExpiredAt.IsZero() {
		t.Fatalf("rotated key %+v: %v", old, err)
	}
	_, err = c.WebhookKey(ctx, "no-such-kid")
	if e := asError(t, err, Fatal, ""); e.Code != "INVALID_WEBHOOK_VERIFICATION_KEY_ID" {
		t.Fatalf("unknown kid: %v", err)
	}

	_, tok := fake.AddAccount(plaidfake.Account{})
	if err := c.SetProcessorWebhook(ctx, tok, "https://books.example/plaid/webhook"); err != nil || fake.ProcessorWebhook(tok) != "https://books.example/plaid/webhook" {
		t.Fatalf("set webhook: %v, fake has %q", err, fake.ProcessorWebhook(tok))
	}
	if err := c.SetProcessorWebhook(ctx, tok, ""); err != nil || fake.ProcessorWebhook(tok) != "" {
		t.Fatalf("clear webhook: %v, fake has %q", err, fake.ProcessorWebhook(tok))
	}
	err = c.SetProcessorWebhook(ctx, "processor-sandbox-nope", "https://books.example/plaid/webhook")
	asError(t, err, InvalidToken, "processor-sandbox-nope")
}

func TestWebhookKeysWeRefuse(t *testing.T) {
	good := `{"alg":"ES256","crv":"P-256","kid":"k1","kty":"EC","use":"sig","x":"` + strings.Repeat("A", 43) + `","y":"` + strings.Repeat("B", 43) + `","created_at":1700000000,"expired_at":null}`
	for _, tc := range []struct{ name, key, msg string }{
		{"good", good, ""},
		{"another kid", strings.Replace(good, `"k1"`, `"k2"`, 1), `asked for key "k1", got "k2"`},
		{"RS256", strings.Replace(good, "ES256", "RS256", 1), "not ES256/P-256/EC"},
		{"short x", strings.Replace(good, strings.Repeat("A", 43), "AAAA", 1), "x is not 32 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, _, _ := serve(t, 200, "application/json", `{"key":`+tc.key+`,"request_id":"req-k"}`)
			k, err := newClient(t, url, nil).WebhookKey(t.Context(), "k1")
			if tc.msg == "" {
				if err != nil || k.CreatedAt.Unix() != 1700000000 {
					t.Fatalf("%+v %v", k, err)
				}
				return
			}
			asError(t, err, Fatal, "")
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q lacks %q", err, tc.msg)
			}
		})
	}
}
