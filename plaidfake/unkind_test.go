package plaidfake_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"bankfeed/plaidfake"

	"github.com/plaid/plaid-go/v29/plaid"
)

// clock is a settable "now" for WithClock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var today = time.Date(2026, 12, 3, 9, 30, 0, 0, time.UTC)

func daysAgo(n int) string { return today.AddDate(0, 0, -n).Format(time.DateOnly) }

// syncWith runs one loop sending options as bankfeed does (days 0: none).
func (h *harness) syncWith(tok, cursor string, days int32) (update, string, plaid.AccountBase) {
	h.t.Helper()
	u := update{added: map[string]plaid.Transaction{}, modified: map[string]plaid.Transaction{}, cursor: cursor}
	for {
		req := plaid.NewProcessorTransactionsSyncRequest(tok)
		req.SetCount(2)
		if u.cursor != "" {
			req.SetCursor(u.cursor)
		}
		if days > 0 {
			o := plaid.TransactionsSyncRequestOptions{}
			o.SetDaysRequested(days)
			o.SetIncludeOriginalDescription(true)
			req.SetOptions(o)
		}
		r, _, err := h.c.PlaidApi.ProcessorTransactionsSync(context.Background()).ProcessorTransactionsSyncRequest(*req).Execute()
		if err != nil {
			h.t.Fatalf("sync: %v %s", err, errBody(err))
		}
		u.pages++
		for _, t := range r.Added {
			u.added[t.TransactionId] = t
		}
		for _, t := range r.Modified {
			u.modified[t.TransactionId] = t
		}
		for _, rm := range r.Removed {
			u.removed = append(u.removed, rm.TransactionId)
		}
		u.cursor = r.NextCursor
		if !r.HasMore {
			return u, string(r.TransactionsUpdateStatus), r.Account
		}
	}
}

func current(a plaid.AccountBase) float64 { return a.Balances.GetCurrent() }

func (h *harness) balanceNow(tok string) plaid.AccountBase {
	h.t.Helper()
	r, _, err := h.c.PlaidApi.ProcessorBalanceGet(context.Background()).ProcessorBalanceGetRequest(*newBalanceReq(tok)).Execute()
	if err != nil {
		h.t.Fatalf("balance: %v %s", err, errBody(err))
	}
	return r.Account
}

func (h *harness) accountGet(tok string) plaid.ProcessorAccountGetResponse {
	h.t.Helper()
	r, _, err := h.c.PlaidApi.ProcessorAccountGet(context.Background()).
		ProcessorAccountGetRequest(*plaid.NewProcessorAccountGetRequest(tok)).Execute()
	if err != nil {
		h.t.Fatalf("account: %v %s", err, errBody(err))
	}
	return r
}

func TestPullsLagTheBank(t *testing.T) {
	clk := &clock{today}
	h := newHarness(t, plaidfake.WithPulls(), plaidfake.WithClock(clk.now))
	acct, tok := checking(h)
	first := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "100.00", Date: daysAgo(3), Name: "rent"})

	// Nothing reaches Plaid before its first pull.
	u, _, a := h.syncWith(tok, "", 730)
	if len(u.added) != 0 || current(a) != 1000 {
		t.Fatalf("before any pull: added %v, current %v", slices.Collect(maps.Keys(u.added)), current(a))
	}
	h.PullAll()
	u, _, a = h.syncWith(tok, u.cursor, 730)
	if _, ok := u.added[first]; len(u.added) != 1 || !ok || current(a) != 900 || h.PulledCurrent(acct) != "900.00" {
		t.Fatalf("after the pull: added %v, current %v", slices.Collect(maps.Keys(u.added)), current(a))
	}

	// The bank moves on: real-time balance sees it, sync and account/get do not.
	late := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "25.00", Date: daysAgo(0), Name: "coffee beans"})
	h.AdjustBalance(acct, "-5.00")
	if got := current(h.balanceNow(tok)); got != 870 || h.Current(acct) != "870.00" {
		t.Fatalf("real-time current %v (Current %s), want 870", got, h.Current(acct))
	}
	if got := current(h.accountGet(tok).Account); got != 900 {
		t.Fatalf("account/get current %v, want the pulled 900", got)
	}
	again, _, a := h.syncWith(tok, u.cursor, 730)
	if len(again.added)+len(again.modified)+len(again.removed) != 0 || current(a) != 900 || h.PulledCurrent(acct) != "900.00" {
		t.Fatalf("sync before the next pull: %+v, current %v", again, current(a))
	}

	h.Pull(acct)
	next, _, a := h.syncWith(tok, again.cursor, 730)
	if _, ok := next.added[late]; len(next.added) != 1 || !ok || current(a) != 870 {
		t.Fatalf("next pull: added %v, current %v", slices.Collect(maps.Keys(next.added)), current(a))
	}
}

func TestPullDuringALoopIsAMutation(t *testing.T) {
	h := newHarness(t, plaidfake.WithPulls())
	acct, tok := checking(h)
	for range 3 {
		h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "1.00", Date: "2026-11-02", Name: "t"})
	}
	h.PullAll()
	r, _, err := h.page(tok, "", 1)
	if err != nil || !r.HasMore {
		t.Fatalf("first page: %v, has_more %v", err, r.HasMore)
	}
	// A bank change Plaid has not pulled yet does not disturb the loop ...
	h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "2.00", Date: "2026-11-03", Name: "t"})
	r, _, err = h.page(tok, r.NextCursor, 1)
	if err != nil {
		t.Fatalf("second page: %v %s", err, errBody(err))
	}
	// ... a pull does.
	h.Pull(acct)
	_, resp, err := h.page(tok, r.NextCursor, 1)
	wantPlaidErr(t, err, resp, 400, "TRANSACTIONS_ERROR", "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION")
}

func TestHistoryStages(t *testing.T) {
	clk := &clock{today}
	h := newHarness(t, plaidfake.WithClock(clk.now))
	acct, tok := h.AddAccount(plaidfake.Account{Name: "Staged", Opening: "1000.00", History: plaidfake.HistoryStaged})
	recent := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "10.00", Date: daysAgo(10), Name: "recent"})
	withheld := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "20.00", Date: daysAgo(12), Name: "late", LateHistory: true})
	edge := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "30.00", Date: daysAgo(30), Name: "edge"})
	older := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "40.00", Date: daysAgo(31), Name: "older"})
	oldest := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "50.00", Date: daysAgo(700), Name: "two years"})
	h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "60.00", Date: daysAgo(731), Name: "beyond the window"})

	// NOT_READY on the wire: HTTP 200, account null, empty cursor and arrays.
	resp, body := h.post("/processor/transactions/sync", map[string]any{"processor_token": tok,
		"options": map[string]any{"days_requested": 730}}, creds)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || resp.StatusCode != 200 {
		t.Fatalf("NOT_READY: %d %s", resp.StatusCode, body)
	}
	for k, want := range map[string]string{"account": "null", "next_cursor": `""`, "added": "[]", "modified": "[]",
		"removed": "[]", "has_more": "false", "transactions_update_status": `"NOT_READY"`} {
		if string(raw[k]) != want {
			t.Errorf("NOT_READY %s = %s, want %s", k, raw[k], want)
		}
	}
	if h.HistoryState(acct) != "NOT_READY" || h.DaysRequested(acct) != 730 {
		t.Fatalf("state %s, days %d", h.HistoryState(acct), h.DaysRequested(acct))
	}
	// The window is the first call's: a later call cannot widen it.
	u, status, a := h.syncWith(tok, "", 0)
	if status != "NOT_READY" || u.cursor != "" || len(u.added) != 0 || a.AccountId != "" || h.DaysRequested(acct) != 730 {
		t.Fatalf("NOT_READY via plaid-go: %s %+v %+v", status, u, a)
	}

	h.AdvanceHistory(acct)
	u, status, a = h.syncWith(tok, "", 730)
	if got := slices.Sorted(maps.Keys(u.added)); status != "INITIAL_UPDATE_COMPLETE" || !slices.Equal(got, slices.Sorted(slices.Values([]string{recent, edge}))) {
		t.Fatalf("INITIAL: %s added %v, want %s and %s", status, got, recent, edge)
	}
	// Plaid's balance is the bank's, whatever history has arrived.
	if current(a) != 1000-10-20-30-40-50-60 {
		t.Fatalf("INITIAL current %v", current(a))
	}
	// More INITIAL syncs bring nothing new.
	if again, status, _ := h.syncWith(tok, u.cursor, 730); len(again.added) != 0 || status != "INITIAL_UPDATE_COMPLETE" {
		t.Fatalf("second INITIAL sync: %s %+v", status, again)
	}

	h.AdvanceHistory(acct)
	hist, status, _ := h.syncWith(tok, u.cursor, 730)
	if got := slices.Sorted(maps.Keys(hist.added)); status != "HISTORICAL_UPDATE_COMPLETE" || h.HistoryState(acct) != status ||
		!slices.Equal(got, slices.Sorted(slices.Values([]string{withheld, older, oldest}))) || len(hist.modified)+len(hist.removed) != 0 {
		t.Fatalf("HISTORICAL: %s added %v modified %d removed %d", status, got, len(hist.modified), len(hist.removed))
	}
	if again, _, _ := h.syncWith(tok, hist.cursor, 730); len(again.added)+len(again.modified)+len(again.removed) != 0 {
		t.Fatalf("after HISTORICAL: %+v", again)
	}
	// A cursorless client gets the whole window at once now.
	if all, _, _ := h.syncWith(tok, "", 730); len(all.added) != 5 {
		t.Fatalf("full sync after HISTORICAL added %d, want 5", len(all.added))
	}
}

func TestDaysRequestedWindow(t *testing.T) {
	clk := &clock{today}
	h := newHarness(t, plaidfake.WithClock(clk.now))
	acct, tok := checking(h)
	in := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "1.00", Date: daysAgo(90), Name: "in"})
	h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "2.00", Date: daysAgo(91), Name: "out"})
	// No options: Plaid's default of 90 days, fixed for good.
	u, _, _ := h.syncWith(tok, "", 0)
	if _, ok := u.added[in]; len(u.added) != 1 || !ok || h.DaysRequested(acct) != 90 {
		t.Fatalf("added %d, days %d", len(u.added), h.DaysRequested(acct))
	}
	if o := h.LastSyncOptions(tok); o.Sent || o.DaysRequested != 0 {
		t.Fatalf("options recorded %+v", o)
	}
	if again, _, _ := h.syncWith(tok, "", 730); len(again.added) != 1 || h.DaysRequested(acct) != 90 {
		t.Fatalf("days_requested widened the window: added %d, days %d", len(again.added), h.DaysRequested(acct))
	}
	if o := h.LastSyncOptions(tok); !o.Sent || o.DaysRequested != 730 || !o.IncludeOriginalDescription {
		t.Fatalf("options recorded %+v", o)
	}
	resp, _ := h.post("/processor/transactions/sync", map[string]any{"processor_token": tok,
		"options": map[string]any{"days_requested": 731}}, creds)
	if resp.StatusCode != 400 {
		t.Fatalf("days_requested 731: %d", resp.StatusCode)
	}
}
