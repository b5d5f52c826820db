package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"bankfeed/store"
)

// A database written before schema 9 holds RFC 3339 with trimmed
// fractions; opening it rewrites every stored time to the fixed width,
// keeping the instant (to the microsecond), and the append-only tables
// still refuse updates afterwards.
func TestMigrationRewritesTimesFixedWidth(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	st := open(t, path, key1, store.Options{})
	if _, err := st.PutTokens(ctx, "b", "sandbox", []string{tok}, true); err != nil {
		t.Fatal(err)
	}
	st.Close()

	db, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=1")
	if err != nil {
		t.Fatal(err)
	}
	// Back to version 8 as an older bankfeed left it: no time-window
	// indexes, and times as RFC3339Nano wrote them.
	for _, q := range []string{
		`DROP INDEX accounts_replaces`, `DROP INDEX accounts_book`, `DROP INDEX accounts_identity`, `DROP INDEX bank_transactions_duplicate`, `ALTER TABLE bank_transactions DROP COLUMN duplicate_of`,
		`ALTER TABLE accounts DROP COLUMN institution_id`, `ALTER TABLE accounts DROP COLUMN replaces`, `ALTER TABLE accounts DROP COLUMN book_account_id`,
		`ALTER TABLE accounts DROP COLUMN match_through`,
		`DROP INDEX tokens_item`, `DROP INDEX accounts_item`, `ALTER TABLE accounts DROP COLUMN item_token_id`,
		`ALTER TABLE tokens DROP COLUMN kind`, `ALTER TABLE tokens DROP COLUMN item_id`, `ALTER TABLE tokens DROP COLUMN institution_id`,
		`ALTER TABLE tokens DROP COLUMN webhook_url`, `DROP TABLE scoped_tokens`, `DROP TABLE exchanged_public_tokens`,
		`DROP INDEX journal_entries_account_created`,
		`DROP INDEX bank_transactions_account_updated`,
		`DROP INDEX job_runs_started`, `DROP INDEX job_runs_unfinished`, `ALTER TABLE job_runs DROP COLUMN detail`, `DROP INDEX journal_entries_business`,
		`ALTER TABLE sync_pages DROP COLUMN payload_codec`,
		`PRAGMA user_version = 8`,
		`UPDATE businesses SET created_at = '2026-11-01T00:00:00Z', updated_at = '2026-11-01T00:00:00.5Z'`,
		`UPDATE tokens SET created_at = '2026-11-01T00:00:00.123456789Z', updated_at = '2026-11-01T00:00:00.1Z', last_synced_at = NULL`,
		`INSERT INTO accounts(id, business_id, plaid_account_id, type, currency, kind, created_at, updated_at)
		 VALUES (1, 'b', 'acc', 'depository', 'USD', 'asset', '2026-11-01T00:00:00Z', '2026-11-01T00:00:01.25Z')`,
		`INSERT INTO sync_updates(id, token_id, run_id, cursor_before, state, started_at, finished_at) VALUES (1, 1, 'r', '', 'applied', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00.999999Z')`,
		`INSERT INTO sync_pages(update_id, seq, cursor_before, cursor_after, has_more, request_id, added, modified, removed, payload_sha256, payload, received_at)
		 VALUES (1, 0, '', 'c', 0, 'q', 0, 0, 0, x'00', x'00', '2026-11-01T00:00:00.00001Z')`,
		`INSERT INTO journal_entries(id, business_id, account_id, kind, date, version, created_at) VALUES
		   ('e1', 'b', 1, 'opening', '2026-10-01', 1, '2026-11-01T00:00:00Z'),
		   ('e2', 'b', 1, 'opening', '2026-10-01', 2, '2026-11-01T00:00:00.5Z')`,
		`INSERT INTO balance_snapshots(account_id, run_id, currency, current, request_id, taken_at) VALUES (1, 'r', 'USD', 1, 'q', '2026-11-01T02:00:00+02:00')`,
		`INSERT INTO job_runs(id, job, started_at, status) VALUES ('j', 'sync', 'not a time', 'ok')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	st = open(t, path, key1, store.Options{})
	defer st.Close()
	ro, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	for q, want := range map[string]string{
		`SELECT created_at || ' ' || updated_at FROM businesses`:                   "2026-11-01T00:00:00.000000Z 2026-11-01T00:00:00.500000Z",
		`SELECT created_at || ' ' || updated_at FROM tokens`:                       "2026-11-01T00:00:00.123456Z 2026-11-01T00:00:00.100000Z",
		`SELECT updated_at FROM accounts`:                                          "2026-11-01T00:00:01.250000Z",
		`SELECT finished_at FROM sync_updates`:                                     "2026-11-01T00:00:00.999999Z",
		`SELECT received_at FROM sync_pages`:                                       "2026-11-01T00:00:00.000010Z",
		`SELECT group_concat(created_at, ' ') FROM journal_entries ORDER BY rowid`: "2026-11-01T00:00:00.000000Z 2026-11-01T00:00:00.500000Z",
		`SELECT taken_at FROM balance_snapshots`:                                   "2026-11-01T00:00:00.000000Z",
		`SELECT started_at FROM job_runs`:                                          "not a time",
		`SELECT recorded_at FROM token_key`:                                        "",
	} {
		var got string
		if err := ro.QueryRow(q).Scan(&got); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if want == "" { // written by this build: already fixed
			if _, err := time.Parse(store.TimeLayout, got); err != nil {
				t.Errorf("%s = %q, not %s", q, got, store.TimeLayout)
			}
			continue
		}
		if got != want {
			t.Errorf("%s = %q, want %q", q, got, want)
		}
	}
	// Text order is time order now: the newer entry sorts last.
	var newest string
	if err := ro.QueryRow(`SELECT id FROM journal_entries ORDER BY created_at DESC LIMIT 1`).Scan(&newest); err != nil || newest != "e2" {
		t.Errorf("newest entry by created_at: %q %v", newest, err)
	}
	// The triggers dropped for the rewrite are back.
	for _, q := range []string{`UPDATE journal_entries SET created_at = 'x'`, `UPDATE sync_pages SET received_at = 'x'`,
		`UPDATE balance_snapshots SET taken_at = 'x'`, `DELETE FROM journal_entries`} {
		if err := st.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s after the migration: %v", q, err)
		}
	}
}

// Every column that held a time when migration 0009 ran is one it
// rewrites. (Columns added later are written in TimeLayout from the start,
// and their tables may not exist at version 9: the schema checked is the
// one migrations 0001 to 0009 build.)
func TestEveryTimeColumnIsRewritten(t *testing.T) {
	ro, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "v9.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	ents, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents { // ReadDir sorts by name
		if e.Name() >= "0010" {
			break
		}
		b, err := os.ReadFile(filepath.Join("migrations", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ro.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
	}
	rows, err := ro.Query(`SELECT m.name || '.' || c.name FROM sqlite_schema m, pragma_table_info(m.name) c
		WHERE m.type = 'table' AND (c.name LIKE '%\_at' ESCAPE '\' OR c.name LIKE '%\_since' ESCAPE '\') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	listed := store.TimeColumns()
	n := 0
	for rows.Next() {
		var col string
		if err := rows.Scan(&col); err != nil {
			t.Fatal(err)
		}
		n++
		if !slices.Contains(listed, col) {
			t.Errorf("%s holds a time but migration 0009 does not rewrite it", col)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n < len(listed) {
		t.Errorf("the schema has %d time columns, the migration lists %d", n, len(listed))
	}
}
