package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"path/filepath"
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
