package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"bankfeed/jobs"
	"bankfeed/ledger"
	"bankfeed/plaidapi"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

const testWebhookURL = "https://bankfeed.example.com/plaid/webhook"

// linkHarness is the API with the bankfeed-managed Plaid connection: the
// real plaid-go client against plaidfake, a real SQLite file, a clock the
// test moves, and the syncs webhooks ask for recorded.
type linkHarness struct {
	*harness
	srv    *plaidfake.Server
	client *plaidapi.Client
	runner *jobs.Runner
	mu     sync.Mutex
	now    time.Time
	synced []int64
}

func (l *linkHarness) clock() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.now
}

func (l *linkHarness) advance(d time.Duration) {
	l.mu.Lock()
	l.now = l.now.Add(d)
	l.mu.Unlock()
}

func (l *linkHarness) syncs() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int64(nil), l.synced...)
}

func newLinkHarness(t *testing.T, opts ...plaidfake.Option) *linkHarness {
	t.Helper()
	l := &linkHarness{now: fixedNow}
	l.srv = plaidfake.New(append([]plaidfake.Option{plaidfake.WithCredentials("cid", "sec"), plaidfake.WithClock(l.clock)}, opts...)...)
	ps := httptest.NewServer(l.srv)
	t.Cleanup(ps.Close)
	l.client = plaidapi.New(plaidapi.Config{BaseURL: ps.URL, ClientID: "cid", Secret: "sec", Timeout: 5 * time.Second,
		DaysRequested: 730, Sleep: func(context.Context, time.Duration) error { return nil }})
	h := &harness{t: t, st: openStore(t), log: &lockedBuffer{}}
	h.st.Now = l.clock
	h.url = serveChecked(t, NewHandler(h.st, Options{
		APIKeys: []string{apiKey}, Env: "sandbox", Log: zerolog.New(h.log), Now: l.clock,
		Plaid: l.client, WebhookURL: testWebhookURL, LinkJSURL: "/test/link-initialize.js",
		OnSync: func(id int64) { l.mu.Lock(); l.synced = append(l.synced, id); l.mu.Unlock() },
	})).URL
	l.harness = h
	l.runner = &jobs.Runner{Store: h.st, Plaid: l.client, Log: zerolog.New(io.Discard), Concurrency: 1,
		ProbeInterval: 6 * time.Hour, Now: l.clock}
	return l
}

// as sends a request with a scoped token instead of the API key.
func (l *linkHarness) as(scoped, method, path, body string) response {
	l.t.Helper()
	return l.do(method, path, body, withAuth("Bearer "+scoped))
}

func (l *linkHarness) scopedToken(business string) string {
	l.t.Helper()
	r := l.do("POST", "/v1/businesses/"+business+"/scoped-tokens", "")
	if r.status != http.StatusCreated {
		l.t.Fatalf("scoped token: %d %s", r.status, r.body)
	}
	var out struct {
		Token     string `json:"token"`
		ExpiresAt string `json:"expires_at"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil || !strings.HasPrefix(out.Token, "bfs_") {
		l.t.Fatalf("scoped token body %s", r.body)
	}
	if want := l.clock().Add(15 * time.Minute).Format(time.RFC3339); out.ExpiresAt != want {
		l.t.Errorf("expires_at %s, want %s", out.ExpiresAt, want)
	}
	return out.Token
}

func (l *linkHarness) business(id string) {
	l.t.Helper()
	if r := l.do("POST", "/v1/businesses", `{"id":"`+id+`"}`); r.status != http.StatusCreated {
		l.t.Fatalf("create business: %d %s", r.status, r.body)
	}
}

func (l *linkHarness) run() jobs.Summary {
	l.t.Helper()
	sum, err := l.runner.Run(context.Background(), jobs.JobSync)
	if err != nil {
		l.t.Fatalf("run: %v", err)
	}
	return sum
}

// exact asserts every account's ledger balance is the bank's, to the cent.
func (l *linkHarness) exact(accountIDs []string) {
	l.t.Helper()
	bals, err := l.st.LedgerBalances(context.Background(), "")
	if err != nil {
		l.t.Fatal(err)
	}
	by := map[string]store.LedgerBalance{}
	for _, b := range bals {
		by[b.PlaidAccountID] = b
	}
	for _, id := range accountIDs {
		b, ok := by[id]
		if !ok {
			l.t.Errorf("account %s has no ledger balance", id)
			continue
		}
		want, err := ledger.ParseAmount(l.srv.Current(id), b.Cur())
		if err != nil {
			l.t.Fatal(err)
		}
		if b.Balance != want {
			l.t.Errorf("account %s: ledger %s, bank %s", id, ledger.Format(b.Balance, b.Cur()), l.srv.Current(id))
		}
	}
}

func (l *linkHarness) items(scoped, business string) []ItemOut {
	l.t.Helper()
	r := l.as(scoped, "GET", "/v1/businesses/"+business+"/plaid/items", "")
	if r.status != http.StatusOK {
		l.t.Fatalf("items: %d %s", r.status, r.body)
	}
	var out []ItemOut
	if err := json.Unmarshal(r.body, &out); err != nil {
		l.t.Fatal(err)
	}
	return out
}

func (l *linkHarness) linkToken(scoped, business, body string) string {
	l.t.Helper()
	r := l.as(scoped, "POST", "/v1/businesses/"+business+"/plaid/link-token", body)
	if r.status != http.StatusCreated {
		l.t.Fatalf("link token: %d %s", r.status, r.body)
	}
	var lt struct {
		LinkToken  string `json:"link_token"`
		Expiration string `json:"expiration"`
	}
	if err := json.Unmarshal(r.body, &lt); err != nil || lt.LinkToken == "" || lt.Expiration == "" {
		l.t.Fatalf("link token body %s", r.body)
	}
	return lt.LinkToken
}

// The whole flow of issue 14 over real HTTP: scoped token, link token,
// public token, exchange, sync, login repair in update mode, removal.
func TestLinkFlowEndToEnd(t *testing.T) {
	l := newLinkHarness(t)
	ctx := context.Background()
	l.business("biz-1")
	scoped := l.scopedToken("biz-1")

	lt := l.linkToken(scoped, "biz-1", "")
	reqs := l.srv.LinkTokenRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d link token requests", len(reqs))
	}
	if r := reqs[0]; r.ClientUserID != "biz-1" || r.DaysRequested != 730 || r.Webhook != testWebhookURL ||
		len(r.Products) != 1 || r.Products[0] != "transactions" || r.AccessToken != "" {
		t.Errorf("link token request %+v", r)
	}

	pub := l.srv.LinkSuccess(lt)
	r := l.as(scoped, "POST", "/v1/businesses/biz-1/plaid/items", `{"public_token":"`+pub+`"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("exchange: %d %s", r.status, r.body)
	}
	var created itemCreatedOut
	if err := json.Unmarshal(r.body, &created); err != nil {
		t.Fatal(err)
	}
	accts := l.srv.ItemAccounts(created.ItemID)
	if len(created.Accounts) != len(accts) || len(accts) < 2 || created.InstitutionID == nil || *created.InstitutionID != "ins_109508" {
		t.Fatalf("created %s, want the Item's %d accounts", r.body, len(accts))
	}
	for _, a := range created.Accounts {
		if a.TokenHint != nil || a.ItemID == nil || *a.ItemID != created.ItemID {
			t.Errorf("account %s: token_hint %v item_id %v", a.AccountID, a.TokenHint, a.ItemID)
		}
	}
	if strings.Contains(string(r.body), "access-") {
		t.Errorf("the exchange answer shows an access token: %s", r.body)
	}
	itemTok, err := l.st.ItemByPlaidID(ctx, created.ItemID)
	if err != nil {
		t.Fatal(err)
	}
	if s := l.syncs(); len(s) != 1 || s[0] != itemTok.ID {
		t.Errorf("a new Item asks for a sync at once; got %v", s)
	}
	if r := l.as(scoped, "POST", "/v1/businesses/biz-1/plaid/items", `{"public_token":"`+pub+`"}`); r.status != http.StatusConflict {
		t.Errorf("the same public token twice: %d %s, want 409", r.status, r.body)
	}
	if r := l.as(scoped, "POST", "/v1/businesses/biz-1/plaid/items", `{"public_token":"public-sandbox-never-made"}`); r.status != http.StatusBadRequest {
		t.Errorf("an unknown public token: %d %s, want 400", r.status, r.body)
	}

	l.run()
	l.exact(accts)
	l.srv.AddTxn(plaidfake.Txn{AccountID: accts[1], Date: "2026-11-25", Name: "Stationery", Amount: "17.45"})
	l.srv.AddTxn(plaidfake.Txn{AccountID: accts[0], Date: "2026-11-25", Name: "Refund", Amount: "-8.00"})
	l.run()
	l.exact(accts)

	// The bank wants the login again: the Item is flagged, the page offers
	// Reconnect (update mode), and LOGIN_REPAIRED clears the flag.
	l.srv.SetItemErrorByID(created.ItemID, "ITEM_LOGIN_REQUIRED")
	if sum := l.run(); sum.Counts["flagged"] != 1 {
		t.Fatalf("counts %v, want the Item flagged", sum.Counts)
	}
	if it := l.items(scoped, "biz-1"); len(it) != 1 || it[0].Status != "needs_refresh" || it[0].Reason == nil || *it[0].Reason != "ITEM_LOGIN_REQUIRED" {
		t.Fatalf("items after the login error: %+v", it)
	}
	upd := l.linkToken(scoped, "biz-1", `{"item_id":"`+created.ItemID+`"}`)
	reqs = l.srv.LinkTokenRequests()
	if last := reqs[len(reqs)-1]; last.AccessToken == "" || last.Products != nil || last.ClientUserID != "biz-1" {
		t.Errorf("update mode request %+v: wants the Item's access token and no products", last)
	}
	if got := l.srv.LinkSuccess(upd); got != "" {
		t.Errorf("update mode handed over a public token %q", got)
	}
	l.hook(l.srv.ItemWebhook(created.ItemID, "LOGIN_REPAIRED"), http.StatusOK)
	if it := l.items(scoped, "biz-1"); it[0].Status != "active" || it[0].Reason != nil {
		t.Fatalf("items after LOGIN_REPAIRED: %+v", it)
	}
	l.run()
	l.exact(accts)

	access, err := l.st.Reveal(ctx, itemTok.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r := l.as(scoped, "DELETE", "/v1/businesses/biz-1/plaid/items/"+created.ItemID, ""); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if n := l.srv.Calls(access, "/item/remove"); n != 1 {
		t.Errorf("/item/remove called %d times", n)
	}
	if it := l.items(scoped, "biz-1"); it[0].Status != "removed" {
		t.Errorf("items after delete: %+v", it)
	}
	r = l.as(scoped, "GET", "/v1/businesses/biz-1/plaid/accounts", "")
	var after []AccountOut
	if err := json.Unmarshal(r.body, &after); err != nil || len(after) != len(accts) {
		t.Fatalf("accounts after delete: %s", r.body)
	}
	for _, a := range after {
		if a.TokenStatus != "unlinked" {
			t.Errorf("account %s is %s after its Item was removed, want unlinked", a.AccountID, a.TokenStatus)
		}
	}
	l.exact(accts) // the history stays
	if sum := l.run(); sum.Counts["synced"] != 0 {
		t.Errorf("a removed Item was synced: %v", sum.Counts)
	}

	// Nothing secret in the database files (the access token is sealed,
	// the scoped token hashed) or the log.
	for _, suffix := range []string{"", "-wal"} {
		b, _ := os.ReadFile(l.st.Path() + suffix)
		for name, secret := range map[string]string{"access token": access, "scoped token": scoped} {
			if strings.Contains(string(b), secret) {
				t.Errorf("bankfeed.db%s holds the %s in the clear", suffix, name)
			}
		}
	}
	log := l.log.String()
	for name, secret := range map[string]string{"access token": access, "scoped token": scoped, "API key": apiKey, "public token": pub} {
		if strings.Contains(log, secret) {
			t.Errorf("the request log contains the %s", name)
		}
	}
}

func (l *linkHarness) hook(body any, want int) {
	l.t.Helper()
	b, _ := json.Marshal(body)
	l.hookRaw(b, l.srv.WebhookHeader(b, l.clock(), l.srv.WebhookKeyID()), want)
}

func (l *linkHarness) hookRaw(body []byte, header string, want int) {
	l.t.Helper()
	req, _ := http.NewRequest("POST", l.url+"/plaid/webhook", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if header != "" {
		req.Header.Set("Plaid-Verification", header)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		l.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		l.t.Errorf("webhook answered %d, want %d", resp.StatusCode, want)
	}
}

func TestScopedTokensStayInTheirScope(t *testing.T) {
	l := newLinkHarness(t)
	l.business("biz-a")
	l.business("biz-b")
	a := l.scopedToken("biz-a")
	for _, c := range []struct {
		name, method, path, body string
		want                     int
	}{
		{"own accounts", "GET", "/v1/businesses/biz-a/plaid/accounts", "", 200},
		{"own items", "GET", "/v1/businesses/biz-a/plaid/items", "", 200},
		{"another business's accounts", "GET", "/v1/businesses/biz-b/plaid/accounts", "", 403},
		{"another business's items", "GET", "/v1/businesses/biz-b/plaid/items", "", 403},
		{"another business's link token", "POST", "/v1/businesses/biz-b/plaid/link-token", "", 403},
		{"create a business", "POST", "/v1/businesses", `{"id":"biz-c"}`, 403},
		{"read the business", "GET", "/v1/businesses/biz-a", "", 403},
		{"put tokens", "PUT", "/v1/businesses/biz-a", `{"plaid_processor_tokens":[]}`, 403},
		{"mint a scoped token", "POST", "/v1/businesses/biz-a/scoped-tokens", "", 403},
	} {
		t.Run(c.name, func(t *testing.T) {
			if r := l.as(a, c.method, c.path, c.body); r.status != c.want {
				t.Errorf("%d %s, want %d", r.status, r.body, c.want)
			} else if c.want == 403 && r.errCode(t) != "forbidden" {
				t.Errorf("code %s", r.errCode(t))
			}
		})
	}
	if r := l.as("bfs_tampered"+a[12:], "GET", "/v1/businesses/biz-a/plaid/items", ""); r.status != 401 {
		t.Errorf("a tampered scoped token: %d", r.status)
	}
	l.advance(15 * time.Minute)
	if r := l.as(a, "GET", "/v1/businesses/biz-a/plaid/items", ""); r.status != 401 || !strings.Contains(string(r.body), "expired") {
		t.Errorf("an expired scoped token: %d %s", r.status, r.body)
	}
	if r := l.do("POST", "/v1/businesses/nobody/scoped-tokens", ""); r.status != 404 {
		t.Errorf("a scoped token for an unknown business: %d", r.status)
	}
}

func TestLinkPageNeverHoldsTheToken(t *testing.T) {
	l := newLinkHarness(t)
	l.business("biz-p")
	scoped := l.scopedToken("biz-p")
	get := func(q string) (int, string) {
		resp, err := http.Get(l.url + "/link" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, page := get("?token=" + scoped)
	if status != 200 || !strings.Contains(page, `data-business="biz-p"`) || !strings.Contains(page, `src="/test/link-initialize.js"`) {
		t.Fatalf("page %d:\n%s", status, page)
	}
	if strings.Contains(page, scoped) {
		t.Error("the page's HTML contains the scoped token")
	}
	if strings.Count(page, "<script src=") != 1 || strings.Contains(page, "<link ") {
		t.Error("the page loads assets other than Plaid's script")
	}
	for _, q := range []string{"", "?token=bfs_unknown"} {
		if status, page := get(q); status != 401 || !strings.Contains(page, `role="alert"`) {
			t.Errorf("page%s: %d, want 401 with the reason in words", q, status)
		}
	}
	// The embeddable script is the page's own.
	resp, err := http.Get(l.url + "/link.js")
	if err != nil {
		t.Fatal(err)
	}
	js, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") || !strings.Contains(page, strings.TrimSpace(string(js))[:200]) {
		t.Errorf("/link.js: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	l.advance(16 * time.Minute)
	if status, page := get("?token=" + scoped); status != 401 || !strings.Contains(page, "expired") {
		t.Errorf("expired token page: %d", status)
	}
}

// httptestServer serves h, checked against the OpenAPI document.
func httptestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	return serveChecked(t, h).URL
}
