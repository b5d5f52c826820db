package store_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"bankfeed/store"
)

const tok2 = "processor-sandbox-9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0"

// A rotation committed by another process (another Store on the file)
// makes this process's seals and opens fail with the remedy, instead of
// sealing a new token under a key the database no longer records.
func TestRotationElsewhereFailsSealsLoudly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "b.db")
	serve := open(t, path, key1, store.Options{})
	defer serve.Close()
	if _, err := serve.PutTokens(ctx, "biz", "sandbox", []string{tok}, true); err != nil {
		t.Fatal(err)
	}
	rot := open(t, path, key1, store.Options{})
	if n, err := rot.RotateKey(ctx, key2); err != nil || n != 1 {
		t.Fatalf("rotate: %d %v", n, err)
	}
	rot.Close()

	_, err := serve.PutTokens(ctx, "biz", "sandbox", []string{tok, tok2}, false)
	var wrong *store.WrongKeyError
	if !errors.As(err, &wrong) || !errors.Is(err, store.ErrWrongKey) {
		t.Fatalf("put through the old key after a rotation: %v", err)
	}
	if wrong.Recorded != store.KeyID(key2) || wrong.Have != store.KeyID(key1) || !strings.Contains(err.Error(), "rotate-key") {
		t.Fatalf("error does not name the ids and the remedy: %v", err)
	}
	if _, err := serve.Reveal(ctx, 1); !errors.Is(err, store.ErrWrongKey) {
		t.Fatalf("reveal through the old key after a rotation: %v", err)
	}

	st := open(t, path, key2, store.Options{})
	defer st.Close()
	b, err := st.Business(ctx, "biz")
	if err != nil || len(b.Tokens) != 1 {
		t.Fatalf("the refused put left %d token(s) (%v)", len(b.Tokens), err)
	}
	if got, err := st.Reveal(ctx, b.Tokens[0].ID); err != nil || got != tok {
		t.Fatalf("reveal under the new key: %v", err)
	}
	if _, err := st.PutTokens(ctx, "biz", "sandbox", []string{tok, tok2}, false); err != nil {
		t.Fatalf("put under the new key: %v", err)
	}
}

// A database holding tokens refuses any other key at open, with the key
// ids and the remedy; one without tokens takes the new key.
func TestOpenChecksTheRecordedKeyID(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	open(t, empty, key1, store.Options{}).Close()
	st := open(t, empty, key2, store.Options{})
	if _, err := st.PutTokens(ctx, "biz", "sandbox", []string{tok}, true); err != nil {
		t.Fatalf("an empty database takes a new key: %v", err)
	}
	st.Close()
	_, err := store.Open(ctx, empty, key1, store.Options{})
	if !errors.Is(err, store.ErrWrongKey) || !strings.Contains(err.Error(), store.KeyID(key2)) {
		t.Fatalf("other key on a database with tokens: %v", err)
	}
	if _, err := store.Open(ctx, empty, key1, store.Options{ReadOnly: true}); !errors.Is(err, store.ErrWrongKey) {
		t.Fatalf("other key, read-only: %v", err)
	}
	if strings.Contains(err.Error(), string(key1)) || strings.Contains(err.Error(), string(key2)) {
		t.Fatalf("error shows a key: %v", err)
	}
}

// downgradeTo5 turns a database written by this build back into what
// schema 5 kept: no token_key table, no stored exponents, none of
// version 7's history columns.
func downgradeTo5(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=1")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.UncompressPageLog(db); err != nil {
		t.Fatal(err)
	}
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
	return db
}

// Migrating from schema 5 records the id of the key that opens the
// stored tokens; a key that opens none migrates nothing and is refused.
func TestMigrationRecordsTheKeyThatOpensTheTokens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	st := open(t, path, key1, store.Options{})
	if _, err := st.PutTokens(ctx, "biz", "sandbox", []string{tok}, true); err != nil {
		t.Fatal(err)
	}
	st.Close()
	downgradeTo5(t, path).Close()

	if _, err := store.Open(ctx, path, key2, store.Options{}); !errors.Is(err, store.ErrWrongKey) {
		t.Fatalf("migrating with a key that opens no token: %v", err)
	}
	ro, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	var v int
	if err := ro.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != 5 {
		t.Fatalf("a refused migration left version %d (%v)", v, err)
	}
	st = open(t, path, key1, store.Options{})
	defer st.Close()
	var id string
	if err := ro.QueryRow("SELECT key_id FROM token_key").Scan(&id); err != nil || id != store.KeyID(key1) {
		t.Fatalf("recorded key id %q (%v), want %s", id, err, store.KeyID(key1))
	}
	if _, err := st.PutTokens(ctx, "biz", "sandbox", []string{tok, tok2}, false); err != nil {
		t.Fatal(err)
	}
}
