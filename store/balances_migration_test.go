package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"bankfeed/store"
)

// A database written by a build before running balances (schema 4) has
// its balances filled in from the journal by migration 0005, and from then
// on every line moves them: the running balances equal the lines' sums.
func TestMigrationFillsRunningBalancesFromHistory(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=1")
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir("migrations")
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		if n >= "0005" {
			break
		}
		b, err := os.ReadFile(filepath.Join("migrations", n))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
	}
	// History as schema 4 kept it: two transactions, one of them
	// reversed and reposted, and an opening.
	const ts = "2026-11-01T00:00:00Z"
	for _, q := range []string{
		`PRAGMA user_version = 4`,
		`INSERT INTO businesses(id, created_at, updated_at) VALUES ('b', '` + ts + `', '` + ts + `')`,
		`INSERT INTO accounts(id, business_id, plaid_account_id, type, currency, kind, created_at, updated_at) VALUES (1, 'b', 'acc', 'depository', 'USD', 'asset', '` + ts + `', '` + ts + `')`,
		`INSERT INTO ledger_accounts(id, business_id, code, kind, currency, account_id) VALUES (1, 'b', 'Bank:acc', 'asset', 'USD', 1), (2, 'b', 'Suspense:Uncategorized', 'expense', 'USD', NULL), (3, 'b', 'Equity:Opening Balances', 'equity', 'USD', NULL)`,
		`INSERT INTO journal_entries(id, business_id, account_id, kind, date, transaction_id, version, reverses, created_at) VALUES
		  ('open:acc:v1', 'b', 1, 'opening', '2026-10-01', NULL, 1, NULL, '` + ts + `'),
		  ('txn:t1:v1', 'b', 1, 'txn', '2026-10-02', 't1', 1, NULL, '` + ts + `'),
		  ('txn:t2:v1', 'b', 1, 'txn', '2026-10-03', 't2', 1, NULL, '` + ts + `'),
		  ('rev:txn:t2:v1', 'b', 1, 'reversal', '2026-10-03', 't2', 1, 'txn:t2:v1', '` + ts + `'),
		  ('txn:t2:v2', 'b', 1, 'txn', '2026-10-03', 't2', 2, NULL, '` + ts + `')`,
		`INSERT INTO journal_lines(entry_id, line_no, ledger_account_id, currency, amount) VALUES
		  ('open:acc:v1', 1, 1, 'USD', 10000), ('open:acc:v1', 2, 3, 'USD', -10000),
		  ('txn:t1:v1', 1, 1, 'USD', -250), ('txn:t1:v1', 2, 2, 'USD', 250),
		  ('txn:t2:v1', 1, 1, 'USD', -100), ('txn:t2:v1', 2, 2, 'USD', 100),
		  ('rev:txn:t2:v1', 1, 1, 'USD', 100), ('rev:txn:t2:v1', 2, 2, 'USD', -100),
		  ('txn:t2:v2', 1, 1, 'USD', -120), ('txn:t2:v2', 2, 2, 'USD', 120)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	st := open(t, path, key1, store.Options{})
	defer st.Close()
	ro, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	want := []string{"1 USD 9630 5 2", "2 USD 370 4 2", "3 USD -10000 1 0"}
	check := func(stage string) {
		t.Helper()
		if drift, err := st.BalanceDrift(ctx); err != nil || len(drift) > 0 {
			t.Fatalf("%s: drift %v %q", stage, err, drift)
		}
		got, err := column(ro, `SELECT ledger_account_id || ' ' || currency || ' ' || amount || ' ' || lines || ' ' || live_txns FROM ledger_balances ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("%s: balances %q (%v), want %q", stage, got, err, want)
		}
	}
	check("migrated")
	// A line added afterwards moves its balance through the trigger.
	if err := st.Exec(ctx, `INSERT INTO journal_entries(id, business_id, account_id, kind, date, transaction_id, version, reverses, created_at)
		VALUES ('rev:txn:t1:v1', 'b', 1, 'reversal', '2026-10-02', 't1', 1, 'txn:t1:v1', '`+ts+`')`); err != nil {
		t.Fatal(err)
	}
	if err := st.Exec(ctx, `INSERT INTO journal_lines(entry_id, line_no, ledger_account_id, currency, amount) VALUES
		('rev:txn:t1:v1', 1, 1, 'USD', 250), ('rev:txn:t1:v1', 2, 2, 'USD', -250)`); err != nil {
		t.Fatal(err)
	}
	want = []string{"1 USD 9880 6 1", "2 USD 120 5 1", "3 USD -10000 1 0"}
	check("after a reversal")
	var sus []store.SuspenseLine
	if err := st.Read(ctx, func(rt *store.ReadTx) (err error) { sus, err = rt.Suspense(); return err }); err != nil {
		t.Fatal(err)
	}
	// t1 (the oldest) is reversed: the oldest live entry is t2's repost.
	if len(sus) != 1 || sus[0].Entries != 1 || sus[0].Oldest != "2026-10-03" || sus[0].Total != 120 {
		t.Errorf("suspense %+v", sus)
	}
}

// column reads a one-column query to its end.
func column(db *sql.DB, q string) ([]string, error) {
	rows, err := db.Query(q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
