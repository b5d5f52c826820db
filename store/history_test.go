package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"bankfeed/store"
)

// Snapshots written before version 7 all came from the real-time call:
// the migration labels them so, and the append-only triggers still hold.
// Tokens that synced get the history state of their last applied update.
func TestMigrationLabelsOldSnapshotsRealtime(t *testing.T) {
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
	last := ""
	for _, n := range names {
		if n >= "0006" { // 0006 needs its Go step: store.Open runs it
			break
		}
		last = strings.TrimLeft(n[:4], "0")
		b, err := os.ReadFile(filepath.Join("migrations", n))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
	}
	const ts = "2026-11-01T00:00:00Z"
	for _, q := range []string{
		`PRAGMA user_version = ` + last,
		`INSERT INTO businesses(id, created_at, updated_at) VALUES ('b', '` + ts + `', '` + ts + `')`,
		`INSERT INTO accounts(id, business_id, plaid_account_id, type, currency, kind, created_at, updated_at) VALUES (1, 'b', 'acc', 'depository', 'USD', 'asset', '` + ts + `', '` + ts + `')`,
		`INSERT INTO balance_snapshots(account_id, run_id, currency, current, request_id, taken_at) VALUES (1, 'r', 'USD', 100, 'req', '` + ts + `')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Tokens as an older bankfeed left them: one whose last applied update
	// was at INITIAL_UPDATE_COMPLETE, one complete, one never synced.
	scratch := open(t, filepath.Join(t.TempDir(), "scratch.db"), key1, store.Options{})
	toks := []string{tok, tok[:len(tok)-1] + "e", tok[:len(tok)-1] + "f"}
	if _, err := scratch.PutTokens(ctx, "b", "sandbox", toks, true); err != nil {
		t.Fatal(err)
	}
	scratch.Close()
	if _, err := db.Exec(`ATTACH DATABASE ? AS s`, scratch.Path()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO tokens(id, business_id, fingerprint, ciphertext, hint, status, cursor, created_at, updated_at)
		 SELECT id, 'b', fingerprint, ciphertext, hint, 'active', CASE id WHEN 3 THEN '' ELSE 'c' || id END, created_at, updated_at FROM s.tokens`,
		`DETACH DATABASE s`,
		`INSERT INTO sync_updates(id, token_id, run_id, cursor_before, cursor_after, state, started_at) VALUES
		   (1, 1, 'r', '', 'c1', 'applied', '` + ts + `'), (2, 2, 'r', '', 'c2', 'applied', '` + ts + `'), (3, 1, 'r', 'c1', 'x', 'abandoned', '` + ts + `')`,
		`INSERT INTO sync_pages(update_id, seq, cursor_before, cursor_after, has_more, request_id, added, modified, removed, payload_sha256, payload, received_at) VALUES
		   (1, 0, '', 'c1', 0, 'q', 0, 0, 0, x'00', CAST('{"update_status":"INITIAL_UPDATE_COMPLETE"}' AS BLOB), '` + ts + `'),
		   (2, 0, '', 'c2', 1, 'q', 0, 0, 0, x'00', CAST('{"update_status":"INITIAL_UPDATE_COMPLETE"}' AS BLOB), '` + ts + `'),
		   (2, 1, 'c2', 'c2b', 0, 'q', 0, 0, 0, x'00', CAST('{"update_status":"HISTORICAL_UPDATE_COMPLETE"}' AS BLOB), '` + ts + `'),
		   (3, 0, 'c1', 'x', 0, 'q', 0, 0, 0, x'00', CAST('{"update_status":"HISTORICAL_UPDATE_COMPLETE"}' AS BLOB), '` + ts + `')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	st := open(t, path, key1, store.Options{})
	defer st.Close()
	got, err := st.Tokens(ctx, store.TokenFilter{})
	if err != nil || len(got) != 3 {
		t.Fatalf("tokens: %v %d", err, len(got))
	}
	for i, want := range []string{store.HistoryInitial, store.HistoryComplete, ""} {
		if got[i].History != want {
			t.Errorf("token %d: history %q after migrating, want %q", got[i].ID, got[i].History, want)
		}
	}
	var source string
	var updated sql.NullString
	rdb, _ := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	defer rdb.Close()
	if err := rdb.QueryRowContext(ctx, `SELECT source, last_updated_at FROM balance_snapshots`).Scan(&source, &updated); err != nil {
		t.Fatal(err)
	}
	if source != store.SourceRealtime || updated.Valid {
		t.Fatalf("old snapshot: source %q, last_updated_at %v", source, updated)
	}
	if err := st.Exec(ctx, `UPDATE balance_snapshots SET source = 'sync'`); err == nil {
		t.Fatal("a snapshot's source could be rewritten")
	}
	if err := st.Exec(ctx, `INSERT INTO balance_snapshots(account_id, run_id, currency, request_id, taken_at, source) VALUES (1, 'r', 'USD', 'q', 't', 'guess')`); err == nil {
		t.Fatal("a snapshot of an unknown source was stored")
	}
}

// At most one real-time call per token per UTC day, claimed before the
// call; never for a token that is not active.
func TestClaimRealtime(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "b.db"), key1, store.Options{})
	defer st.Close()
	b, err := st.PutTokens(ctx, "biz", "sandbox", []string{tok}, true)
	if err != nil {
		t.Fatal(err)
	}
	id := b.Tokens[0].ID
	day := time.Date(2026, 11, 26, 0, 0, 1, 0, time.UTC)
	for _, c := range []struct {
		at   time.Time
		want bool
	}{
		{day, true},
		{day.Add(23 * time.Hour), false},
		{day.Add(24*time.Hour - 2*time.Second), false},
		{day.Add(24 * time.Hour), true},
		{day.Add(25 * time.Hour), false},
	} {
		got, err := st.ClaimRealtime(ctx, id, c.at)
		if err != nil || got != c.want {
			t.Fatalf("claim at %s = %v, %v; want %v", c.at, got, err, c.want)
		}
	}
	if err := st.FlagToken(ctx, id, "ITEM_LOGIN_REQUIRED", "req", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := st.ClaimRealtime(ctx, id, day.Add(72*time.Hour)); err != nil || got {
		t.Fatalf("a flagged token claimed a call: %v %v", got, err)
	}
}

// Only a token that never completed a sync can be not ready.
func TestSetNotReady(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "b.db"), key1, store.Options{})
	defer st.Close()
	b, err := st.PutTokens(ctx, "biz", "sandbox", []string{tok}, true)
	if err != nil {
		t.Fatal(err)
	}
	id := b.Tokens[0].ID
	if err := st.SetNotReady(ctx, id); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Token(ctx, id); got.History != store.HistoryNotReady {
		t.Fatalf("history %q", got.History)
	}
	if err := st.Exec(ctx, `UPDATE tokens SET cursor = 'c1', history = 'complete' WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	if err := st.SetNotReady(ctx, id); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Token(ctx, id); got.History != store.HistoryComplete {
		t.Fatalf("a synced token became %q", got.History)
	}
}
