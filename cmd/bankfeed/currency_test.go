package main

import (
	"database/sql"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
	_ "github.com/mattn/go-sqlite3"
	"github.com/shopspring/decimal"

	"bankfeed/plaidfake"
)

// An account in a code Plaid sends as unofficial_currency_code although
// ISO 4217 also knows it (XAU, VEF) keeps the exponent it was ingested
// with: its balances show the very decimals Plaid sent, not a million
// times more (ISO's 2 places read over 8-place minor units).
func TestUnofficialCodesShowWhatPlaidSent(t *testing.T) {
	srv := plaidfake.New(plaidfake.WithCredentials("client-id-1", "plaid-secret-value-XYZ"))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	type acct struct{ id, code, opening, spent, want string }
	accts := []acct{
		{id: "acc_btc", code: "BTC", opening: "0.5", spent: "0.00012345", want: "0.49987655"},
		{id: "acc_gold", code: "XAU", opening: "12.34567891", spent: "0.00000002", want: "12.34567889"},
		{id: "acc_vef", code: "VEF", opening: "1000.5", spent: "0.25", want: "1000.25"},
	}
	var toks []string
	for _, a := range accts {
		id, tok := srv.AddAccount(plaidfake.Account{ID: a.id, Name: a.code, UnofficialCurrency: a.code, Opening: a.opening})
		srv.AddTxn(plaidfake.Txn{AccountID: id, Amount: a.spent, Date: "2026-10-02", Name: "Spend"})
		toks = append(toks, "--processor-token", tok)
	}
	dir := t.TempDir()
	env := map[string]string{
		"BANKFEED_DB": filepath.Join(dir, "bankfeed.db"), "PLAID_BASE_URL": hs.URL, "PLAID_CLIENT_ID": "client-id-1",
		"PLAID_SECRET": "plaid-secret-value-XYZ", "BANKFEED_REPORT_DIR": filepath.Join(dir, "reports"),
		"BANKFEED_TOKEN_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	}
	if r := bf(t, env, append([]string{"business", "put", "biz1"}, toks...)...); r.code != 0 {
		t.Fatalf("put: %s", r.stderr)
	}
	if r := bf(t, env, "--run-once"); r.code != 0 {
		t.Fatalf("run: %s", r.stderr)
	}
	check := func(stage string) {
		t.Helper()
		var listed []struct {
			AccountID      string  `json:"account_id"`
			Currency       string  `json:"currency"`
			CurrentBalance *string `json:"current_balance"`
		}
		var balances []struct {
			AccountID     string `json:"account_id"`
			Currency      string `json:"currency"`
			LedgerBalance string `json:"ledger_balance"`
		}
		for _, out := range []struct {
			args []string
			dst  any
		}{{[]string{"accounts", "list", "--json"}, &listed}, {[]string{"ledger", "balances", "--json"}, &balances}} {
			r := bf(t, env, out.args...)
			if r.code != 0 {
				t.Fatalf("%v: %s", out.args, r.stderr)
			}
			if err := json.Unmarshal([]byte(r.stdout), out.dst); err != nil {
				t.Fatalf("%v: %v\n%s", out.args, err, r.stdout)
			}
		}
		same := func(what, got, want string) {
			t.Helper()
			g, err := decimal.NewFromString(got)
			if err != nil || !g.Equal(decimal.RequireFromString(want)) {
				t.Errorf("%s: %s = %q, Plaid sent %s", stage, what, got, want)
			}
		}
		if len(listed) != len(accts) || len(balances) != len(accts) {
			t.Fatalf("listed %d accounts and %d balances, want %d", len(listed), len(balances), len(accts))
		}
		for _, a := range accts {
			want := srv.Current(a.id)
			same(a.code+" server current", want, a.want)
			seen := 0
			for _, l := range listed {
				if l.AccountID == a.id {
					seen++
					if l.Currency != a.code || l.CurrentBalance == nil {
						t.Fatalf("%s listed as %+v", a.id, l)
					}
					same(a.code+" current_balance", *l.CurrentBalance, want)
				}
			}
			for _, b := range balances {
				if b.AccountID == a.id {
					seen++
					same(a.code+" ledger_balance", b.LedgerBalance, want)
				}
			}
			if seen != 2 {
				t.Errorf("%s: in %d of the two lists", a.id, seen)
			}
		}
	}
	check("synced")
	// The nightly report formats with the same stored exponents (accounts
	// in id order).
	files, _ := filepath.Glob(filepath.Join(dir, "reports", "reconciliation-*.json"))
	if len(files) != 1 {
		t.Fatalf("report files %q", files)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Accounts []struct {
			AccountID     string `json:"account_id"`
			LedgerBalance string `json:"ledger_balance"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil || len(rep.Accounts) != len(accts) {
		t.Fatalf("report: %v, %d accounts", err, len(rep.Accounts))
	}
	for i, a := range accts {
		if got := rep.Accounts[i]; got.AccountID != a.id || !decimal.RequireFromString(got.LedgerBalance).Equal(decimal.RequireFromString(a.want)) {
			t.Errorf("report: %+v, want %s %s", got, a.id, a.want)
		}
	}
	// A database from before stored exponents (schema 5) gets each
	// account's from the raw pages it was ingested from.
	db, err := sql.Open("sqlite3", env["BANKFEED_DB"])
	if err != nil {
		t.Fatal(err)
	}
	uncompressPageLog(t, db)
	for _, q := range []string{
		`DROP INDEX tokens_item`, `DROP INDEX accounts_item`, `ALTER TABLE accounts DROP COLUMN item_token_id`,
		`ALTER TABLE tokens DROP COLUMN kind`, `ALTER TABLE tokens DROP COLUMN item_id`, `ALTER TABLE tokens DROP COLUMN institution_id`,
		`ALTER TABLE tokens DROP COLUMN webhook_url`, `DROP TABLE scoped_tokens`, `DROP TABLE exchanged_public_tokens`,
		`DROP INDEX job_runs_started`, `DROP INDEX job_runs_unfinished`, `ALTER TABLE job_runs DROP COLUMN detail`, `DROP INDEX journal_entries_business`,
		`ALTER TABLE sync_pages DROP COLUMN payload_codec`,
		`DROP INDEX accounts_replaces`, `DROP INDEX accounts_book`, `DROP INDEX accounts_identity`, `DROP INDEX bank_transactions_duplicate`, `ALTER TABLE bank_transactions DROP COLUMN duplicate_of`,
		`ALTER TABLE accounts DROP COLUMN institution_id`, `ALTER TABLE accounts DROP COLUMN replaces`, `ALTER TABLE accounts DROP COLUMN book_account_id`,
		`ALTER TABLE accounts DROP COLUMN match_through`, `DROP INDEX bank_transactions_large`, `DROP INDEX balance_snapshots_source`,
		`ALTER TABLE balance_snapshots DROP COLUMN source`, `ALTER TABLE balance_snapshots DROP COLUMN last_updated_at`,
		`ALTER TABLE tokens DROP COLUMN history`, `ALTER TABLE tokens DROP COLUMN realtime_at`,
		`ALTER TABLE accounts DROP COLUMN initial_at`, `ALTER TABLE accounts DROP COLUMN anchor_provisional`,
		`DROP TABLE token_key`, `DROP TABLE currencies`, `ALTER TABLE accounts DROP COLUMN currency_exponent`, `PRAGMA user_version = 5`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	// Snapshots from before version 7 count as real-time ones, which
	// accounts list does not show as the balance: a sync takes a new one.
	if r := bf(t, env, "--run-once", "--job", "sync"); r.code != 0 {
		t.Fatalf("sync after the migration: %d %s", r.code, r.stderr)
	}
	check("migrated from 5")
}

// uncompressPageLog stores every logged page as sent, as bankfeed did
// before schema version 9, whose older migrations read pages with SQL.
func uncompressPageLog(t *testing.T, db *sql.DB) {
	t.Helper()
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	raw := map[int64][]byte{}
	func() {
		rows, err := db.Query(`SELECT rowid, payload FROM sync_pages WHERE payload_codec = 'zstd'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var stored []byte
			if err := rows.Scan(&id, &stored); err != nil {
				t.Fatal(err)
			}
			if raw[id], err = dec.DecodeAll(stored, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}()
	if _, err := db.Exec(`DROP TRIGGER sync_pages_no_update`); err != nil {
		t.Fatal(err)
	}
	for id, p := range raw {
		if _, err := db.Exec(`UPDATE sync_pages SET payload = ?, payload_codec = NULL WHERE rowid = ?`, p, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`CREATE TRIGGER sync_pages_no_update BEFORE UPDATE ON sync_pages
BEGIN SELECT RAISE(ABORT, 'sync_pages is append-only'); END`); err != nil {
		t.Fatal(err)
	}
}
