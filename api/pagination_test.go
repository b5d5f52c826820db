package api

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"bankfeed/jobs"
	"bankfeed/plaidapi"
	"bankfeed/plaidfake"
)

// TestPaginationWhileSyncing walks a business of 2,500 transactions (three
// accounts, so the walk merges) page by page through the API, in both
// orders, while between every two pages the bank adds a transaction,
// changes one's amount and date, settles a hold and withdraws one, and a
// real sync (jobs.Runner, plaid-go, plaidfake) applies it all: every
// transaction that existed when the walk began is seen exactly once, and
// no transaction shows on two pages.
func TestPaginationWhileSyncing(t *testing.T) {
	if testing.Short() {
		t.Skip("a 2,500-transaction world")
	}
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	srv := plaidfake.New(plaidfake.WithCredentials("cid", "sec"), plaidfake.WithClock(clock))
	ps := httptest.NewServer(srv)
	t.Cleanup(ps.Close)
	client := plaidapi.New(plaidapi.Config{BaseURL: ps.URL, ClientID: "cid", Secret: "sec", Timeout: 10 * time.Second, DaysRequested: 730,
		Sleep: func(context.Context, time.Duration) error { return nil }})
	toks := srv.Seed(3, 834, 15)

	h := newHarness(t)
	h.st.Now = clock
	if _, err := h.st.PutTokens(ctx, "biz-walk", "sandbox", toks, true); err != nil {
		t.Fatal(err)
	}
	runner := &jobs.Runner{Store: h.st, Plaid: client, Log: zerolog.New(io.Discard), Concurrency: 1, ProbeInterval: 6 * time.Hour, Now: clock}
	sync := func() {
		t.Helper()
		if _, err := runner.Run(ctx, jobs.JobSync); err != nil {
			t.Fatalf("sync: %v", err)
		}
	}
	sync()
	accts, err := ListAccounts(ctx, h.st, "biz-walk")
	if err != nil || len(accts) != 3 {
		t.Fatalf("accounts: %v %d", err, len(accts))
	}

	n := 0
	// change makes the bank move under the walk, then syncs it in.
	change := func() {
		t.Helper()
		n++
		a := accts[n%3].AccountID
		live := srv.Txns(a)
		srv.AddTxn(plaidfake.Txn{ID: fmt.Sprintf("new-%04d", n), AccountID: a, Amount: "12.34", Date: "2025-06-15", Name: "New during the walk"})
		var pending, posted []string
		for _, x := range live {
			if x.Pending {
				pending = append(pending, x.ID)
			} else {
				posted = append(posted, x.ID)
			}
		}
		// A changed amount and date re-posts (reversal + entry) and moves
		// the transaction in date order; its row, and so its place in the
		// walk, stays.
		srv.ModifyTxn(posted[(n*37)%len(posted)], func(x *plaidfake.Txn) { x.Amount = "99.99"; x.Date = "2024-02-01" })
		srv.RemoveTxn(posted[(n*53+1)%len(posted)])
		if len(pending) > 0 {
			srv.PostPending(pending[0], plaidfake.Txn{ID: fmt.Sprintf("settled-%04d", n), Amount: "5.00", Date: "2025-12-31", Name: "Settled"}, n%2 == 0)
		}
		sync()
	}

	walk := func(order string) {
		t.Helper()
		before := map[string]bool{}
		if err := h.st.Transactions(ctx, mustFilter(t, "biz-walk", "", "", "", ""), func(r storeRow) error {
			before[r.TransactionID] = true
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if order == "asc" && len(before) < 2500 {
			t.Fatalf("the walk starts with %d transactions, want 2,500 or more", len(before))
		}
		seen := map[string]int{}
		cursor, pages := "", 0
		for {
			q := "?limit=100&order=" + order
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			p := txnPage(t, h.do("GET", "/v1/businesses/biz-walk/bank-transactions"+q, "").want(t, 200))
			pages++
			for _, x := range p.Data {
				if seen[x.TransactionID]++; seen[x.TransactionID] > 1 {
					t.Fatalf("%s walk: %s on two pages (page %d)", order, x.TransactionID, pages)
				}
			}
			if p.NextCursor == nil {
				break
			}
			if len(p.Data) != 100 {
				t.Fatalf("%s walk: page %d holds %d rows and says more follow", order, pages, len(p.Data))
			}
			cursor = *p.NextCursor
			change()
		}
		missing := 0
		for id := range before {
			if seen[id] != 1 {
				missing++
				if missing < 5 {
					t.Errorf("%s walk: %s, there at the start, seen %d times", order, id, seen[id])
				}
			}
		}
		if missing > 0 || pages < 25 {
			t.Fatalf("%s walk: %d of %d starting transactions not seen once, %d pages", order, missing, len(before), pages)
		}
		// The bank really moved under the walk: what it added after the
		// walk began (at the end of an ascending walk) was synced and seen.
		if order == "asc" && len(seen) < len(before)+n {
			t.Fatalf("asc walk saw %d rows: the %d additions synced during it are missing", len(seen), n)
		}
		t.Logf("%s walk: %d pages, %d rows (%d there at the start), %d bank changes synced", order, pages, len(seen), len(before), n)
	}
	walk("asc")
	walk("desc")

	// After all that churn, a transaction has a live entry exactly when it
	// is posted: a re-dated one points at its new version, a withdrawn one
	// at nothing.
	redated := 0
	if err := h.st.Transactions(ctx, mustFilter(t, "biz-walk", "", "", "", ""), func(r storeRow) error {
		if (r.Status == "posted") != (r.EntryID != "") {
			t.Errorf("%s is %s with entry %q", r.TransactionID, r.Status, r.EntryID)
		}
		if strings.HasSuffix(r.EntryID, ":v2") {
			redated++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if redated == 0 {
		t.Error("no transaction was re-posted: the walk ran over a quiet bank")
	}
}
