package plaidfake_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
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

func TestRateLimitPerItem(t *testing.T) {
	clk := &clock{today}
	h := newHarness(t, plaidfake.WithClock(clk.now), plaidfake.WithRateLimit(2, time.Minute, true))
	acct, tok := checking(h)
	_, other := checking(h)
	second := h.NewToken(acct) // the same Item: shares the limit
	for i, tk := range []string{tok, second} {
		if _, _, err := h.page(tk, "", 10); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	clk.t = clk.t.Add(20500 * time.Millisecond)
	resp, _ := h.post("/processor/transactions/sync", map[string]any{"processor_token": tok}, creds)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "40" {
		t.Fatalf("third call: %d, Retry-After %q (want 40: 39.5 s rounded up)", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Other Items and other endpoints have limits of their own.
	if _, _, err := h.page(other, "", 10); err != nil {
		t.Fatalf("another Item: %v", err)
	}
	if _, _, err := h.c.PlaidApi.ProcessorBalanceGet(context.Background()).ProcessorBalanceGetRequest(*newBalanceReq(tok)).Execute(); err != nil {
		t.Fatalf("another endpoint: %v", err)
	}
	// Refused calls do not count, so the window ends a minute after the first call.
	clk.t = today.Add(time.Minute)
	if _, _, err := h.page(tok, "", 10); err != nil {
		t.Fatalf("after the window: %v", err)
	}

	quiet := newHarness(t, plaidfake.WithClock(clk.now), plaidfake.WithRateLimit(1, time.Minute, false))
	_, qt := checking(quiet)
	quiet.post("/processor/balance/get", map[string]any{"processor_token": qt}, creds)
	resp, body := quiet.post("/processor/balance/get", map[string]any{"processor_token": qt}, creds)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "" || !json.Valid(body) ||
		!strings.Contains(string(body), `"error_code":"BALANCE_LIMIT"`) {
		t.Fatalf("without Retry-After: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

func TestUnknownCodesTakeTheirType(t *testing.T) {
	for _, tc := range []struct {
		code, typ string
		status    int
		wantType  string
	}{
		{"SOME_NEW_CODE", "ITEM_ERROR", 400, "ITEM_ERROR"},
		{"SOME_NEW_CODE", "INSTITUTION_ERROR", 400, "INSTITUTION_ERROR"},
		{"SOME_NEW_CODE", "API_ERROR", 500, "API_ERROR"},
		{"SOME_NEW_CODE", "RATE_LIMIT_EXCEEDED", 429, "RATE_LIMIT_EXCEEDED"},
		{"SOME_NEW_CODE", "", 400, "ITEM_ERROR"},
		// A code the fake knows keeps its own type.
		{"INTERNAL_SERVER_ERROR", "ITEM_ERROR", 500, "API_ERROR"},
		{"PRODUCTS_NOT_SUPPORTED", "INSTITUTION_ERROR", 400, "ITEM_ERROR"},
	} {
		t.Run(tc.code+"/"+tc.typ, func(t *testing.T) {
			h := newHarness(t)
			_, tok := checking(h)
			h.Inject(tok, plaidfake.Fault{Kind: plaidfake.FaultPlaidError, Code: tc.code, Type: tc.typ}, 1)
			_, r, err := h.page(tok, "", 10)
			wantPlaidErr(t, err, r, tc.status, tc.wantType, tc.code)
		})
	}
}

func TestBalancesAsInstitutionsSendThem(t *testing.T) {
	clk := &clock{today}
	h := newHarness(t, plaidfake.WithClock(clk.now))
	_, nc := h.AddAccount(plaidfake.Account{Opening: "5.00", NullCurrent: true})
	_, na := h.AddAccount(plaidfake.Account{Opening: "5.00", NullAvailable: true})
	if b := h.balanceNow(nc).Balances; b.Current.Get() != nil || b.GetAvailable() != 5 {
		t.Fatalf("null current: %+v", b)
	}
	if b := h.accountGet(na).Account.Balances; b.Available.Get() != nil || b.GetCurrent() != 5 {
		t.Fatalf("null available: %+v", b)
	}
	// Capital One: depository accounts need no option; cards do.
	_, capChk := h.AddAccount(plaidfake.Account{Opening: "1.00", InstitutionID: "ins_128026"})
	capCard, capTok := h.AddAccount(plaidfake.Account{Type: "credit", Opening: "1.00", InstitutionID: "ins_128026"})
	if b := h.balanceNow(capChk).Balances; !b.GetLastUpdatedDatetime().Equal(today) {
		t.Fatalf("Capital One checking: %+v", b)
	}
	_, r, err := h.c.PlaidApi.ProcessorBalanceGet(context.Background()).ProcessorBalanceGetRequest(*newBalanceReq(capTok)).Execute()
	wantPlaidErr(t, err, r, 400, "INVALID_REQUEST", "INVALID_FIELD")
	if got := h.accountGet(capTok); got.InstitutionId != "ins_128026" || !got.Account.Balances.GetLastUpdatedDatetime().Equal(today) {
		t.Fatalf("account/get: %+v", got)
	}
	// The real-time stamp is when the bank last changed.
	clk.t = today.Add(2 * time.Hour)
	h.AddTxn(plaidfake.Txn{AccountID: capCard, Amount: "3.00", Date: daysAgo(0), Name: "x"})
	req := newBalanceReq(capTok)
	o := plaid.ProcessorBalanceGetRequestOptions{}
	o.SetMinLastUpdatedDatetime(today.Add(time.Hour))
	req.SetOptions(o)
	resp, _, err := h.c.PlaidApi.ProcessorBalanceGet(context.Background()).ProcessorBalanceGetRequest(*req).Execute()
	if err != nil || !resp.Account.Balances.GetLastUpdatedDatetime().Equal(clk.t) || resp.Account.Balances.GetCurrent() != 4 {
		t.Fatalf("Capital One card: %+v %v", resp.Account.Balances, err)
	}
	// Everyone else: no last_updated_datetime.
	if b := h.balanceNow(na).Balances; b.LastUpdatedDatetime.IsSet() {
		t.Fatalf("last_updated_datetime outside Capital One: %+v", b)
	}
}

func TestEveryTransactionIsCategorised(t *testing.T) {
	h := newHarness(t)
	acct, tok := checking(h)
	out := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "3.00", Date: "2026-11-02", Name: "x"})
	in := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "-3.00", Date: "2026-11-02", Name: "y"})
	given := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "3.00", Date: "2026-11-02", Name: "z", PFCPrimary: "TRAVEL", PFCDetailed: "TRAVEL_FLIGHTS"})
	u := h.syncAll(tok, "", 10)
	for id, want := range map[string][3]string{
		out:   {"GENERAL_MERCHANDISE", "GENERAL_MERCHANDISE_OTHER_GENERAL_MERCHANDISE", "LOW"},
		in:    {"TRANSFER_IN", "TRANSFER_IN_DEPOSIT", "LOW"},
		given: {"TRAVEL", "TRAVEL_FLIGHTS", "VERY_HIGH"},
	} {
		p := u.added[id].PersonalFinanceCategory.Get()
		if p == nil || p.Primary != want[0] || p.Detailed != want[1] || p.GetConfidenceLevel() != want[2] {
			t.Errorf("%s: pfc %+v, want %v", id, p, want)
		}
	}
}
