package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"bankfeed/api"
	"bankfeed/plaidapi"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

func TestItemsListAndLink(t *testing.T) {
	env, srv, _ := world(t)
	env["BANKFEED_LISTEN"] = "0.0.0.0:8443"
	if r := bf(t, env, "business", "put", "biz-l"); r.code != 0 {
		t.Fatalf("put: %s", r.stderr)
	}
	if r := bf(t, env, "link", "nobody"); r.code != 2 || !strings.Contains(r.stderr, `no business "nobody"`) {
		t.Fatalf("link for an unknown business: %d %q", r.code, r.stderr)
	}
	r := bf(t, env, "link", "biz-l")
	if r.code != 0 {
		t.Fatalf("link: %d %s", r.code, r.stderr)
	}
	u, err := url.Parse(strings.TrimSpace(r.stdout))
	if err != nil || u.Host != "localhost:8443" || u.Path != "/link" || !strings.HasPrefix(u.Query().Get("token"), store.ScopedTokenPrefix) {
		t.Fatalf("link printed %q", r.stdout)
	}
	// The token is a working scoped token of that business.
	cfg, _ := (&app{getenv: func(k string) string { return env[k] }}).config()
	st, err := store.Open(context.Background(), env["BANKFEED_DB"], []byte(cfg.TokenKey.Reveal()), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if biz, _, err := st.ScopedToken(context.Background(), u.Query().Get("token")); err != nil || biz != "biz-l" {
		t.Errorf("scoped token resolves to %q, %v", biz, err)
	}
	// An Item linked for the business shows in items list.
	c := plaidapi.New(plaidapi.Config{BaseURL: env["PLAID_BASE_URL"], ClientID: env["PLAID_CLIENT_ID"], Secret: env["PLAID_SECRET"]})
	pub, _ := c.SandboxPublicToken(context.Background(), "ins_109508", "")
	access, itemID, err := c.ExchangePublicToken(context.Background(), pub)
	if err != nil {
		t.Fatal(err)
	}
	inst, accts, _ := c.ItemAccounts(context.Background(), access)
	in := store.ItemInput{BusinessID: "biz-l", ItemID: itemID, InstitutionID: inst, AccessToken: access}
	for _, a := range accts {
		in.Accounts = append(in.Accounts, api.AccountInfo(a))
	}
	if _, err := st.AddItem(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if r := bf(t, env, "--run-once", "--job", "sync"); r.code != 0 {
		t.Fatalf("run: %d %s", r.code, r.stderr)
	}
	r = bf(t, env, "items", "list", "--json")
	var items []api.ItemOut
	if err := json.Unmarshal([]byte(r.stdout), &items); err != nil || len(items) != 1 || items[0].ItemID != itemID ||
		items[0].Status != "active" || len(items[0].AccountIDs) != len(srv.ItemAccounts(itemID)) || items[0].LastSyncedAt == nil {
		t.Fatalf("items list: %s %v", r.stdout, err)
	}
	r = bf(t, env, "accounts", "list", "--business", "biz-l")
	if !strings.Contains(r.stdout, "item "+itemID) {
		t.Errorf("accounts list does not name the Item:\n%s", r.stdout)
	}
	for _, out := range []string{r.stdout, bf(t, env, "items", "list").stdout, bf(t, env, "--run-once", "--job", "sync").stdout} {
		if strings.Contains(out, access) {
			t.Error("an output shows the access token")
		}
	}
}

// A real serve process with BANKFEED_WEBHOOK_URL: it points the processor
// token's webhooks at itself, and a SYNC_UPDATES_AVAILABLE brings the new
// transaction into the ledger within seconds. The latency is logged (the
// figure in the README's closing note), not asserted.
func TestServeSyncsOnWebhook(t *testing.T) {
	env, srv, tok := world(t)
	// A business put two days ago: serve catches up the daily sync it
	// missed since (a fresh database has missed nothing).
	st := openDB(t, env, false)
	st.Now = func() time.Time { return time.Now().UTC().Add(-48 * time.Hour) }
	if _, err := st.PutTokens(context.Background(), "biz1", "sandbox", []string{tok["checking"]}, true); err != nil {
		t.Fatal(err)
	}
	st.Close()
	listen := freePort(t)
	hook := "http://" + listen + "/plaid/webhook"
	env["BANKFEED_LISTEN"] = listen
	env["BANKFEED_WEBHOOK_URL"] = hook
	env["BANKFEED_SYNC_SCHEDULE"] = "@every 24h" // only the start-up catch-up and webhooks sync
	cmd, _, done := startServe(t, env)
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-done
		_ = cmd.Wait()
	}()
	balance := func() string {
		r := bf(t, env, "ledger", "balances", "--json")
		var bals []api.LedgerBalanceOut
		_ = json.Unmarshal([]byte(r.stdout), &bals)
		for _, b := range bals {
			if b.AccountID == "acc_checking" {
				return b.LedgerBalance
			}
		}
		return ""
	}
	waitChange := func(from string, limit time.Duration) (string, time.Duration) {
		start := time.Now()
		for time.Since(start) < limit {
			if b := balance(); b != from {
				return b, time.Since(start)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("the ledger stayed at %q for %s", from, limit)
		return "", 0
	}
	first, _ := waitChange("", 20*time.Second) // the start-up catch-up sync
	if got := srv.ProcessorWebhook(tok["checking"]); got != hook {
		t.Fatalf("serve pointed the token's webhook at %q, want %q", got, hook)
	}
	srv.AddTxn(plaidfake.Txn{AccountID: "acc_checking", Amount: "25.00", Date: "2026-10-06", Name: "Webhook lunch"})
	if err := srv.SendWebhook(hook, srv.ProcessorSyncUpdatesAvailable(tok["checking"])); err != nil {
		t.Fatal(err)
	}
	after, took := waitChange(first, 20*time.Second)
	t.Logf("serve: webhook sent -> transaction in the ledger in %s (balance %s -> %s; the coalescer's 250 ms burst window is most of it)",
		took.Round(time.Millisecond), first, after)

	// A forged webhook is refused and changes nothing.
	body := []byte(`{"webhook_type":"TRANSACTIONS","webhook_code":"SYNC_UPDATES_AVAILABLE","account_id":"acc_checking"}`)
	req, _ := http.NewRequest("POST", hook, bytes.NewReader(body))
	req.Header.Set("Plaid-Verification", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a forged webhook got %d", resp.StatusCode)
	}
}

// sandbox --webhook-url keeps changing the bank and tells the URL, signed.
func TestSandboxPushesWebhooks(t *testing.T) {
	got := make(chan string, 10)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("Plaid-Verification") != "" {
			got <- string(b)
		}
	}))
	defer hs.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out, errb bytes.Buffer
	go func() {
		done <- run(ctx, []string{"sandbox", "--listen", "127.0.0.1:0", "--webhook-url", hs.URL + "/plaid/webhook", "--every", "20ms"},
			func(string) string { return "" }, strings.NewReader(""), &out, &errb)
	}()
	select {
	case b := <-got:
		if !strings.Contains(b, `"SYNC_UPDATES_AVAILABLE"`) || !strings.Contains(b, `"account_id"`) {
			t.Errorf("webhook body %s", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the sandbox sent no webhook")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("sandbox: %v", err)
	}
	if r := bf(t, map[string]string{}, "sandbox", "--webhook-url", "not a url"); r.code != 2 {
		t.Errorf("a bad --webhook-url: exit %d", r.code)
	}
}
