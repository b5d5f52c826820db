package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"bankfeed/store"
)

// TestLogFields: every JSON log line of a run names tokens by hint, never
// by internal id, and durations carry their unit in the field name.
func TestLogFields(t *testing.T) {
	env, _, tok := world(t)
	if r := bf(t, env, "business", "put", "biz1", "--processor-token", tok["checking"], "--processor-token", tok["broken"]); r.code != 0 {
		t.Fatalf("put: %d %s", r.code, r.stderr)
	}
	r := bf(t, env, "--run-once")
	if r.code != 0 {
		t.Fatalf("run: %d %s", r.code, r.stderr)
	}
	hints := map[string]bool{}
	finished := 0
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON log line: %q", line)
		}
		for k := range m {
			if k == "token_id" || k == "id" || k == "duration" || k == "timeout" {
				t.Errorf("log field %q (want the token hint, or a unit in the name): %s", k, line)
			}
		}
		if m["message"] == "token" {
			h, _ := m["token_hint"].(string)
			hints[h] = true
		}
		if m["message"] == "run finished" {
			finished++
			if _, ok := m["duration_ms"].(float64); !ok {
				t.Errorf("run finished without a numeric duration_ms: %s", line)
			}
		}
	}
	for _, name := range []string{"checking", "broken"} {
		if h := tok[name][len(tok[name])-4:]; !hints[h] {
			t.Errorf("no token line with token_hint %q (the %s token); saw %v", h, name, hints)
		}
	}
	if finished != 1 {
		t.Errorf("%d run finished lines, want 1", finished)
	}
}

// TestWaitingForTheRunLock: a run that finds another holding the run lock
// says so on stderr at once, then runs when it is free, or gives up after
// BANKFEED_LOCK_WAIT with exit 4; a run that finds the lock free says
// nothing of it.
func TestWaitingForTheRunLock(t *testing.T) {
	env, _, tok := world(t)
	if r := bf(t, env, "business", "put", "biz1", "--processor-token", tok["checking"]); r.code != 0 {
		t.Fatalf("put: %d %s", r.code, r.stderr)
	}
	const line = "waiting for the run lock"
	if r := bf(t, env, "--run-once"); r.code != 0 || strings.Contains(r.stderr, line) {
		t.Fatalf("free lock: exit %d, stderr %q", r.code, r.stderr)
	}
	// The other holder: its own open file, as another process's would be.
	other, err := store.LockRun(context.Background(), env["BANKFEED_DB"], 0)
	if err != nil {
		t.Fatal(err)
	}
	env["BANKFEED_LOCK_WAIT"] = "300ms"
	r := bf(t, env, "--run-once")
	if r.code != exitLocked || strings.Count(r.stderr, line) != 1 || !strings.Contains(r.stderr, env["BANKFEED_DB"]) ||
		!strings.Contains(r.stderr, "at most 300ms") {
		t.Fatalf("held lock: exit %d, stderr %q; want %d and one line saying it waits", r.code, r.stderr, exitLocked)
	}
	env["BANKFEED_LOCK_WAIT"] = "30s"
	for _, args := range [][]string{{"--run-once"}, {"report", "reconcile"}, {"doctor"}} {
		held := other
		released := time.AfterFunc(300*time.Millisecond, func() { held.Unlock() })
		r = bf(t, env, args...)
		released.Stop()
		if r.code != 0 || strings.Count(r.stderr, line) != 1 {
			t.Fatalf("%v with the lock released while it waits: exit %d, stderr %q", args, r.code, r.stderr)
		}
		if other, err = store.LockRun(context.Background(), env["BANKFEED_DB"], 0); err != nil {
			t.Fatal(err)
		}
	}
	other.Unlock()
}
