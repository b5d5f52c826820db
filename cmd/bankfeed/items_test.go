package main

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"bankfeed/api"
	"bankfeed/plaidapi"
	"bankfeed/store"
)

func TestItemsListAndLink(t *testing.T) {
	env, srv, _ := world(t)
	env["BANKFEED_LISTEN"] = "0.0.0.0:8443"
	if r := bf(t, env, "link", "nobody"); r.code != 2 || !strings.Contains(r.stderr, `no business "nobody"`) {
		t.Fatalf("link for an unknown business: %d %q", r.code, r.stderr)
	}
	if r := bf(t, env, "business", "put", "biz-l"); r.code != 0 {
		t.Fatalf("put: %s", r.stderr)
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
