package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// A run and its rows are stored together or not at all, and a run id is
// stored once.
func TestSaveReconciliationIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "b.db"), []byte("0123456789abcdef0123456789abcdef"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, q := range []string{
		`INSERT INTO businesses(id, created_at, updated_at) VALUES ('b', 'x', 'x')`,
		`INSERT INTO accounts(id, business_id, plaid_account_id, type, currency, currency_exponent, created_at, updated_at) VALUES (1, 'b', 'p1', 'depository', 'USD', 2, 'x', 'x'), (2, 'b', 'p2', 'depository', 'USD', 2, 'x', 'x')`,
	} {
		if err := st.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	count := func() (runs, rows int) {
		t.Helper()
		if err := st.Read(ctx, func(rt *ReadTx) error {
			if err := rt.tx.QueryRow(`SELECT COUNT(*) FROM report_runs`).Scan(&runs); err != nil {
				return err
			}
			return rt.tx.QueryRow(`SELECT COUNT(*) FROM reconciliations`).Scan(&rows)
		}); err != nil {
			t.Fatal(err)
		}
		return runs, rows
	}
	at := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	run := ReportRun{RunID: "r1", ReportDate: "2026-11-27", GeneratedAt: at, Valid: true, Detail: []byte(`{}`)}
	// The second row names an account that does not exist: nothing of the run stays.
	bad := []Reconciliation{{AccountID: 1, Currency: "USD", Status: "ok"}, {AccountID: 3, Currency: "USD", Status: "ok"}}
	if err := st.SaveReconciliation(ctx, run, bad); err == nil {
		t.Fatal("a row for a missing account was stored")
	}
	if runs, n := count(); runs != 0 || n != 0 {
		t.Fatalf("a failed save left %d runs and %d rows", runs, n)
	}
	odd := []Reconciliation{{AccountID: 1, Currency: "USD", Status: "fine"}}
	if err := st.SaveReconciliation(ctx, run, odd); err == nil {
		t.Fatal("an unknown status was stored")
	}
	rows := []Reconciliation{{AccountID: 1, Currency: "USD", Status: "ok"}, {AccountID: 2, Currency: "USD", Status: "break"}}
	if err := st.SaveReconciliation(ctx, run, rows); err != nil {
		t.Fatal(err)
	}
	if runs, n := count(); runs != 1 || n != 2 {
		t.Fatalf("%d runs and %d rows, want 1 and 2", runs, n)
	}
	if err := st.SaveReconciliation(ctx, run, rows[:1]); !errors.Is(err, ErrConflict) {
		t.Fatalf("same run again: %v, want ErrConflict", err)
	}
	if runs, n := count(); runs != 1 || n != 2 {
		t.Fatalf("%d runs and %d rows after the failures, want 1 and 2", runs, n)
	}
}
