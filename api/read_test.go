package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"bankfeed/store"
)

// txnPage decodes a page of GET …/bank-transactions.
func txnPage(t *testing.T, r response) page[TransactionOut] {
	t.Helper()
	var p page[TransactionOut]
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("decode page: %v: %s", err, r.body)
	}
	return p
}

// syncedHarness is the API over a business whose three accounts (the
// fixed world) were synced once.
func syncedHarness(t *testing.T) (*harness, *world) {
	t.Helper()
	h := newHarness(t)
	w := newWorld(t)
	if _, err := h.st.PutTokens(context.Background(), "biz-read", "sandbox",
		[]string{w.tokens[w.checking], w.tokens[w.card], w.tokens[w.savings]}, true); err != nil {
		t.Fatal(err)
	}
	w.sync(t, h.st)
	return h, w
}

func TestListBusinesses(t *testing.T) {
	h := newHarness(t)
	var want []string
	for i := 5; i >= 1; i-- { // created out of id order: pages follow the id
		id := fmt.Sprintf("biz-%d", i)
		h.do("POST", "/v1/businesses", `{"id":"`+id+`","legal_name":"Business `+id+`"}`).want(t, 201)
		want = append([]string{id}, want...)
	}
	var got []string
	cursor, pages := "", 0
	for {
		q := "?limit=2"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		var p page[businessOut]
		if err := json.Unmarshal(h.do("GET", "/v1/businesses"+q, "").want(t, 200).body, &p); err != nil {
			t.Fatal(err)
		}
		pages++
		for _, b := range p.Data {
			got = append(got, b.ID)
			one := strings.TrimSpace(string(h.do("GET", "/v1/businesses/"+b.ID, "").want(t, 200).body))
			if mustJSON(t, b) != one || b.LegalName == nil || *b.LegalName != "Business "+b.ID {
				t.Errorf("business %s listed as %s, not as GET /v1/businesses/{id} shows it: %s", b.ID, mustJSON(t, b), one)
			}
		}
		if p.NextCursor == nil {
			break
		}
		cursor = *p.NextCursor
	}
	if strings.Join(got, " ") != strings.Join(want, " ") || pages != 3 {
		t.Errorf("walked %v in %d pages, want %v in 3", got, pages, want)
	}
	// The default page holds them all, and says there is no more.
	var all page[businessOut]
	_ = json.Unmarshal(h.do("GET", "/v1/businesses", "").want(t, 200).body, &all)
	if len(all.Data) != 5 || all.NextCursor != nil {
		t.Errorf("default page: %d businesses, next %v", len(all.Data), all.NextCursor)
	}
	for _, q := range []string{"?limit=0", "?limit=501", "?limit=ten", "?limit=05", "?cursor=%%%", "?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("asc:1")),
		"?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("b:")), "?limit=1&limit=2", "?page=2"} {
		if r := h.do("GET", "/v1/businesses"+q, ""); r.status != 400 {
			t.Errorf("GET /v1/businesses%s: %d %s, want 400", q, r.status, r.body)
		}
	}
}

func TestBankTransactions(t *testing.T) {
	h, w := syncedHarness(t)
	base := "/v1/businesses/biz-read/bank-transactions"
	all := txnPage(t, h.do("GET", base, "").want(t, 200))
	golden(t, "bank-transactions.golden.json", all)
	if all.NextCursor != nil || len(all.Data) != 7 {
		t.Fatalf("one page of the 7 transactions, got %d, next %v", len(all.Data), all.NextCursor)
	}
	// The same objects as `transactions list --json`.
	var cli []TransactionOut
	if err := h.st.Transactions(context.Background(), mustFilter(t, "biz-read", "", "", "", ""), func(r storeRow) error {
		cli = append(cli, TransactionOf(r))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if a, b := mustJSON(t, cli), mustJSON(t, all.Data); a != b {
		t.Errorf("the API and the CLI differ:\n%s\n%s", a, b)
	}
	ids := func(q string) string {
		t.Helper()
		var out []string
		for _, x := range txnPage(t, h.do("GET", base+q, "").want(t, 200)).Data {
			out = append(out, x.TransactionID)
		}
		return strings.Join(out, " ")
	}
	for q, want := range map[string]string{
		"?account_id=" + w.card:                "txn-card-1 txn-card-2 txn-card-3",
		"?status=pending":                      "txn-chk-3 txn-card-3",
		"?since=2026-11-21&until=2026-11-23":   "txn-chk-2 txn-card-1 txn-card-2",
		"?status=posted&account_id=" + w.card:  "txn-card-1 txn-card-2",
		"?order=desc&account_id=" + w.checking: "txn-chk-3 txn-chk-2 txn-chk-1",
		"?status=removed":                      "",
		"?transaction_id=txn-card-2":           "txn-card-2",
	} {
		if got := ids(q); got != want {
			t.Errorf("%s: %q, want %q", q, got, want)
		}
	}
	for _, c := range []struct {
		q      string
		status int
		code   string
	}{
		{"?since=2026-02-30", 400, "invalid_parameter"},
		{"?until=tomorrow", 400, "invalid_parameter"},
		{"?since=2026-11-25&until=2026-11-01", 400, "invalid_parameter"},
		{"?status=settled", 400, "invalid_parameter"},
		{"?order=up", 400, "invalid_parameter"},
		{"?limit=501", 400, "invalid_parameter"},
		{"?pending=true", 400, "unknown_parameter"},
		{"?account_id=acct-nope", 404, "not_found"},
		{"?transaction_id=txn-nope", 404, "not_found"},
	} {
		if r := h.do("GET", base+c.q, ""); r.status != c.status || r.errCode(t) != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.q, r.status, r.body, c.status, c.code)
		}
	}
	// Another business's account is not this business's.
	h.do("POST", "/v1/businesses", `{"id":"biz-other"}`).want(t, 201)
	if r := h.do("GET", "/v1/businesses/biz-other/bank-transactions?account_id="+w.card, ""); r.status != 404 {
		t.Errorf("another business's account: %d %s", r.status, r.body)
	}
	if got := txnPage(t, h.do("GET", "/v1/businesses/biz-other/bank-transactions?transaction_id=txn-card-2", "").want(t, 200)); len(got.Data) != 0 {
		t.Errorf("another business's transaction: %+v", got.Data)
	}
	if r := h.do("GET", "/v1/businesses/nope/bank-transactions", ""); r.status != 404 || r.errCode(t) != "not_found" {
		t.Errorf("unknown business: %d %s", r.status, r.body)
	}
}

// TestCursors: a cursor is opaque and strict. Any edit of it is a 400,
// and it keeps the order it was made for.
func TestCursors(t *testing.T) {
	h, _ := syncedHarness(t)
	base := "/v1/businesses/biz-read/bank-transactions?limit=2"
	p := txnPage(t, h.do("GET", base, "").want(t, 200))
	if p.NextCursor == nil {
		t.Fatal("no next cursor after 2 of 7")
	}
	c := *p.NextCursor
	next := txnPage(t, h.do("GET", base+"&cursor="+c, "").want(t, 200))
	if len(next.Data) != 2 || next.Data[0].TransactionID == p.Data[1].TransactionID {
		t.Fatalf("second page %+v", next.Data)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(c)
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for name, bad := range map[string]string{
		"truncated":        c[:len(c)-1],
		"padded":           c + "=",
		"not base64":       "!!" + c,
		"other order":      enc(strings.Replace(string(raw), "asc:", "desc:", 1)),
		"not a number":     enc("asc:x"),
		"leading zero":     enc("asc:0" + strings.TrimPrefix(string(raw), "asc:")),
		"negative":         enc("asc:-1"),
		"a business's key": enc("b:biz-read"),
	} {
		if r := h.do("GET", base+"&cursor="+url.QueryEscape(bad), ""); r.status != 400 || r.errCode(t) != "invalid_parameter" {
			t.Errorf("%s cursor %q: %d %s, want 400", name, bad, r.status, r.body)
		}
	}
	if r := h.do("GET", base+"&order=desc&cursor="+c, ""); r.status != 400 {
		t.Errorf("an asc cursor with order=desc: %d %s", r.status, r.body)
	}
}

func TestLedgerBalancesRoute(t *testing.T) {
	h, _ := syncedHarness(t)
	got := h.do("GET", "/v1/businesses/biz-read/ledger/balances", "").want(t, 200)
	want, err := ListLedgerBalances(context.Background(), h.st, "biz-read")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(got.body)) != mustJSON(t, want) || len(want) != 3 {
		t.Errorf("GET ledger/balances %s, want the %d objects of `ledger balances --json` %s", got.body, len(want), mustJSON(t, want))
	}
	if r := h.do("GET", "/v1/businesses/nope/ledger/balances", ""); r.status != 404 || r.errCode(t) != "not_found" {
		t.Errorf("unknown business: %d %s", r.status, r.body)
	}
}

// TestReadRoutesArePlatformOnly: the read side is the platform's; a
// business's scoped token (its end user's browser) reads none of it.
func TestReadRoutesArePlatformOnly(t *testing.T) {
	h, _ := syncedHarness(t)
	var s scopedOut
	if err := json.Unmarshal(h.do("POST", "/v1/businesses/biz-read/scoped-tokens", "").want(t, 201).body, &s); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/v1/businesses", "/v1/businesses/biz-read/bank-transactions", "/v1/businesses/biz-read/ledger/balances"} {
		if r := h.do("GET", p, "", withAuth("Bearer "+s.Token)); r.status != 403 || r.errCode(t) != "forbidden" {
			t.Errorf("%s with a scoped token: %d %s", p, r.status, r.body)
		}
		if r := h.do("GET", p, "", withAuth("")); r.status != 401 {
			t.Errorf("%s without a key: %d", p, r.status)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type storeRow = store.TxnRow

func mustFilter(t *testing.T, business, account, since, until, status string) store.TxnFilter {
	t.Helper()
	f, err := TxnFilterOf(business, account, "", since, until, status)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
