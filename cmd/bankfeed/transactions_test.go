package main

import (
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bankfeed/plaidfake"
)

// txnWorld is a fixed business on a fixed clock whose transactions take
// every status: posted on a checking account and a card, a hold that
// stays pending, a hold that settled (removed, its posted successor
// posted), and a checking account re-linked, whose copies of the
// predecessor's transactions are duplicates.
func txnWorld(t *testing.T) map[string]string {
	t.Helper()
	env, _ := txnWorldServer(t)
	return env
}

// txnWorldServer is txnWorld with the bank behind it, to change it later.
func txnWorldServer(t *testing.T) (map[string]string, *plaidfake.Server) {
	t.Helper()
	clock := func() time.Time { return time.Date(2026, 10, 12, 9, 0, 0, 0, time.UTC) }
	srv := plaidfake.New(plaidfake.WithCredentials("client-id-1", "plaid-secret-value-XYZ"), plaidfake.WithClock(clock))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	chk, ctok := srv.AddAccount(plaidfake.Account{ID: "acc_chk", Name: "Operating Checking", Mask: "0001", Type: "depository", Subtype: "checking", Opening: "1000.00"})
	srv.AddTxn(plaidfake.Txn{ID: "t-chk-rent", AccountID: chk, Amount: "200.00", Date: "2026-10-02", Name: "Rent"})
	srv.AddTxn(plaidfake.Txn{ID: "t-chk-refund", AccountID: chk, Amount: "-50.00", Date: "2026-10-03", AuthorizedDate: "2026-10-02", Name: "Refund"})
	srv.AddTxn(plaidfake.Txn{ID: "t-chk-hold", AccountID: chk, Amount: "45.00", Date: "2026-10-06", Name: "Hardware\tstore", Pending: true})
	card, ktok := srv.AddAccount(plaidfake.Account{ID: "acc_card", Name: "Business Card", Mask: "4242", Type: "credit", Subtype: "credit card", Opening: "150.00"})
	srv.AddTxn(plaidfake.Txn{ID: "t-card-laptop", AccountID: card, Amount: "400.00", Date: "2026-10-04", Name: "LAPTOP SHOP 123", MerchantName: "=HYPERLINK(\"x\")"})
	srv.AddTxn(plaidfake.Txn{ID: "t-card-fuel", AccountID: card, Amount: "20.00", Date: "2026-10-08", Name: "Fuel", Pending: true})
	dir := t.TempDir()
	env := map[string]string{
		"BANKFEED_DB": filepath.Join(dir, "bankfeed.db"), "PLAID_BASE_URL": hs.URL, "PLAID_CLIENT_ID": "client-id-1",
		"PLAID_SECRET": "plaid-secret-value-XYZ", "BANKFEED_REPORT_DIR": filepath.Join(dir, "reports"),
		"BANKFEED_TOKEN_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "BANKFEED_RETRY_MAX": "2",
		// One token at a time: rows are listed in the order they were stored.
		"BANKFEED_CONCURRENCY": "1", "BANKFEED_BUSINESS_CONCURRENCY": "1",
	}
	runOnce := func(step string) {
		t.Helper()
		if r := bf(t, env, "--run-once", "--job", "sync"); r.code != 0 {
			t.Fatalf("%s: run-once exit %d: %s", step, r.code, r.stderr)
		}
	}
	if r := bf(t, env, "business", "put", "biz-golden", "--processor-token", ctok, "--processor-token", ktok); r.code != 0 {
		t.Fatalf("put: %d %s", r.code, r.stderr)
	}
	runOnce("first sync")
	srv.PostPending("t-chk-hold", plaidfake.Txn{ID: "t-chk-hardware", Amount: "45.00", Date: "2026-10-07", Name: "Hardware store"}, true)
	runOnce("the hold settles")
	succ, stok := srv.Relink(chk, 0)
	if succ != "" {
		if r := bf(t, env, "business", "put", "biz-golden", "--processor-token", ktok, "--processor-token", stok); r.code != 0 {
			t.Fatalf("put after re-link: %d %s", r.code, r.stderr)
		}
	}
	runOnce("re-linked")
	return env, srv
}

// TestTransactionsListGolden pins the three renderings of `transactions
// list`: the table for people, the JSON contract and the CSV.
func TestTransactionsListGolden(t *testing.T) {
	env := txnWorld(t)
	for _, c := range []struct{ file, flag string }{{"transactions.txt", ""}, {"transactions.json", "--json"}, {"transactions.csv", "--csv"}} {
		args := []string{"transactions", "list", "--business", "biz-golden"}
		if c.flag != "" {
			args = append(args, c.flag)
		}
		r := bf(t, env, args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		golden(t, c.file, []byte(r.stdout))
	}
	// Every status shows up, and the JSON is what a client decodes.
	r := bf(t, env, "transactions", "list", "--json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("JSON: %v\n%s", err, r.stdout)
	}
	seen := map[string]int{}
	for _, x := range rows {
		seen[x["status"].(string)]++
	}
	for _, s := range []string{"posted", "pending", "removed", "duplicate"} {
		if seen[s] == 0 {
			t.Errorf("no %s transaction in the fixture: %v", s, seen)
		}
	}
}

// TestTransactionsListFilters checks each filter against the fixture, and
// that nothing matched is still well-formed output.
func TestTransactionsListFilters(t *testing.T) {
	env := txnWorld(t)
	ids := func(args ...string) []string {
		t.Helper()
		r := bf(t, env, append([]string{"transactions", "list", "--json"}, args...)...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		var rows []struct {
			TransactionID string `json:"transaction_id"`
			Status        string `json:"status"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, r.stdout)
		}
		var out []string
		for _, x := range rows {
			out = append(out, x.TransactionID+":"+x.Status)
		}
		return out
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--account", "acc_card"}, "t-card-laptop:posted t-card-fuel:pending"},
		{[]string{"--status", "removed"}, "t-chk-hold:removed"},
		{[]string{"--status", "pending", "--business", "biz-golden"}, "t-card-fuel:pending"},
		{[]string{"--account", "acc_chk", "--since", "2026-10-03", "--until", "2026-10-06"}, "t-chk-refund:posted t-chk-hold:removed"},
		{[]string{"--since", "2026-10-08"}, "t-card-fuel:pending"},
		{[]string{"--until", "2026-10-01"}, ""},
	} {
		if got := strings.Join(ids(c.args...), " "); got != c.want {
			t.Errorf("%v: got %q, want %q", c.args, got, c.want)
		}
	}
	if r := bf(t, env, "transactions", "list", "--until", "2026-10-01", "--csv"); r.stdout != strings.Join(txnCSVHeader, ",")+"\r\n" {
		t.Errorf("empty CSV is not its header: %q", r.stdout)
	}
	if r := bf(t, env, "transactions", "list", "--until", "2026-10-01", "--json"); r.stdout != "[]\n" {
		t.Errorf("empty JSON is not []: %q", r.stdout)
	}
}

// TestTransactionsListUsage: every mistake is exit 2 with one line that
// names it, and writes nothing to stdout.
func TestTransactionsListUsage(t *testing.T) {
	env := txnWorld(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--since", "2026-13-01"}, `--since "2026-13-01": use a date as YYYY-MM-DD`},
		{[]string{"--until", "yesterday"}, `--until "yesterday": use a date as YYYY-MM-DD`},
		{[]string{"--since", "2026-10-05", "--until", "2026-10-01"}, "since 2026-10-05 is after until 2026-10-01"},
		{[]string{"--status", "settled"}, `--status "settled": use one of posted, pending, removed, duplicate`},
		{[]string{"--business", "biz-typo"}, `unknown business "biz-typo"`},
		{[]string{"--account", "acc_nope"}, "unknown account acc_nope"},
		{[]string{"--business", "biz-golden", "--account", "acc_nope"}, "unknown account acc_nope in business biz-golden"},
		{[]string{"--json", "--csv"}, "use --json or --csv, not both"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		r := bf(t, env, append([]string{"transactions", "list"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) || strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 2 and %q", c.args, r.code, r.stderr, r.stdout, c.want)
		}
	}
}

// TestOneTransactionsStory answers "what happened to transaction X": the
// bank corrects a posted charge, and --transaction shows the one row with
// its current facts and the three entries that tell its story (posted,
// reversed, posted again), in the CLI as in the API's filter.
func TestOneTransactionsStory(t *testing.T) {
	env, srv := txnWorldServer(t)
	srv.ModifyTxn("t-card-laptop", func(x *plaidfake.Txn) { x.Amount = "410.00" })
	if r := bf(t, env, "--run-once", "--job", "sync"); r.code != 0 {
		t.Fatalf("sync: %d %s", r.code, r.stderr)
	}
	r := bf(t, env, "transactions", "list", "--transaction", "t-card-laptop", "--json")
	var rows []struct {
		TransactionID string `json:"transaction_id"`
		Amount        string `json:"amount"`
		Status        string `json:"status"`
		EntryID       string `json:"entry_id"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || r.code != 0 {
		t.Fatalf("transactions list: exit %d, %v: %s %s", r.code, err, r.stdout, r.stderr)
	}
	if len(rows) != 1 || rows[0].Amount != "410.00" || rows[0].Status != "posted" || rows[0].EntryID != "txn:t-card-laptop:v2" {
		t.Fatalf("transactions list --transaction: %+v", rows)
	}
	r = bf(t, env, "ledger", "entries", "--transaction", "t-card-laptop", "--json")
	var entries []struct {
		EntryID  string  `json:"entry_id"`
		Kind     string  `json:"kind"`
		Reverses *string `json:"reverses"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &entries); err != nil || r.code != 0 {
		t.Fatalf("ledger entries: exit %d, %v: %s %s", r.code, err, r.stdout, r.stderr)
	}
	var story []string
	for _, e := range entries {
		s := e.Kind + " " + e.EntryID
		if e.Reverses != nil {
			s += " reverses " + *e.Reverses
		}
		story = append(story, s)
	}
	want := []string{"txn txn:t-card-laptop:v1", "reversal rev:txn:t-card-laptop:v1 reverses txn:t-card-laptop:v1", "txn txn:t-card-laptop:v2"}
	if strings.Join(story, "; ") != strings.Join(want, "; ") {
		t.Errorf("ledger entries --transaction:\n got %q\nwant %q", story, want)
	}
	// Another business's filter admits none of it; an id nobody holds is a typo.
	if r := bf(t, env, "transactions", "list", "--transaction", "t-card-laptop", "--account", "acc_chk", "--json"); r.code != 0 || r.stdout != "[]\n" {
		t.Errorf("another account's filter: exit %d, %q", r.code, r.stdout)
	}
	for _, args := range [][]string{{"transactions", "list", "--transaction", "t-nope"}, {"ledger", "entries", "--transaction", "t-nope"}} {
		r := bf(t, env, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "unknown transaction t-nope") || r.stdout != "" {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming the transaction", args, r.code, r.stderr)
		}
	}
}
