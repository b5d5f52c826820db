package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bankfeed/store"
)

// rotate-key waits for the run lock like every other writer (exit 4 when
// a run holds it past BANKFEED_LOCK_WAIT, nothing rotated); after a
// rotation the old key is refused with the one-line remedy (exit 2) and
// the new key works.
func TestRotateKeyTakesTheRunLockAndTheOldKeyIsRefused(t *testing.T) {
	env, _, tok := world(t)
	if r := bf(t, env, "business", "put", "biz1", "--processor-token", tok["checking"]); r.code != 0 {
		t.Fatalf("put: %s", r.stderr)
	}
	newKey := "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="
	keyFile := filepath.Join(t.TempDir(), "new.key")
	if err := os.WriteFile(keyFile, []byte(newKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rotate := []string{"tokens", "rotate-key", "--new-key-file", keyFile}

	lock, err := store.LockRun(context.Background(), env["BANKFEED_DB"], 0)
	if err != nil {
		t.Fatal(err)
	}
	r := bf(t, copyEnv(env, "BANKFEED_LOCK_WAIT", "200ms"), rotate...)
	lock.Unlock()
	if r.code != exitLocked || !strings.Contains(r.stderr, "another bankfeed run") {
		t.Fatalf("rotate beside a run: exit %d %q", r.code, r.stderr)
	}
	if r := bf(t, env, "tokens", "list"); r.code != 0 {
		t.Fatalf("a refused rotation changed the key: exit %d %q", r.code, r.stderr)
	}

	if r := bf(t, env, rotate...); r.code != 0 || !strings.Contains(r.stdout, "re-encrypted 1 processor token") {
		t.Fatalf("rotate: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	for _, args := range [][]string{{"tokens", "list"}, {"--run-once"}, {"serve"}} {
		r := bf(t, env, args...)
		line := strings.TrimSpace(r.stderr)
		if r.code != exitUsage || strings.Contains(line, "\n") || !strings.Contains(line, "does not match the key this database's tokens were sealed with") ||
			!strings.Contains(line, "rotate-key") {
			t.Fatalf("%v with the old key: exit %d %q", args, r.code, r.stderr)
		}
		if strings.Contains(line, newKey) || strings.Contains(line, env["BANKFEED_TOKEN_KEY"]) {
			t.Fatalf("the error shows a key: %q", line)
		}
	}
	if r := bf(t, copyEnv(env, "BANKFEED_TOKEN_KEY", newKey), "tokens", "list"); r.code != 0 {
		t.Fatalf("new key: exit %d %q", r.code, r.stderr)
	}
}
