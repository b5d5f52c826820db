package store

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// ReadTogether's transactions share one snapshot: a commit that lands
// while they run is seen by none of them, whenever each reads, and it is
// not held up by them.
func TestReadTogetherSharesOneSnapshot(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "b.db"), []byte("0123456789abcdef0123456789abcdef"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	add := func(id string) {
		t.Helper()
		if err := st.Exec(ctx, `INSERT INTO businesses(id, created_at, updated_at) VALUES (?, 'x', 'x')`, id); err != nil {
			t.Fatal(err)
		}
	}
	count := func(rt *ReadTx) int {
		var n int
		if err := rt.tx.QueryRowContext(rt.ctx, `SELECT COUNT(*) FROM businesses`).Scan(&n); err != nil {
			t.Error(err)
		}
		return n
	}
	add("b1")
	committed := make(chan struct{})
	var started sync.WaitGroup
	started.Add(3)
	seen := make([]int, 3)
	reader := func(i int) func(*ReadTx) error {
		return func(rt *ReadTx) error {
			if i == 0 {
				seen[i] = count(rt) // one reads before the commit ...
			}
			started.Done()
			<-committed
			if i != 0 {
				seen[i] = count(rt) // ... the others only after it
			}
			return nil
		}
	}
	done := make(chan error)
	go func() { done <- st.ReadTogether(ctx, reader(0), reader(1), reader(2)) }()
	started.Wait()
	add("b2") // the write lock is free while they run
	close(committed)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ReadTogether did not finish")
	}
	for i, n := range seen {
		if n != 1 {
			t.Errorf("reader %d saw %d businesses, want the 1 of its snapshot", i, n)
		}
	}
	// A read-only store cannot take the write lock (and BEGIN IMMEDIATE
	// succeeds there without it): the fns run one after the other in one
	// Read, still on one snapshot.
	ro, err := Open(ctx, st.Path(), []byte("0123456789abcdef0123456789abcdef"), Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	var a, b int
	err = ro.ReadTogether(ctx, func(rt *ReadTx) error {
		a = count(rt)
		add("b3")
		return nil
	}, func(rt *ReadTx) error {
		b = count(rt)
		return nil
	})
	if err != nil || a != 2 || b != 2 {
		t.Fatalf("read-only store: %v, saw %d and %d businesses, want 2 and 2", err, a, b)
	}
}

func TestChartParser(t *testing.T) {
	p := chartParser{texts: map[string]string{}}
	got, err := p.parse([]byte(`[[3,"2026-11-26","2026-11-26T02:00:00Z",-100,null,"ok"],[7,"a\"b\\c\n\u0001\u00e9\ud83d\ude00\ud800","\u00ff",0,9223372036854775807,"break"]]`), 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []ChartPoint{{ID: 3, ReportDate: "2026-11-26", GeneratedAt: "2026-11-26T02:00:00Z", Expected: -100, Status: "ok"},
		{ID: 7, ReportDate: "a\"b\\c\n\x01é😀\uFFFD", GeneratedAt: "ÿ", Reported: 9223372036854775807, HasReported: true, Status: "break"}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	// Bytes that are not UTF-8 stay as stored.
	if got, err := p.parse([]byte("[[1,\"\xff\",\"t\",1,2,\"ok\"]]"), 1); err != nil || got[0].ReportDate != "\xff" {
		t.Fatalf("%+v %v", got, err)
	}
	if got, err := p.parse([]byte(`[]`), 1); err != nil || len(got) != 0 {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{``, `[`, `[[1,"a","b",1,null,"ok"]`, `[[1,"a","b",1,null,"ok"]]x`, `[[1,"a","b",1.5,null,"ok"]]`,
		`[[1,"a","b",1,nul,"ok"]]`, `[[1,"a","b",1,null]]`, `[[1,"a\q","b",1,null,"ok"]]`, `[[1,"a\u12","b",1,null,"ok"]]`,
		`[[99999999999999999999,"a","b",1,null,"ok"]]`, `[[1,"a,"b",1,null,"ok"]]`} {
		if _, err := p.parse([]byte(bad), 1); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// The rows go in before their run: a detail that fails, or a run id
// already recorded, leaves nothing behind.
func TestSaveReconciliationWithIsAllOrNothing(t *testing.T) {
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
	run := ReportRun{RunID: "r1", ReportDate: "2026-11-27", GeneratedAt: at, Valid: true}
	rows := []Reconciliation{{AccountID: 1, Currency: "USD", Status: "ok"}, {AccountID: 2, Currency: "USD", Status: "break"}}
	boom := errors.New("encoding failed")
	if err := st.SaveReconciliationWith(ctx, run, rows, func() (ReportRun, error) { return ReportRun{}, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the detail's error", err)
	}
	if runs, n := count(); runs != 0 || n != 0 {
		t.Fatalf("a failed detail left %d runs and %d rows", runs, n)
	}
	other := run
	other.RunID = "r9"
	if err := st.SaveReconciliationWith(ctx, run, rows, func() (ReportRun, error) { return other, nil }); err == nil {
		t.Fatal("rows written for one run were stored under another")
	}
	if runs, n := count(); runs != 0 || n != 0 {
		t.Fatalf("a mismatched run left %d runs and %d rows", runs, n)
	}
	if err := st.SaveReconciliationWith(ctx, run, rows, func() (ReportRun, error) { run.Detail = []byte(`{}`); return run, nil }); err != nil {
		t.Fatal(err)
	}
	if runs, n := count(); runs != 1 || n != 2 {
		t.Fatalf("%d runs and %d rows, want 1 and 2", runs, n)
	}
	rows[0].AccountID = 2 // and a row that would not clash
	if err := st.SaveReconciliation(ctx, run, rows[:1]); !errors.Is(err, ErrConflict) {
		t.Fatalf("same run again: %v, want ErrConflict", err)
	}
	// A row whose run never arrives fails the commit: its reference is
	// checked then.
	bad := []Reconciliation{{AccountID: 3, Currency: "USD", Status: "ok"}}
	if err := st.SaveReconciliation(ctx, ReportRun{RunID: "r2", ReportDate: "2026-11-27", GeneratedAt: at}, bad); err == nil {
		t.Fatal("a row for a missing account was stored")
	}
	if runs, n := count(); runs != 1 || n != 2 {
		t.Fatalf("%d runs and %d rows after the failures, want 1 and 2", runs, n)
	}
}

func TestChartParserIntegers(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "-0": 0, "7": 7, "-7": -7, "9223372036854775807": 9223372036854775807,
		"-9223372036854775808": -9223372036854775808} {
		p := chartParser{b: []byte(in)}
		if got, err := p.integer(); err != nil || got != want || p.i != len(in) {
			t.Errorf("%s: %d %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-", "x", "9223372036854775808", "-9223372036854775809", "99999999999999999999"} {
		p := chartParser{b: []byte(in)}
		if got, err := p.integer(); err == nil {
			t.Errorf("%s: %d, want an error", in, got)
		}
	}
}
