package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"bankfeed/jobs"
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
	var finished []string
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
			job, _ := m["job"].(string)
			finished = append(finished, job)
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
	// A run of all records each job it ran apart, and says so once each.
	if want := []string{"sync", "balances", "reconcile"}; !slices.Equal(finished, want) {
		t.Errorf("run finished lines for jobs %v, want %v", finished, want)
	}
}

// TestWaitingForTheRunLock: a run that finds another holding the run lock
// says so at once (in its log; report and doctor on stdout), then runs
// when it is free, or gives up after BANKFEED_LOCK_WAIT with exit 4 and
// the one line on stderr; a run that finds the lock free says nothing of it.
func TestWaitingForTheRunLock(t *testing.T) {
	env, _, tok := world(t)
	if r := bf(t, env, "business", "put", "biz1", "--processor-token", tok["checking"]); r.code != 0 {
		t.Fatalf("put: %d %s", r.code, r.stderr)
	}
	const note = "waiting for the run lock"
	if r := bf(t, env, "--run-once"); r.code != 0 || strings.Contains(r.stdout+r.stderr, note) {
		t.Fatalf("free lock: exit %d, stderr %q", r.code, r.stderr)
	}
	// The other holder: its own open file, as another process's would be.
	other, err := store.LockRun(context.Background(), env["BANKFEED_DB"], 0)
	if err != nil {
		t.Fatal(err)
	}
	env["BANKFEED_LOCK_WAIT"] = "300ms"
	r := bf(t, env, "--run-once")
	if r.code != exitLocked || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("held lock: exit %d, stderr %q; want %d and one line", r.code, r.stderr, exitLocked)
	}
	var logged map[string]any
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, note) {
			if err := json.Unmarshal([]byte(line), &logged); err != nil {
				t.Fatalf("the note is not a JSON log line: %q", line)
			}
		}
	}
	if logged == nil || logged["database"] != env["BANKFEED_DB"] || logged["lock_wait_ms"] != float64(300) {
		t.Fatalf("held lock: no log line saying it waits (database, lock_wait_ms):\n%s", r.stdout)
	}
	env["BANKFEED_LOCK_WAIT"] = "30s"
	for _, args := range [][]string{{"--run-once"}, {"report", "reconcile"}, {"doctor"}} {
		held := other
		released := time.AfterFunc(300*time.Millisecond, func() { held.Unlock() })
		r = bf(t, env, args...)
		released.Stop()
		if r.code != 0 || strings.Count(r.stdout, note) != 1 || !strings.Contains(r.stdout, "at most 30s") {
			t.Fatalf("%v with the lock released while it waits: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
		if other, err = store.LockRun(context.Background(), env["BANKFEED_DB"], 0); err != nil {
			t.Fatal(err)
		}
	}
	other.Unlock()
}

// TestRunOnceSummaryOnATerminal runs bankfeed as a real process whose
// stdout is a terminal (a pseudo-terminal): after the log it prints a
// short summary with the worst status and the report's path. Written to a
// pipe, the same run prints JSON log lines and no summary.
func TestRunOnceSummaryOnATerminal(t *testing.T) {
	env, srv, tok := world(t)
	if r := bf(t, env, "business", "put", "biz1", "--processor-token", tok["checking"], "--processor-token", tok["card"], "--processor-token", tok["broken"]); r.code != 0 {
		t.Fatalf("put: %d %s", r.code, r.stderr)
	}
	runOnTerminal := func() (string, int) {
		ptmx, tty, err := pty.Open()
		if err != nil {
			t.Skipf("no pseudo-terminal here: %v", err)
		}
		defer ptmx.Close()
		cmd := exec.Command(os.Args[0])
		cmd.Env = []string{"BANKFEED_TEST_MAIN=1", "BANKFEED_TEST_ARGS=--run-once", "TERM=dumb", "NO_COLOR=1"}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = tty, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		tty.Close() // the child holds it; the master reads until it exits
		var out bytes.Buffer
		copied := make(chan struct{})
		go func() { _, _ = io.Copy(&out, ptmx); close(copied) }()
		err = cmd.Wait()
		<-copied
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return strings.ReplaceAll(out.String(), "\r\n", "\n"), code
	}
	out, code := runOnTerminal()
	if code != 0 {
		t.Fatalf("run on a terminal: exit %d:\n%s", code, out)
	}
	html, _ := filepath.Glob(filepath.Join(env["BANKFEED_REPORT_DIR"], "reconciliation-*.html"))
	if len(html) != 1 {
		t.Fatalf("report files: %v", html)
	}
	abs, _ := filepath.Abs(html[0])
	for _, want := range []string{"run (all) finished: 3 token(s): 2 synced, 1 flagged, 0 failed; 4 change(s) applied\n",
		"worst status: needs_refresh; 2 account(s): 2 ok, 0 timing, 0 break, 0 stale, 0 no_anchor; 1 token(s) or Item(s) need refresh (bankfeed tokens list)\n",
		"report: " + abs + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `{"level"`) {
		t.Errorf("JSON log lines on a terminal (want the console rendering):\n%s", out)
	}
	// A break night: the worst status says so, exit 3.
	srv.AdjustBalance("acc_checking", "-1.00")
	if _, code := runOnTerminal(); code != 0 {
		t.Fatalf("timing run: exit %d", code)
	}
	out, code = runOnTerminal()
	if code != exitBreak || !regexp.MustCompile(`worst status: break; 2 account\(s\): 1 ok, 0 timing, 1 break`).MatchString(out) {
		t.Fatalf("break run: exit %d:\n%s", code, out)
	}
	// Not a terminal: JSON only.
	r := bf(t, env, "--run-once")
	if strings.Contains(r.stdout, "worst status") || strings.Contains(r.stdout, "finished:") {
		t.Fatalf("summary written to a pipe:\n%s", r.stdout)
	}
}

// TestWorstStatus: the summary's headline is the status that most needs
// action, and a failed run says it failed whatever the report says.
func TestWorstStatus(t *testing.T) {
	tests := []struct {
		counts map[string]int
		want   string
	}{
		{nil, ""},
		{map[string]int{"accounts": 2, "ok": 2}, "ok"},
		{map[string]int{"ok": 1, "no_anchor": 1}, "no_anchor"},
		{map[string]int{"timing": 1, "no_anchor": 1}, "timing"},
		{map[string]int{"timing": 1, "stale": 1}, "stale"},
		{map[string]int{"stale": 1, "needs_refresh": 1}, "needs_refresh"},
		{map[string]int{"break": 1, "needs_refresh": 3, "timing": 2}, "break"},
		{map[string]int{"break": 1, "invalid": 1}, "invalid (the trial balance failed: see the report)"},
	}
	for _, tt := range tests {
		if got := worstStatus(tt.counts); got != tt.want {
			t.Errorf("worstStatus(%v) = %q, want %q", tt.counts, got, tt.want)
		}
	}
	var out bytes.Buffer
	a := &app{stdout: &out}
	a.runSummary(jobs.Summary{Job: "sync", Tokens: 2, Counts: map[string]int{"synced": 1, "failed": 1, "not_ready": 1}},
		fmt.Errorf("%w: 1 of 2 tokens could not be synced", jobs.ErrTokensFailed), "")
	want := "\nrun (sync) finished: 2 token(s): 1 synced, 0 flagged, 1 failed, 1 not ready; 0 change(s) applied\n" +
		"worst status: failed (some tokens failed: 1 of 2 tokens could not be synced)\n"
	if out.String() != want {
		t.Errorf("summary of a failed sync:\n%q\nwant\n%q", out.String(), want)
	}
}
