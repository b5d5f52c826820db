package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"strings"
	"syscall"
	"testing"
	"unsafe"

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
		lock, err := store.LockRun(context.Background(), env["BANKFEED_DB"], 0)
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

	t.Run("read-only database file", func(t *testing.T) {
		// A copy, so the other cases keep a writable database.
		path := t.TempDir() + "/ro.db"
		backup := bf(t, env, "backup", path)
		if backup.code != 0 {
			t.Fatalf("backup: %s", backup.stderr)
		}
		readOnly(t, path)
		e := copyEnv(env, "BANKFEED_DB", path)
		oneLine(t, bf(t, e, "business", "put", "biz1", "--processor-token", tok["card"]), exitReadOnly, "read-only")
		oneLine(t, bf(t, e, "--run-once"), exitReadOnly, "read-only")
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

// readOnly makes a file unwritable even for root: an unprivileged test
// takes away the write bits, root sets the immutable attribute (ext4, xfs
// and btrfs honour it against root too) and clears it at cleanup.
func readOnly(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(path, 0o444); err != nil {
			t.Fatal(err)
		}
		return
	}
	const fsIOCGetFlags, fsIOCSetFlags, fsImmutable = 0x80086601, 0x40086602, 0x10
	setFlags := func(f func(uint32) uint32) error {
		fd, err := os.Open(path)
		if err != nil {
			return err
		}
		defer fd.Close()
		var flags uint32
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd.Fd(), fsIOCGetFlags, uintptr(unsafe.Pointer(&flags))); e != 0 {
			return e
		}
		flags = f(flags)
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd.Fd(), fsIOCSetFlags, uintptr(unsafe.Pointer(&flags))); e != 0 {
			return e
		}
		return nil
	}
	if err := setFlags(func(f uint32) uint32 { return f | fsImmutable }); err != nil {
		t.Skipf("running as root on a file system without the immutable attribute (%v): cannot make %s read-only", err, path)
	}
	t.Cleanup(func() {
		if err := setFlags(func(f uint32) uint32 { return f &^ fsImmutable }); err != nil {
			t.Errorf("clear the immutable attribute of %s: %v", path, err)
		}
	})
	if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
		f.Close()
		t.Fatalf("%s is still writable", path)
	}
}
