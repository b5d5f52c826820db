package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"bankfeed/store"
)

// TestTransactionsWalk checks Store.Transactions against an oracle written
// apart from it (every row read plainly, filtered and ordered in Go), for
// whole walks and for walks in pages of 7 resumed from the keyset: the
// merge of a business's accounts, both orders, every filter.
func TestTransactionsWalk(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "walk.db")
	st := open(t, path, key1, store.Options{})
	defer st.Close()
	fillHistory(t, st, 12, 40)

	type raw struct {
		id                      int64
		business, account, date string
		removed, pending, dup   bool
		txn                     string
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT b.id, a.business_id, a.plaid_account_id, b.date, b.removed, b.pending, b.duplicate_of IS NOT NULL, b.transaction_id
		FROM bank_transactions b, accounts a WHERE a.id = b.account_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var all []raw
	for rows.Next() {
		var r raw
		if err := rows.Scan(&r.id, &r.business, &r.account, &r.date, &r.removed, &r.pending, &r.dup, &r.txn); err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	status := func(r raw) string {
		switch {
		case r.removed:
			return "removed"
		case r.dup:
			return "duplicate"
		case r.pending:
			return "pending"
		}
		return "posted"
	}
	oracle := func(f store.TxnFilter) []string {
		var sel []raw
		for _, r := range all {
			if (f.BusinessID == "" || r.business == f.BusinessID) && (f.AccountID == "" || r.account == f.AccountID) &&
				(f.Since == "" || r.date >= f.Since) && (f.Until == "" || r.date <= f.Until) && (f.Status == "" || status(r) == f.Status) {
				sel = append(sel, r)
			}
		}
		slices.SortFunc(sel, func(a, b raw) int {
			if f.Desc {
				a, b = b, a
			}
			return int(a.id - b.id)
		})
		out := []string{}
		for _, r := range sel {
			out = append(out, r.txn+":"+status(r))
		}
		return out
	}
	walk := func(t *testing.T, f store.TxnFilter, pageSize int) []string {
		t.Helper()
		out := []string{}
		for {
			f.Limit = pageSize
			n := 0
			err := st.Transactions(ctx, f, func(r store.TxnRow) error {
				out = append(out, r.TransactionID+":"+r.Status)
				f.After = r.ID
				n++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if pageSize == 0 || n < pageSize {
				return out
			}
		}
	}
	for _, f := range []store.TxnFilter{
		{},
		{Desc: true},
		{BusinessID: "biz1"},
		{BusinessID: "biz2", Desc: true},
		{BusinessID: "biz3", Status: "pending"},
		{BusinessID: "biz1", Status: "removed", Desc: true},
		{Status: "posted", Since: "2026-03-01", Until: "2026-07-31"},
		{BusinessID: "biz3", AccountID: "acc00005", Since: "2026-05-01"},
		{AccountID: "acc00004", Desc: true},
		{BusinessID: "biz1", Until: "2025-01-01"},
	} {
		want := oracle(f)
		if len(want) == 0 && f.Until != "2025-01-01" {
			t.Errorf("%+v selects nothing: the fixture proves nothing there", f)
		}
		for _, size := range []int{0, 7} {
			t.Run(fmt.Sprintf("%+v/pages of %d", f, size), func(t *testing.T) {
				if got := walk(t, f, size); !slices.Equal(got, want) {
					t.Errorf("got %d rows %v\nwant %d rows %v", len(got), got, len(want), want)
				}
			})
		}
	}
	// The walk stops when fn says so, and an account is its business's.
	stop := errors.New("stop")
	n := 0
	if err := st.Transactions(ctx, store.TxnFilter{}, func(store.TxnRow) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("fn's error: %v after %d rows", err, n)
	}
	if err := st.Transactions(ctx, store.TxnFilter{BusinessID: "biz1", AccountID: "acc00005"}, func(store.TxnRow) error { return nil }); !errors.Is(err, store.ErrUnknownAccount) {
		t.Errorf("another business's account: %v", err)
	}
	if err := st.Transactions(ctx, store.TxnFilter{Status: "settled"}, func(store.TxnRow) error { return nil }); err == nil {
		t.Error("an unknown status walked")
	}
}

// BenchmarkTransactionsPage is one API page (100 rows) of a business with
// 100 accounts and 6,000 transactions, from the middle of the walk, and
// the same page of one account.
func BenchmarkTransactionsPage(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.db")
	st, err := store.Open(context.Background(), path, key1, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	fillHistory(b, st, 300, 60)
	for _, f := range []store.TxnFilter{{BusinessID: "biz1", After: 9000, Limit: 101}, {AccountID: "acc00004", After: 9000, Limit: 101}} {
		b.Run(fmt.Sprintf("business=%q account=%q", f.BusinessID, f.AccountID), func(b *testing.B) {
			for b.Loop() {
				n := 0
				if err := st.Transactions(context.Background(), f, func(store.TxnRow) error { n++; return nil }); err != nil || n == 0 {
					b.Fatal(err, n)
				}
			}
		})
	}
}
