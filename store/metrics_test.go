package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bankfeed/store"
)

// TestRunsAfterFollowsTheHistory: a reader that asks for what came after
// the last row it saw, plus the rows it saw unfinished, sees every run
// once and every finish.
func TestRunsAfterFollowsTheHistory(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "runs.db"), key1, store.Options{})
	defer st.Close()
	for _, id := range []string{"r1", "r2"} {
		if err := st.StartRun(ctx, id, "sync"); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.FinishRun(ctx, "r1", "ok", nil, "", store.RunDetail{}); err != nil {
		t.Fatal(err)
	}
	rows, err := st.RunsAfter(ctx, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].FinishedAt == nil || rows[0].Status != "ok" || rows[1].FinishedAt != nil || rows[1].Job != "sync" {
		t.Fatalf("first read = %+v", rows)
	}
	last, open := rows[1].Seq, []int64{rows[1].Seq}
	if err := st.FinishRun(ctx, "r2", "failed", nil, "boom", store.RunDetail{}); err != nil {
		t.Fatal(err)
	}
	if err := st.StartRun(ctx, "r3", "reconcile"); err != nil {
		t.Fatal(err)
	}
	rows, err = st.RunsAfter(ctx, last, open)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Status != "failed" || rows[0].FinishedAt == nil || rows[1].Job != "reconcile" || rows[1].Seq <= last {
		t.Fatalf("second read = %+v", rows)
	}
	if rows, err = st.RunsAfter(ctx, rows[1].Seq, nil); err != nil || len(rows) != 0 {
		t.Fatalf("nothing new: %+v %v", rows, err)
	}
}

func TestLatestReportSummary(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "rep.db"), key1, store.Options{})
	defer st.Close()
	if rep, err := st.LatestReportSummary(ctx); err != nil || rep != nil {
		t.Fatalf("no report yet: %+v %v", rep, err)
	}
	save := func(id, date string, breaks int) {
		t.Helper()
		run := store.ReportRun{RunID: id, ReportDate: date, GeneratedAt: st.Now(), Counts: map[string]int{"accounts": 3, "break": breaks}, Valid: true, Detail: []byte("{}")}
		if err := st.SaveReconciliation(ctx, run, nil); err != nil {
			t.Fatal(err)
		}
	}
	save("a", "2026-11-30", 0)
	save("b", "2026-12-01", 2)
	save("c", "2026-11-02", 5) // an old date re-made later
	rep, err := st.LatestReportSummary(ctx)
	if err != nil || rep == nil || rep.Date != "2026-12-01" || rep.Counts["break"] != 2 || rep.GeneratedAt.IsZero() {
		t.Fatalf("latest = %+v %v", rep, err)
	}
}

// TestReady: a database that opens at this build's schema is ready; one
// at another version, or one that no longer opens, is not, and says why.
func TestReady(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ready.db")
	st := open(t, path, key1, store.Options{})
	defer st.Close()
	if err := st.Ready(ctx); err != nil {
		t.Fatalf("fresh database: %v", err)
	}
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 3"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := st.Ready(ctx); err == nil || !strings.Contains(err.Error(), "schema version 3") {
		t.Fatalf("old schema: %v", err)
	}
	// The file replaced by something that is not a database (and its WAL,
	// which would otherwise still hold the newest pages, gone).
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 512)), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(path + "-wal")
	os.Remove(path + "-shm")
	if err := st.Ready(ctx); err == nil || !strings.Contains(err.Error(), "does not") {
		t.Fatalf("garbage file: %v", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := st.Ready(ctx); err == nil {
		t.Fatal("a removed database is ready")
	}
}
