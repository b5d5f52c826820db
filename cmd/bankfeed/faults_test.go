package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"bankfeed/store"
)

// TestDatabaseFaultsExitDistinctly: each database fault gives one plain
// line and its own exit status, and never a half-applied update.
func TestDatabaseFaultsExitDistinctly(t *testing.T) {
	env, _, tok := world(t)
	put := []string{"business", "put", "biz1", "--processor-token", tok["checking"]}
	if r := bf(t, env, put...); r.code != 0 {
		t.Fatalf("put: %s", r.stderr)
	}
	oneLine := func(t *testing.T, r result, code int, want string) {
		t.Helper()
		if r.code != code || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, want) {
			t.Fatalf("exit %d (want %d), stderr %q (want one line with %q)", r.code, code, r.stderr, want)
		}
	}

	t.Run("another run holds the database", func(t *testing.T) {
		lock, err := store.LockRun(context.Background(), env["BANKFEED_DB"])
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Unlock()
		e := copyEnv(env, "BANKFEED_LOCK_WAIT", "200ms")
		oneLine(t, bf(t, e, "--run-once"), exitLocked, "another bankfeed run")
	})

	t.Run("another process holds a write transaction", func(t *testing.T) {
		db, err := sql.Open("sqlite3", env["BANKFEED_DB"])
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
			t.Fatal(err)
		}
		defer conn.ExecContext(context.Background(), "ROLLBACK")
		oneLine(t, bf(t, env, "business", "put", "biz1", "--processor-token", tok["card"]), exitLocked, "locked")
	})

	t.Run("newer schema", func(t *testing.T) {
		path := t.TempDir() + "/new.db"
		db, _ := sql.Open("sqlite3", path)
		db.Exec("PRAGMA user_version = 999")
		db.Close()
		oneLine(t, bf(t, copyEnv(env, "BANKFEED_DB", path), "tokens", "list"), exitSchema, "newer")
	})

	t.Run("corrupt file", func(t *testing.T) {
		path := t.TempDir() + "/corrupt.db"
		os.WriteFile(path, bytes.Repeat([]byte("garbage!"), 4096), 0o600)
		oneLine(t, bf(t, copyEnv(env, "BANKFEED_DB", path), "tokens", "list"), exitCorrupt, "corrupt")
	})

	// Nothing above wrote anything: the business still has one token.
	r := bf(t, env, "tokens", "list", "--json")
	if strings.Count(r.stdout, `"token_hint"`) != 1 {
		t.Fatalf("a failed command changed the tokens: %s", r.stdout)
	}
}

func copyEnv(env map[string]string, k, v string) map[string]string {
	m := map[string]string{}
	for a, b := range env {
		m[a] = b
	}
	m[k] = v
	return m
}
