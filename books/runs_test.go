package books_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"bankfeed/books"
	"bankfeed/store"
)

// runHistory records a fixed history: a run of all (sync partial with a
// failed and a flagged token, balances, reconcile with its report files),
// a failed sync, and a sync killed before it finished.
func runHistory(t *testing.T) *store.Store {
	st := newStore(t)
	ctx := context.Background()
	clock := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	st.Now = func() time.Time { return clock }
	step := func(d time.Duration) { clock = clock.Add(d) }
	rec := func(id, job, status string, took time.Duration, counts map[string]int, errText string, d store.RunDetail) {
		t.Helper()
		if err := st.StartRun(ctx, id, job); err != nil {
			t.Fatal(err)
		}
		step(took)
		if err := st.FinishRun(ctx, id, status, counts, errText, d); err != nil {
			t.Fatal(err)
		}
		step(time.Second)
	}
	rec("20261126T020000Z-sync", "sync", store.RunPartial, 1500*time.Millisecond,
		map[string]int{"tokens": 3, "synced": 1, "failed": 1, "flagged": 1, "pages": 4, "added": 120, "modified": 2, "removed": 1, "errors": 1},
		"some tokens failed: 1 of 3 tokens could not be synced",
		store.RunDetail{Tokens: []store.RunToken{
			{BusinessID: "biz1", TokenHint: "a1b2", Outcome: "failed", ErrorCode: "INTERNAL_SERVER_ERROR", Error: "plaid: INTERNAL_SERVER_ERROR (request req-1)"},
			{BusinessID: "biz1", TokenHint: "c3d4", Outcome: "flagged", ErrorCode: "ITEM_LOGIN_REQUIRED", Error: "plaid: ITEM_LOGIN_REQUIRED"},
		}})
	rec("20261126T020002Z-balances", "balances", store.RunOK, 10*time.Millisecond, map[string]int{"tokens": 3, "skipped": 1}, "", store.RunDetail{})
	if err := st.StartRun(ctx, "20261126T020003Z-reconcile", "reconcile"); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveReconciliation(ctx, store.ReportRun{RunID: "20261126T020003Z-reconcile", ReportDate: "2026-11-26", GeneratedAt: clock,
		Counts: map[string]int{"accounts": 2}, Dir: "/var/reports", Valid: true, Detail: []byte("{}"),
		Files: []string{"/var/reports/reconciliation-2026-11-26.json", "/var/reports/reconciliation-2026-11-26.csv", "/var/reports/reconciliation-2026-11-26.html"}}, nil); err != nil {
		t.Fatal(err)
	}
	step(300 * time.Millisecond)
	if err := st.FinishRun(ctx, "20261126T020003Z-reconcile", store.RunOK, map[string]int{"tokens": 0, "report_accounts": 2, "report_break": 1}, "", store.RunDetail{}); err != nil {
		t.Fatal(err)
	}
	step(time.Hour)
	rec("20261126T030004Z-sync", "sync", store.RunFailed, 2*time.Second, map[string]int{"tokens": 0}, "database is locked", store.RunDetail{})
	step(time.Hour)
	// A run killed mid-way stays unfinished until the next run starts.
	if err := st.StartRun(ctx, "20261126T040005Z-sync", "sync"); err != nil {
		t.Fatal(err)
	}
	step(time.Minute)
	if err := st.StartRun(ctx, "20261126T040105Z-probe", "probe"); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestRunsGolden(t *testing.T) {
	st := runHistory(t)
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{"runs.txt", func(w io.Writer) error { return books.WriteRuns(ctx, st, false, w) }},
		{"runs.json", func(w io.Writer) error { return books.WriteRuns(ctx, st, true, w) }},
		{"run-sync.txt", showRun(ctx, st, "20261126T020000Z-sync", false)},
		{"run-sync.json", showRun(ctx, st, "20261126T020000Z-sync", true)},
		{"run-reconcile.txt", showRun(ctx, st, "20261126T020003Z-reconcile", false)},
		{"run-interrupted.json", showRun(ctx, st, "20261126T040005Z-sync", true)},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := c.write(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, c.name, b.Bytes())
		})
	}
	if _, err := books.RunDetail(ctx, st, "no-such-run"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown run: %v, want ErrNotFound", err)
	}
	var b bytes.Buffer
	if err := books.WriteRuns(ctx, newStore(t), true, &b); err != nil || b.String() != "[]\n" {
		t.Fatalf("no runs: %q %v", b.String(), err)
	}
}

func showRun(ctx context.Context, st *store.Store, id string, asJSON bool) func(io.Writer) error {
	return func(w io.Writer) error {
		o, err := books.RunDetail(ctx, st, id)
		if err != nil {
			return err
		}
		if asJSON {
			return writeJSON(w, o)
		}
		return books.WriteRunDetail(o, w)
	}
}
