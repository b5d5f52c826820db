package plaidfake_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"bankfeed/plaidfake"

	"github.com/plaid/plaid-go/v29/plaid"
)

func (h *harness) linkToken(userID string, days int32, webhook, accessToken string) (plaid.LinkTokenCreateResponse, *http.Response, error) {
	req := plaid.NewLinkTokenCreateRequest("bankfeed", "en", []plaid.CountryCode{plaid.COUNTRYCODE_US}, *plaid.NewLinkTokenCreateRequestUser(userID))
	if accessToken == "" {
		req.SetProducts([]plaid.Products{plaid.PRODUCTS_TRANSACTIONS})
	} else {
		req.SetAccessToken(accessToken)
	}
	if days > 0 {
		tx := plaid.LinkTokenTransactions{}
		tx.SetDaysRequested(days)
		req.SetTransactions(tx)
	}
	if webhook != "" {
		req.SetWebhook(webhook)
	}
	return h.c.PlaidApi.LinkTokenCreate(h.t.(*testing.T).Context()).LinkTokenCreateRequest(*req).Execute()
}

func (h *harness) exchange(public string) (plaid.ItemPublicTokenExchangeResponse, *http.Response, error) {
	return h.c.PlaidApi.ItemPublicTokenExchange(h.t.(*testing.T).Context()).
		ItemPublicTokenExchangeRequest(*plaid.NewItemPublicTokenExchangeRequest(public)).Execute()
}

func (h *harness) accounts(access string) (plaid.AccountsGetResponse, *http.Response, error) {
	return h.c.PlaidApi.AccountsGet(h.t.(*testing.T).Context()).AccountsGetRequest(*plaid.NewAccountsGetRequest(access)).Execute()
}

func (h *harness) itemPage(access, cursor string, count int32) (plaid.TransactionsSyncResponse, *http.Response, error) {
	req := plaid.NewTransactionsSyncRequest(access)
	req.SetCount(count)
	if cursor != "" {
		req.SetCursor(cursor)
	}
	return h.c.PlaidApi.TransactionsSync(h.t.(*testing.T).Context()).TransactionsSyncRequest(*req).Execute()
}

// itemSyncAll runs one /transactions/sync loop, checking each page carries
// the Item's accounts and only their transactions.
func (h *harness) itemSyncAll(access, cursor string, count int32) (update, error) {
	u := update{added: map[string]plaid.Transaction{}, modified: map[string]plaid.Transaction{}, cursor: cursor}
	for {
		r, _, err := h.itemPage(access, u.cursor, count)
		if err != nil {
			return u, err
		}
		u.pages++
		ids := map[string]bool{}
		for _, a := range r.Accounts {
			ids[a.AccountId] = true
		}
		for _, t := range slices.Concat(r.Added, r.Modified) {
			if !ids[t.AccountId] {
				h.t.Fatalf("transaction %s of account %s is not among the page's accounts %v", t.TransactionId, t.AccountId, ids)
			}
		}
		for _, t := range r.Added {
			u.added[t.TransactionId] = t
		}
		for _, t := range r.Modified {
			u.modified[t.TransactionId] = t
		}
		for _, rm := range r.Removed {
			u.removed = append(u.removed, rm.TransactionId)
		}
		u.cursor = r.NextCursor
		if !r.HasMore {
			return u, nil
		}
	}
}

func (h *harness) sandboxItem(institution string, days int32, webhook string) (access, itemID string) {
	h.t.Helper()
	req := plaid.NewSandboxPublicTokenCreateRequest(institution, []plaid.Products{plaid.PRODUCTS_TRANSACTIONS})
	o := plaid.SandboxPublicTokenCreateRequestOptions{}
	if webhook != "" {
		o.SetWebhook(webhook)
	}
	if days > 0 {
		tx := plaid.SandboxPublicTokenCreateRequestOptionsTransactions{}
		tx.SetDaysRequested(days)
		o.SetTransactions(tx)
	}
	req.SetOptions(o)
	pt, _, err := h.c.PlaidApi.SandboxPublicTokenCreate(h.t.(*testing.T).Context()).SandboxPublicTokenCreateRequest(*req).Execute()
	if err != nil {
		h.t.Fatalf("sandbox public token: %v %s", err, errBody(err))
	}
	ex, _, err := h.exchange(pt.PublicToken)
	if err != nil {
		h.t.Fatalf("exchange: %v %s", err, errBody(err))
	}
	return ex.AccessToken, ex.ItemId
}

func TestLinkFlow(t *testing.T) {
	clk := &clock{today}
	h := newHarness(t, plaidfake.WithClock(clk.now))
	lt, _, err := h.linkToken("biz-7", 730, "https://books.example/plaid/webhook", "")
	if err != nil || !strings.HasPrefix(lt.LinkToken, "link-sandbox-") || !lt.Expiration.After(today) {
		t.Fatalf("link token: %+v %v %s", lt, err, errBody(err))
	}
	reqs := h.LinkTokenRequests()
	if len(reqs) != 1 || reqs[0].ClientUserID != "biz-7" || !slices.Equal(reqs[0].Products, []string{"transactions"}) ||
		reqs[0].DaysRequested != 730 || reqs[0].Webhook != "https://books.example/plaid/webhook" || reqs[0].AccessToken != "" ||
		reqs[0].LinkToken != lt.LinkToken {
		t.Fatalf("recorded %+v", reqs)
	}

	public := h.LinkSuccess(lt.LinkToken)
	ex, _, err := h.exchange(public)
	if err != nil || !strings.HasPrefix(ex.AccessToken, "access-sandbox-") || ex.ItemId == "" {
		t.Fatalf("exchange: %+v %v", ex, err)
	}
	// A public token is good for one exchange.
	_, r, err := h.exchange(public)
	wantPlaidErr(t, err, r, 400, "INVALID_INPUT", "INVALID_PUBLIC_TOKEN")
	_, r, err = h.exchange("public-sandbox-unknown")
	wantPlaidErr(t, err, r, 400, "INVALID_INPUT", "INVALID_PUBLIC_TOKEN")

	got, _, err := h.accounts(ex.AccessToken)
	if err != nil || got.Item.ItemId != ex.ItemId || got.Item.GetInstitutionId() != "ins_109508" ||
		got.Item.GetWebhook() != "https://books.example/plaid/webhook" || len(got.Accounts) != 2 {
		t.Fatalf("accounts/get: %+v %v", got, err)
	}
	ids := h.ItemAccounts(ex.ItemId)
	if got.Accounts[0].AccountId != ids[0] || got.Accounts[1].AccountId != ids[1] || got.Accounts[1].Type != "credit" ||
		h.DaysRequested(ids[0]) != 730 || h.ItemID(ids[1]) != ex.ItemId {
		t.Fatalf("accounts %+v, fake's %v, window %d", got.Accounts, ids, h.DaysRequested(ids[0]))
	}

	// One cursor for the Item, pages across both accounts.
	u, err := h.itemSyncAll(ex.AccessToken, "", 3)
	if err != nil || len(u.added) != 11 || u.pages != 4 {
		t.Fatalf("item sync: %d added in %d pages, %v", len(u.added), u.pages, err)
	}
	fresh := h.AddTxn(plaidfake.Txn{AccountID: ids[1], Amount: "3.50", Date: daysAgo(0), Name: "Blue Bottle"})
	next, err := h.itemSyncAll(ex.AccessToken, u.cursor, 3)
	if _, ok := next.added[fresh]; err != nil || !ok || len(next.added) != 1 {
		t.Fatalf("next item sync: %+v %v", next, err)
	}
	if o := h.LastSyncOptions(ex.AccessToken); o.Sent {
		t.Fatalf("options recorded %+v", o)
	}

	// Update mode repairs the login; products must be left out.
	h.SetItemError(h.NewToken(ids[0]), "ITEM_LOGIN_REQUIRED")
	_, r, err = h.itemPage(ex.AccessToken, next.cursor, 10)
	wantPlaidErr(t, err, r, 400, "ITEM_ERROR", "ITEM_LOGIN_REQUIRED")
	resp, body := h.post("/link/token/create", map[string]any{"client_name": "bankfeed", "language": "en", "country_codes": []string{"US"},
		"user": map[string]any{"client_user_id": "biz-7"}, "access_token": ex.AccessToken, "products": []string{"transactions"}}, creds)
	if resp.StatusCode != 400 || !bytes.Contains(body, []byte("INVALID_FIELD")) {
		t.Fatalf("update mode with products: %d %s", resp.StatusCode, body)
	}
	upd, _, err := h.linkToken("biz-7", 0, "", ex.AccessToken)
	if err != nil {
		t.Fatalf("update-mode link token: %v %s", err, errBody(err))
	}
	if last := h.LinkTokenRequests()[1]; last.Products != nil || last.AccessToken != ex.AccessToken {
		t.Fatalf("update mode recorded %+v", last)
	}
	if h.LinkSuccess(upd.LinkToken) != "" {
		t.Fatal("update mode gave a public token")
	}
	if _, err := h.itemSyncAll(ex.AccessToken, next.cursor, 10); err != nil {
		t.Fatalf("after the repair: %v", err)
	}

	// Removal: every token of the Item is dead.
	procTok := h.NewToken(ids[1])
	if _, _, err := h.c.PlaidApi.ItemRemove(t.Context()).ItemRemoveRequest(*plaid.NewItemRemoveRequest(ex.AccessToken)).Execute(); err != nil {
		t.Fatalf("item/remove: %v", err)
	}
	_, r, err = h.accounts(ex.AccessToken)
	wantPlaidErr(t, err, r, 400, "ITEM_ERROR", "ITEM_NOT_FOUND")
	_, r, err = h.itemPage(ex.AccessToken, "", 10)
	wantPlaidErr(t, err, r, 400, "ITEM_ERROR", "ITEM_NOT_FOUND")
	_, r, err = h.page(procTok, "", 10)
	wantPlaidErr(t, err, r, 400, "ITEM_ERROR", "ITEM_NOT_FOUND")
	_, r, err = h.c.PlaidApi.ItemRemove(t.Context()).ItemRemoveRequest(*plaid.NewItemRemoveRequest(ex.AccessToken)).Execute()
	wantPlaidErr(t, err, r, 400, "ITEM_ERROR", "ITEM_NOT_FOUND")
	_, r, err = h.accounts("access-sandbox-unknown")
	wantPlaidErr(t, err, r, 400, "INVALID_INPUT", "INVALID_ACCESS_TOKEN")
}

// Item sync follows the processor sync's rules: pulls, the days_requested
// window and mutations during pagination.
func TestItemSyncRules(t *testing.T) {
	clk := &clock{today}
	h := newHarness(t, plaidfake.WithClock(clk.now), plaidfake.WithPulls())
	access, itemID := h.sandboxItem("ins_3", 30, "")
	ids := h.ItemAccounts(itemID)
	if h.DaysRequested(ids[0]) != 30 {
		t.Fatalf("window %d, want the 30 days of the public token's options", h.DaysRequested(ids[0]))
	}
	// The defaults have transactions 33 and 40 days old: outside 30 days.
	u, err := h.itemSyncAll(access, "", 500)
	if err != nil || len(u.added) != 9 {
		t.Fatalf("first sync: %d added, %v", len(u.added), err)
	}

	// Pulls: the bank moves, the Item sees it after the pull.
	h.AddTxn(plaidfake.Txn{AccountID: ids[0], Amount: "1.00", Date: daysAgo(0), Name: "unpulled"})
	if again, _ := h.itemSyncAll(access, u.cursor, 500); len(again.added) != 0 {
		t.Fatalf("before the pull: %+v", again)
	}
	h.PullAll()

	// A change to either account between pages restarts the loop.
	h.AddTxn(plaidfake.Txn{AccountID: ids[0], Amount: "2.00", Date: daysAgo(0), Name: "second"})
	h.PullAll()
	first, _, err := h.itemPage(access, u.cursor, 1)
	if err != nil || !first.HasMore || len(first.Accounts) != 2 {
		t.Fatalf("first page: %+v %v", first, err)
	}
	h.AddTxn(plaidfake.Txn{AccountID: ids[1], Amount: "3.00", Date: daysAgo(0), Name: "on the card"})
	h.PullAll()
	_, r, err := h.itemPage(access, first.NextCursor, 1)
	wantPlaidErr(t, err, r, 400, "TRANSACTIONS_ERROR", "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION")
	restart, err := h.itemSyncAll(access, u.cursor, 1)
	if err != nil || len(restart.added) != 3 {
		t.Fatalf("restart: %d added, %v", len(restart.added), err)
	}
	// Processor cursors and Item cursors do not mix.
	_, r, err = h.itemPage(access, h.syncAll(h.NewToken(ids[0]), "", 100).cursor, 10)
	wantPlaidErr(t, err, r, 400, "INVALID_REQUEST", "INVALID_FIELD")
}

// jwsParts splits a Plaid-Verification header and checks its signature
// against the JWK the fake serves.
func verifyJWS(t *testing.T, h *harness, header string, body []byte) (kid string, iat int64) {
	t.Helper()
	parts := strings.Split(header, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", header)
	}
	var hdr struct{ Alg, Kid, Typ string }
	raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if err := json.Unmarshal(raw, &hdr); err != nil || hdr.Alg != "ES256" || hdr.Typ != "JWT" || hdr.Kid == "" {
		t.Fatalf("JWS header %s", raw)
	}
	key, _, err := h.c.PlaidApi.WebhookVerificationKeyGet(t.Context()).
		WebhookVerificationKeyGetRequest(*plaid.NewWebhookVerificationKeyGetRequest(hdr.Kid)).Execute()
	if err != nil {
		t.Fatalf("key %s: %v %s", hdr.Kid, err, errBody(err))
	}
	k := key.Key
	if k.Alg != "ES256" || k.Crv != "P-256" || k.Kty != "EC" || k.Use != "sig" || k.Kid != hdr.Kid || k.CreatedAt == 0 {
		t.Fatalf("JWK %+v", k)
	}
	x, _ := base64.RawURLEncoding.DecodeString(k.X)
	y, _ := base64.RawURLEncoding.DecodeString(k.Y)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), slices.Concat([]byte{4}, x, y))
	if err != nil {
		t.Fatalf("JWK point: %v", err)
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if len(sig) != 64 || !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatalf("signature does not verify with the served key")
	}
	var payload struct {
		Iat  int64  `json:"iat"`
		Hash string `json:"request_body_sha256"`
	}
	raw, _ = base64.RawURLEncoding.DecodeString(parts[1])
	json.Unmarshal(raw, &payload)
	sum := sha256.Sum256(body)
	if payload.Hash != hex.EncodeToString(sum[:]) {
		t.Fatalf("request_body_sha256 %s, want the body's %x", payload.Hash, sum)
	}
	return hdr.Kid, payload.Iat
}

// receiver records webhooks as they arrive.
type receiver struct {
	mu   sync.Mutex
	got  []received
	srv  *httptest.Server
	code int
}

type received struct {
	header string
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{code: 200}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Header.Get("Plaid-Verification"), b})
		code := r.code
		r.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func TestWebhooksAreSignedLikePlaids(t *testing.T) {
	clk := &clock{today}
	h := newHarness(t, plaidfake.WithClock(clk.now))
	rcv := newReceiver(t)
	_, itemID := h.sandboxItem("ins_109508", 0, "")

	body := h.SyncUpdatesAvailable(itemID)
	if err := h.SendWebhook(rcv.srv.URL, body); err != nil {
		t.Fatal(err)
	}
	got := rcv.all()
	if len(got) != 1 {
		t.Fatalf("received %d", len(got))
	}
	kid, iat := verifyJWS(t, h, got[0].header, got[0].body)
	var sent map[string]any
	json.Unmarshal(got[0].body, &sent)
	if kid != h.WebhookKeyID() || iat != today.Unix() || sent["webhook_code"] != "SYNC_UPDATES_AVAILABLE" || sent["item_id"] != itemID ||
		sent["historical_update_complete"] != true || sent["environment"] != "sandbox" {
		t.Fatalf("kid %s iat %d body %s", kid, iat, got[0].body)
	}

	// Forged headers for the verifier's tests.
	stale := h.WebhookHeader(got[0].body, today.Add(-10*time.Minute), kid)
	if _, iat := verifyJWS(t, h, stale, got[0].body); iat != today.Add(-10*time.Minute).Unix() {
		t.Fatalf("stale iat %d", iat)
	}
	unknown := h.WebhookHeader(got[0].body, today, "no-such-kid")
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(unknown, ".")[0])
	if !bytes.Contains(raw, []byte(`"kid":"no-such-kid"`)) {
		t.Fatalf("forged header %s", raw)
	}
	_, r, err := h.c.PlaidApi.WebhookVerificationKeyGet(t.Context()).
		WebhookVerificationKeyGetRequest(*plaid.NewWebhookVerificationKeyGetRequest("no-such-kid")).Execute()
	wantPlaidErr(t, err, r, 400, "INVALID_INPUT", "INVALID_WEBHOOK_VERIFICATION_KEY_ID")

	// A rotated key is still served, with expired_at.
	clk.t = clk.t.Add(time.Hour)
	newKid := h.RotateWebhookKey()
	old, _, err := h.c.PlaidApi.WebhookVerificationKeyGet(t.Context()).
		WebhookVerificationKeyGetRequest(*plaid.NewWebhookVerificationKeyGetRequest(kid)).Execute()
	if err != nil || newKid == kid || int64(old.Key.GetExpiredAt()) != clk.t.Unix() || h.WebhookKeyID() != newKid {
		t.Fatalf("rotation: new %s old %+v %v", newKid, old.Key, err)
	}
	for _, code := range []string{"ERROR", "LOGIN_REPAIRED", "PENDING_DISCONNECT", "USER_PERMISSION_REVOKED"} {
		if err := h.SendWebhook(rcv.srv.URL, h.ItemWebhook(itemID, code)); err != nil {
			t.Fatal(err)
		}
	}
	got = rcv.all()
	if k, _ := verifyJWS(t, h, got[len(got)-1].header, got[len(got)-1].body); k != newKid || len(got) != 5 ||
		!bytes.Contains(got[1].body, []byte(`"error_code":"ITEM_LOGIN_REQUIRED"`)) || !bytes.Contains(got[1].body, []byte(`"status":400`)) {
		t.Fatalf("item webhooks: %d, first %s", len(got), got[1].body)
	}
	rcv.code = 500
	if err := h.SendWebhook(rcv.srv.URL, body); err == nil {
		t.Fatal("a 500 from the receiver went unreported")
	}
}

func TestAutomaticWebhooks(t *testing.T) {
	h := newHarness(t, plaidfake.WithWebhooks())
	itemRcv, procRcv := newReceiver(t), newReceiver(t)
	access, itemID := h.sandboxItem("ins_109508", 0, itemRcv.srv.URL)
	ids := h.ItemAccounts(itemID)
	procTok := h.NewToken(ids[0])
	if _, _, err := h.c.PlaidApi.ProcessorTokenWebhookUpdate(t.Context()).ProcessorTokenWebhookUpdateRequest(
		*plaid.NewProcessorTokenWebhookUpdateRequest(procTok, *plaid.NewNullableString(plaid.PtrString(procRcv.srv.URL)))).Execute(); err != nil {
		t.Fatal(err)
	}
	if h.ProcessorWebhook(procTok) != procRcv.srv.URL {
		t.Fatalf("processor webhook %q", h.ProcessorWebhook(procTok))
	}

	// Plaid sends SYNC_UPDATES_AVAILABLE only once sync was called.
	h.AddTxn(plaidfake.Txn{AccountID: ids[0], Amount: "1.00", Date: "2026-12-01", Name: "before any sync"})
	h.FlushWebhooks()
	if len(itemRcv.all())+len(procRcv.all()) != 0 {
		t.Fatalf("webhooks before the first sync: %d %d", len(itemRcv.all()), len(procRcv.all()))
	}
	if _, err := h.itemSyncAll(access, "", 100); err != nil {
		t.Fatal(err)
	}
	h.AddTxn(plaidfake.Txn{AccountID: ids[1], Amount: "2.00", Date: "2026-12-02", Name: "card"})
	h.AddTxn(plaidfake.Txn{AccountID: ids[0], Amount: "3.00", Date: "2026-12-02", Name: "checking"})
	h.FlushWebhooks()
	items, procs := itemRcv.all(), procRcv.all()
	if len(items) != 2 || len(procs) != 1 || len(h.Deliveries()) != 3 {
		t.Fatalf("deliveries: %d to the Item, %d to the processor token (want 2 and 1)", len(items), len(procs))
	}
	verifyJWS(t, h, items[0].header, items[0].body)
	verifyJWS(t, h, procs[0].header, procs[0].body)
	if !bytes.Contains(items[0].body, []byte(`"item_id":"`+itemID+`"`)) || !bytes.Contains(procs[0].body, []byte(`"account_id":"`+ids[0]+`"`)) {
		t.Fatalf("bodies %s / %s", items[0].body, procs[0].body)
	}
	for _, d := range h.Deliveries() {
		if d.Err != nil {
			t.Errorf("delivery to %s: %v", d.URL, d.Err)
		}
	}
}

func TestLinkSideConformsToPlaidSpec(t *testing.T) {
	doc, _ := loadSpec(t)
	clk := &clock{today}
	h := newHarness(t, plaidfake.WithClock(clk.now))
	check := func(path string, body map[string]any, status int) []byte {
		t.Helper()
		return conforms(t, h, path, body, status)
	}
	var out struct {
		Link   string `json:"link_token"`
		Public string `json:"public_token"`
		Access string `json:"access_token"`
		Item   string `json:"item_id"`
	}
	link := map[string]any{"client_name": "bankfeed", "language": "en", "country_codes": []string{"US"},
		"user": map[string]any{"client_user_id": "biz-1"}, "products": []string{"transactions"},
		"transactions": map[string]any{"days_requested": 730}, "webhook": "https://books.example/plaid/webhook"}
	json.Unmarshal(check("/link/token/create", link, 200), &out)
	check("/link/token/create", map[string]any{"client_name": "bankfeed"}, 400)
	json.Unmarshal(check("/sandbox/public_token/create", map[string]any{"institution_id": "ins_109508",
		"initial_products": []string{"transactions"}, "options": map[string]any{"webhook": "https://books.example/plaid/webhook"}}, 200), &out)
	json.Unmarshal(check("/item/public_token/exchange", map[string]any{"public_token": out.Public}, 200), &out)
	check("/item/public_token/exchange", map[string]any{"public_token": out.Public}, 400)
	access := map[string]any{"access_token": out.Access}
	check("/accounts/get", access, 200)
	check("/transactions/sync", map[string]any{"access_token": out.Access, "count": 2}, 200)
	check("/transactions/sync", map[string]any{"access_token": out.Access, "count": 500,
		"options": map[string]any{"include_original_description": true}}, 200)
	update := map[string]any{"client_name": "bankfeed", "language": "en", "country_codes": []string{"US"},
		"user": map[string]any{"client_user_id": "biz-1"}, "access_token": out.Access}
	check("/link/token/create", update, 200)
	check("/item/webhook/update", map[string]any{"access_token": out.Access, "webhook": "https://books2.example/plaid/webhook"}, 200)
	check("/item/webhook/update", map[string]any{"access_token": "access-sandbox-nope", "webhook": nil}, 400)

	acct, tok := checking(h)
	h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "1.00", Date: daysAgo(1), Name: "x"})
	check("/processor/token/webhook/update", map[string]any{"processor_token": tok, "webhook": "https://books.example/plaid/webhook"}, 200)
	check("/processor/token/webhook/update", map[string]any{"processor_token": tok, "webhook": nil}, 200)
	check("/processor/token/webhook/update", map[string]any{"processor_token": "processor-sandbox-nope", "webhook": nil}, 400)
	check("/webhook_verification_key/get", map[string]any{"key_id": h.WebhookKeyID()}, 200)
	h.RotateWebhookKey()
	check("/webhook_verification_key/get", map[string]any{"key_id": h.WebhookKeyID()}, 200)
	check("/webhook_verification_key/get", map[string]any{"key_id": "nope"}, 400)

	h.SetItemError(tok, "ITEM_LOGIN_REQUIRED") // the processor account's own Item
	itemID := h.ItemAccounts(out.Item)
	h.SetItemError(h.NewToken(itemID[0]), "ITEM_LOGIN_REQUIRED")
	check("/accounts/get", access, 400)
	check("/transactions/sync", access, 400)
	check("/item/remove", access, 200)
	check("/accounts/get", access, 400)

	// Webhook bodies against their schemas in the spec.
	webhooks := map[string]map[string]any{
		"SyncUpdatesAvailableWebhook":          h.SyncUpdatesAvailable(out.Item),
		"ProcessorSyncUpdatesAvailableWebhook": h.ProcessorSyncUpdatesAvailable(tok),
		"ItemErrorWebhook":                     h.ItemWebhook(out.Item, "ERROR"),
		"ItemLoginRepairedWebhook":             h.ItemWebhook(out.Item, "LOGIN_REPAIRED"),
		"PendingDisconnectWebhook":             h.ItemWebhook(out.Item, "PENDING_DISCONNECT"),
		"UserPermissionRevokedWebhook":         h.ItemWebhook(out.Item, "USER_PERMISSION_REVOKED"),
	}
	for name, body := range webhooks {
		ref := doc.Components.Schemas[name]
		if ref == nil {
			t.Fatalf("no schema %s in the spec", name)
		}
		raw, _ := json.Marshal(body)
		var v any
		json.Unmarshal(raw, &v)
		if err := ref.Value.VisitJSON(v); err != nil {
			t.Errorf("%s does not conform: %v\n%s", name, err, raw)
		}
	}
}

// WithPulls, Plaid learns of a change at its pull, and says so then.
func TestAutomaticWebhooksFollowPulls(t *testing.T) {
	h := newHarness(t, plaidfake.WithWebhooks(), plaidfake.WithPulls())
	rcv := newReceiver(t)
	access, itemID := h.sandboxItem("ins_109508", 0, rcv.srv.URL)
	if _, err := h.itemSyncAll(access, "", 100); err != nil {
		t.Fatal(err)
	}
	h.AddTxn(plaidfake.Txn{AccountID: h.ItemAccounts(itemID)[0], Amount: "1.00", Date: "2026-12-01", Name: "at the bank"})
	h.FlushWebhooks()
	if n := len(rcv.all()); n != 0 {
		t.Fatalf("%d webhooks before the pull", n)
	}
	h.PullAll()
	h.PullAll() // nothing new: no second webhook
	h.FlushWebhooks()
	if got := rcv.all(); len(got) != 1 || !bytes.Contains(got[0].body, []byte(`"webhook_code":"SYNC_UPDATES_AVAILABLE"`)) {
		t.Fatalf("after the pull: %d webhooks", len(got))
	}
	// A removed Item is told nothing.
	h.SetItemErrorByID(itemID, "ITEM_LOGIN_REQUIRED")
	_, r, err := h.itemPage(access, "", 10)
	wantPlaidErr(t, err, r, 400, "ITEM_ERROR", "ITEM_LOGIN_REQUIRED")
	h.SetItemErrorByID(itemID, "")
	h.c.PlaidApi.ItemRemove(t.Context()).ItemRemoveRequest(*plaid.NewItemRemoveRequest(access)).Execute()
	h.AddTxn(plaidfake.Txn{AccountID: h.ItemAccounts(itemID)[0], Amount: "2.00", Date: "2026-12-02", Name: "after removal"})
	h.PullAll()
	h.FlushWebhooks()
	if n := len(rcv.all()); n != 1 {
		t.Fatalf("%d webhooks after removal, want still 1", n)
	}
}
