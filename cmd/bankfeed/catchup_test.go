package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"bankfeed/store"
)

// openDB opens the test world's database as bankfeed would.
func openDB(t *testing.T, env map[string]string, readOnly bool) *store.Store {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(env["BANKFEED_TOKEN_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), env["BANKFEED_DB"], key, store.Options{ReadOnly: readOnly})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// recordRun writes a finished run of job, started at at, into the run
// history, as an earlier bankfeed would have left it.
func recordRun(t *testing.T, env map[string]string, job string, at time.Time) string {
	t.Helper()
	st := openDB(t, env, false)
	defer st.Close()
	st.Now = func() time.Time { return at }
	id := "earlier-" + job + "-" + at.Format("150405")
	ctx := context.Background()
	if err := st.StartRun(ctx, id, job); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishRun(ctx, id, "ok", map[string]int{}, "", store.RunDetail{}); err != nil {
		t.Fatal(err)
	}
	return id
}

// lastRunID is the id of the newest finished run of job, "" when none.
func lastRunID(t *testing.T, env map[string]string, job string) string {
	t.Helper()
	st := openDB(t, env, true)
	defer st.Close()
	r, err := st.LastRun(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if r == nil {
		return ""
	}
	return r.ID
}

// newRuns polls the run history until some job in old has a finished run
// other than the one recorded there, then keeps looking for grace so that
// a second catch-up can show itself; it returns the jobs that ran.
func newRuns(t *testing.T, env map[string]string, old map[string]string, within, grace time.Duration) map[string]bool {
	t.Helper()
	ran := map[string]bool{}
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for job, id := range old {
			if last := lastRunID(t, env, job); last != "" && last != id {
				ran[job] = true
			}
		}
		if len(ran) == len(old) {
			break
		}
		if len(ran) > 0 && deadline.After(time.Now().Add(grace)) {
			deadline = time.Now().Add(grace)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return ran
}

// TestServeCatchesUpAMissedReconcile starts serve with a daily reconcile
// scheduled two hours ago. When the run history says the last reconcile
// started before that time (the container was down), serve reconciles at
// start-up, long before the next tick; when the last reconcile is newer,
// it does not.
func TestServeCatchesUpAMissedReconcile(t *testing.T) {
	for _, missed := range []bool{true, false} {
		t.Run(map[bool]string{true: "missed", false: "up to date"}[missed], func(t *testing.T) {
			env, _, tok := world(t)
			if r := bf(t, env, "business", "put", "biz1", "--processor-token", tok["checking"]); r.code != 0 {
				t.Fatalf("put: %d %s", r.code, r.stderr)
			}
			now := time.Now().UTC()
			tick := now.Add(-2 * time.Hour)
			daily := fmt.Sprintf("%d %d * * *", tick.Minute(), tick.Hour())
			env["BANKFEED_TZ"] = "UTC"
			env["BANKFEED_SYNC_SCHEDULE"] = daily
			env["BANKFEED_RECONCILE_SCHEDULE"] = daily
			env["BANKFEED_LISTEN"] = freePort(t)
			before, after := now.Add(-3*time.Hour), now
			// In the up-to-date case the sync is the one that was missed, so
			// that its catch-up shows the catch-up has been looked at.
			syncAt, recAt := after, before
			if !missed {
				syncAt, recAt = before, after
			}
			oldSync := recordRun(t, env, "sync", syncAt)
			oldRec := recordRun(t, env, "reconcile", recAt)

			cmd, log, done := startServe(t, env)
			// Whichever catch-up shows first, the other is looked at beside it.
			ran := newRuns(t, env, map[string]string{"sync": oldSync, "reconcile": oldRec}, 20*time.Second, time.Second)
			_ = cmd.Process.Signal(syscall.SIGTERM)
			<-done // every line read: Wait closes the pipe
			_ = cmd.Wait()
			files, _ := filepath.Glob(filepath.Join(env["BANKFEED_REPORT_DIR"], "reconciliation-*.json"))
			want := map[bool]string{true: "reconcile", false: "sync"}[missed]
			if len(ran) != 1 || !ran[want] {
				t.Fatalf("start-up catch-up ran %v, want only the %s missed at %s:\n%s", ran, want, tick.Format(time.RFC3339), log)
			}
			if wantFiles := map[bool]int{true: 1, false: 0}[missed]; len(files) != wantFiles {
				t.Fatalf("report files %v, want %d", files, wantFiles)
			}
		})
	}
}

// TestServeDoesNotCatchUpBeforeTheDatabase: with no run on record, serve
// replays only a schedule missed since the database began. A database
// made an hour after the daily tick catches up nothing; one whose business
// dates from before the tick catches up both jobs.
func TestServeDoesNotCatchUpBeforeTheDatabase(t *testing.T) {
	for _, older := range []bool{false, true} {
		t.Run(map[bool]string{false: "fresh", true: "older than the tick"}[older], func(t *testing.T) {
			env, _, tok := world(t)
			now := time.Now().UTC()
			tick := now.Add(-2 * time.Hour)
			daily := fmt.Sprintf("%d %d * * *", tick.Minute(), tick.Hour())
			env["BANKFEED_TZ"] = "UTC"
			env["BANKFEED_SYNC_SCHEDULE"] = daily
			env["BANKFEED_RECONCILE_SCHEDULE"] = daily
			env["BANKFEED_LISTEN"] = freePort(t)
			st := openDB(t, env, false)
			if older {
				st.Now = func() time.Time { return now.Add(-3 * time.Hour) }
			}
			if _, err := st.PutTokens(context.Background(), "biz1", "sandbox", []string{tok["checking"]}, true); err != nil {
				t.Fatal(err)
			}
			st.Close()

			cmd, log, done := startServe(t, env)
			within := 20 * time.Second
			if !older {
				within = 2 * time.Second // what a catch-up takes to show, with room
			}
			ran := newRuns(t, env, map[string]string{"sync": "", "reconcile": ""}, within, time.Second)
			_ = cmd.Process.Signal(syscall.SIGTERM)
			<-done
			_ = cmd.Wait()
			if older && (!ran["sync"] || !ran["reconcile"]) {
				t.Fatalf("a database older than the missed tick: catch-up ran %v, want sync and reconcile:\n%s", ran, log)
			}
			if !older && (len(ran) > 0 || strings.Contains(log.String(), "catching up")) {
				t.Fatalf("a database newer than the tick caught up %v:\n%s", ran, log)
			}
		})
	}
}
