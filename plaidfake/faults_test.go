package plaidfake_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"bankfeed/plaidfake"

	"github.com/plaid/plaid-go/v29/plaid"
)

func TestTokensCredentialsAndItemErrors(t *testing.T) {
	h := newHarness(t)
	acct, tok := checking(h)
	other, otherTok := h.AddAccount(plaidfake.Account{Name: "Other"})
	h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "1.00", Date: "2025-01-01"})
	h.AddTxn(plaidfake.Txn{AccountID: other, Amount: "1.00", Date: "2025-01-01"})
	if !strings.HasPrefix(tok, "processor-sandbox-") {
		t.Errorf("token %q", tok)
	}
	if _, p := plaidfake.New(plaidfake.WithEnv("production")).AddAccount(plaidfake.Account{}); !strings.HasPrefix(p, "processor-production-") {
		t.Errorf("token %q", p)
	}

	_, r, err := h.page("processor-sandbox-nope", "", 10)
	wantPlaidErr(t, err, r, 400, "INVALID_INPUT", "INVALID_PROCESSOR_TOKEN")

	base := h.syncAll(tok, "", 10)
	for _, cur := range []string{"garbage!", "Z2FyYmFnZQ==", h.syncAll(otherTok, "", 10).cursor} {
		_, r, err = h.page(tok, cur, 10)
		wantPlaidErr(t, err, r, 400, "INVALID_REQUEST", "INVALID_FIELD")
	}

	rotated := h.NewToken(acct)
	if u := h.syncAll(rotated, base.cursor, 10); len(u.added) != 0 {
		t.Errorf("rotated token with old cursor: %+v", u)
	}
	h.InvalidateToken(tok)
	_, r, err = h.page(tok, "", 10)
	wantPlaidErr(t, err, r, 400, "INVALID_INPUT", "INVALID_PROCESSOR_TOKEN")
	h.syncAll(rotated, "", 10)

	h.SetItemError(rotated, "ITEM_LOGIN_REQUIRED")
	third := h.NewToken(acct)
	_, r, err = h.page(third, "", 10)
	wantPlaidErr(t, err, r, 400, "ITEM_ERROR", "ITEM_LOGIN_REQUIRED")
	_, r, err = h.c.PlaidApi.ProcessorAccountGet(t.Context()).ProcessorAccountGetRequest(*plaid.NewProcessorAccountGetRequest(rotated)).Execute()
	wantPlaidErr(t, err, r, 400, "ITEM_ERROR", "ITEM_LOGIN_REQUIRED")
	h.syncAll(otherTok, "", 10) // other Items are unaffected
	h.SetItemError(third, "")
	h.syncAll(rotated, base.cursor, 10)

	// Credentials may come as headers or in the body; nothing else will do.
	for _, c := range []struct {
		body map[string]any
		hdr  map[string]string
		ok   bool
	}{
		{map[string]any{"processor_token": otherTok}, creds, true},
		{map[string]any{"processor_token": otherTok, "client_id": clientID, "secret": secret}, nil, true},
		{map[string]any{"processor_token": otherTok}, nil, false},
		{map[string]any{"processor_token": otherTok, "client_id": clientID, "secret": "wrong"}, nil, false},
	} {
		resp, body := h.post("/processor/balance/get", c.body, c.hdr)
		if ok := resp.StatusCode == 200; ok != c.ok || (!ok && !strings.Contains(string(body), `"INVALID_API_KEYS"`)) {
			t.Errorf("%v %v: %d %s", c.body, c.hdr, resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("content type %q", ct)
		}
	}
	resp, body := h.post("/processor/nope", map[string]any{"processor_token": otherTok}, creds)
	if resp.StatusCode != 404 || !strings.Contains(string(body), `"NOT_FOUND"`) || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("unknown path: %d %s", resp.StatusCode, body)
	}
	resp, body = h.post("/processor/account/get", map[string]any{"processor_token": otherTok}, creds)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"institution_id":"ins_109508"`) {
		t.Errorf("account/get: %d %s", resp.StatusCode, body)
	}
}

func TestFaultKinds(t *testing.T) {
	type check func(t *testing.T, r plaid.ProcessorTransactionsSyncResponse, hr *http.Response, err error)
	decodeErr := func(t *testing.T, _ plaid.ProcessorTransactionsSyncResponse, hr *http.Response, err error) {
		var gerr plaid.GenericOpenAPIError
		if hr == nil || hr.StatusCode != 200 || !errors.As(err, &gerr) || gerr.Model() != nil {
			t.Fatalf("want a 200 that fails to decode, got %v %v", hr, err)
		}
	}
	firstAdded := func(f func(plaid.Transaction) bool) check {
		return func(t *testing.T, r plaid.ProcessorTransactionsSyncResponse, _ *http.Response, err error) {
			if err != nil || len(r.Added) == 0 || !f(r.Added[0]) {
				t.Fatalf("err %v, added %+v", err, r.Added)
			}
		}
	}
	for _, c := range []struct {
		name  string
		fault plaidfake.Fault
		check check
	}{
		{"rate limit", plaidfake.Fault{Kind: plaidfake.FaultPlaidError, Code: "TRANSACTIONS_SYNC_LIMIT"}, func(t *testing.T, _ plaid.ProcessorTransactionsSyncResponse, hr *http.Response, err error) {
			wantPlaidErr(t, err, hr, 429, "RATE_LIMIT_EXCEEDED", "TRANSACTIONS_SYNC_LIMIT")
		}},
		{"internal", plaidfake.Fault{Kind: plaidfake.FaultPlaidError}, func(t *testing.T, _ plaid.ProcessorTransactionsSyncResponse, hr *http.Response, err error) {
			wantPlaidErr(t, err, hr, 500, "API_ERROR", "INTERNAL_SERVER_ERROR")
		}},
		{"maintenance", plaidfake.Fault{Kind: plaidfake.FaultPlaidError, Code: "PLANNED_MAINTENANCE"}, func(t *testing.T, _ plaid.ProcessorTransactionsSyncResponse, hr *http.Response, err error) {
			wantPlaidErr(t, err, hr, 503, "API_ERROR", "PLANNED_MAINTENANCE")
		}},
		{"institution down", plaidfake.Fault{Kind: plaidfake.FaultPlaidError, Code: "INSTITUTION_DOWN"}, func(t *testing.T, _ plaid.ProcessorTransactionsSyncResponse, hr *http.Response, err error) {
			wantPlaidErr(t, err, hr, 400, "INSTITUTION_ERROR", "INSTITUTION_DOWN")
		}},
		{"mutation", plaidfake.Fault{Kind: plaidfake.FaultPlaidError, Code: "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION"}, func(t *testing.T, _ plaid.ProcessorTransactionsSyncResponse, hr *http.Response, err error) {
			wantPlaidErr(t, err, hr, 400, "TRANSACTIONS_ERROR", "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION")
		}},
		{"stall", plaidfake.Fault{Kind: plaidfake.FaultStall, Stall: 20 * time.Millisecond}, firstAdded(func(plaid.Transaction) bool { return true })},
		{"truncated", plaidfake.Fault{Kind: plaidfake.FaultTruncated}, decodeErr},
		{"html 502", plaidfake.Fault{Kind: plaidfake.FaultHTML502}, func(t *testing.T, _ plaid.ProcessorTransactionsSyncResponse, hr *http.Response, err error) {
			if hr == nil || hr.StatusCode != 502 || !strings.HasPrefix(hr.Header.Get("Content-Type"), "text/html") || err == nil {
				t.Fatalf("%v %v", hr, err)
			}
		}},
		{"wrong types", plaidfake.Fault{Kind: plaidfake.FaultWrongTypes}, decodeErr},
		{"missing fields", plaidfake.Fault{Kind: plaidfake.FaultMissingFields}, func(t *testing.T, r plaid.ProcessorTransactionsSyncResponse, _ *http.Response, err error) {
			if err != nil || r.RequestId != "" || len(r.Added) == 0 || r.Added[0].TransactionId != "" || r.Added[0].Date != "" || r.Added[0].AccountId == "" {
				t.Fatalf("%v %+v", err, r)
			}
		}},
		{"both currencies", plaidfake.Fault{Kind: plaidfake.FaultBothCurrencies}, firstAdded(func(x plaid.Transaction) bool {
			return x.GetIsoCurrencyCode() != "" && x.GetUnofficialCurrencyCode() != ""
		})},
		{"no currency", plaidfake.Fault{Kind: plaidfake.FaultNoCurrency}, firstAdded(func(x plaid.Transaction) bool {
			return !x.IsoCurrencyCode.IsSet() && !x.UnofficialCurrencyCode.IsSet()
		})},
		{"unknown currency", plaidfake.Fault{Kind: plaidfake.FaultUnknownCurrency}, firstAdded(func(x plaid.Transaction) bool { return x.GetIsoCurrencyCode() == "XYZ" })},
		{"too precise", plaidfake.Fault{Kind: plaidfake.FaultTooPrecise}, firstAdded(func(x plaid.Transaction) bool { return x.Amount == 1.234 && x.GetIsoCurrencyCode() == "USD" })},
		{"foreign account", plaidfake.Fault{Kind: plaidfake.FaultForeignAccount}, firstAdded(func(x plaid.Transaction) bool { return x.AccountId == "other-account" })},
		{"has_more stuck", plaidfake.Fault{Kind: plaidfake.FaultHasMoreStuck}, func(t *testing.T, r plaid.ProcessorTransactionsSyncResponse, _ *http.Response, err error) {
			if err != nil || !r.HasMore || r.NextCursor != "" {
				t.Fatalf("%v %v %q", err, r.HasMore, r.NextCursor)
			}
		}},
		{"has_more empty cursor", plaidfake.Fault{Kind: plaidfake.FaultHasMoreEmptyCursor}, func(t *testing.T, r plaid.ProcessorTransactionsSyncResponse, _ *http.Response, err error) {
			if err != nil || !r.HasMore || r.NextCursor != "" {
				t.Fatalf("%v %v %q", err, r.HasMore, r.NextCursor)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.AddAccount(plaidfake.Account{ID: "other-account"})
			acct, tok := checking(h)
			h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "5.00", Date: "2025-01-01"})
			h.Inject(tok, c.fault, 1)
			r, hr, err := h.page(tok, "", 100)
			c.check(t, r, hr, err)
			if u := h.syncAll(tok, "", 100); len(u.added) != 1 {
				t.Fatalf("after the fault was used up: %+v", u)
			}
		})
	}
}

func TestFaultScopeAndCounting(t *testing.T) {
	h := newHarness(t)
	_, a := checking(h)
	_, b := checking(h)
	h.Inject(a, plaidfake.Fault{Endpoint: "/processor/balance/get", Kind: plaidfake.FaultPlaidError, Code: "BALANCE_LIMIT"}, -1)
	h.Inject("", plaidfake.Fault{Kind: plaidfake.FaultPlaidError}, 2)
	for _, tok := range []string{a, b} {
		_, _, err := h.page(tok, "", 10)
		plaidErr(t, err)
	}
	h.syncAll(a, "", 10)
	for range 3 {
		_, r, err := h.c.PlaidApi.ProcessorBalanceGet(t.Context()).ProcessorBalanceGetRequest(*newBalanceReq(a)).Execute()
		wantPlaidErr(t, err, r, 429, "RATE_LIMIT_EXCEEDED", "BALANCE_LIMIT")
	}
	if _, _, err := h.c.PlaidApi.ProcessorBalanceGet(t.Context()).ProcessorBalanceGetRequest(*newBalanceReq(b)).Execute(); err != nil {
		t.Fatal(err)
	}
	h.ClearFaults()
	if _, _, err := h.c.PlaidApi.ProcessorBalanceGet(t.Context()).ProcessorBalanceGetRequest(*newBalanceReq(a)).Execute(); err != nil {
		t.Fatal(err)
	}
	if got := []int{h.Calls(a, "/processor/transactions/sync"), h.Calls(a, "/processor/balance/get"), h.Calls(b, "/processor/transactions/sync"), h.TotalCalls(), len(h.CallTimes())}; got[0] != 2 || got[1] != 4 || got[2] != 1 || got[3] != 8 || got[4] != 8 {
		t.Fatalf("calls %v", got)
	}
}

func TestStallUntilReleaseAndContext(t *testing.T) {
	h := newHarness(t, plaidfake.WithLatency(5*time.Millisecond))
	_, tok := checking(h)
	h.Inject(tok, plaidfake.Fault{Kind: plaidfake.FaultStall}, 2)
	done := make(chan error)
	go func() { _, _, err := h.page(tok, "", 10); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("stalled request returned early: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	h.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	_, hr, err := h.c.PlaidApi.ProcessorTransactionsSync(ctx).ProcessorTransactionsSyncRequest(*plaid.NewProcessorTransactionsSyncRequest(tok)).Execute()
	if hr != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v %v", hr, err)
	}
}

func TestHugeAndEndless(t *testing.T) {
	h := newHarness(t)
	_, tok := checking(h)
	h.Inject(tok, plaidfake.Fault{Kind: plaidfake.FaultHuge}, 1)
	resp, err := http.Post(h.srv.URL+"/processor/transactions/sync", "application/json",
		strings.NewReader(`{"processor_token":"`+tok+`","client_id":"`+clientID+`","secret":"`+secret+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	// Only the size and the frame are checked: decoding 64 MiB under -race
	// would dominate the test's run time.
	start := make([]byte, 40)
	io.ReadFull(resp.Body, start)
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n+40 <= 64<<20 || !strings.HasPrefix(string(start), `{"account":{"account_id":`) || resp.StatusCode != 200 {
		t.Fatalf("huge body: %v, %d bytes, starts %s", err, n+40, start)
	}
	resp.Body.Close()

	h.Inject(tok, plaidfake.Fault{Kind: plaidfake.FaultEndless}, 50)
	seen, cursor := map[string]bool{}, ""
	for range 50 {
		r, _, err := h.page(tok, cursor, 100)
		if err != nil || !r.HasMore || seen[r.NextCursor] || r.NextCursor == "" || len(r.Added)+len(r.Modified)+len(r.Removed) != 0 {
			t.Fatalf("%v %+v", err, r)
		}
		seen[r.NextCursor], cursor = true, r.NextCursor
	}
	_, hr, err := h.page(tok, cursor, 100)
	wantPlaidErr(t, err, hr, 400, "INVALID_REQUEST", "INVALID_FIELD")
}

func TestTransientRateIsDeterministic(t *testing.T) {
	run := func() (pattern string) {
		h := newHarness(t)
		_, tok := checking(h)
		h.SetTransientRate(0.3, 42)
		for range 100 {
			_, hr, err := h.page(tok, "", 10)
			switch {
			case err == nil:
				pattern += "."
			case hr.StatusCode == 429 && plaidErr(t, err).ErrorCode == "TRANSACTIONS_SYNC_LIMIT":
				pattern += "r"
			case hr.StatusCode == 500 && plaidErr(t, err).ErrorCode == "INTERNAL_SERVER_ERROR":
				pattern += "x"
			default:
				t.Fatalf("unexpected %v", err)
			}
		}
		return pattern
	}
	p := run()
	if p != run() {
		t.Fatal("same seed, different faults")
	}
	if n := strings.Count(p, ".") + 0; n < 50 || n > 90 || !strings.Contains(p, "r") || !strings.Contains(p, "x") {
		t.Fatalf("pattern %s", p)
	}
}

func TestConcurrentUse(t *testing.T) {
	h := newHarness(t, plaidfake.WithLatency(time.Millisecond))
	h.SetMutationDuringPagination(false)
	var wg sync.WaitGroup
	for i := range 8 {
		acct, tok := checking(h)
		wg.Go(func() {
			for j := range 30 {
				id := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "1.00", Date: "2025-01-01"})
				if j%3 == 0 {
					h.ModifyTxn(id, func(t *plaidfake.Txn) { t.Pending = true })
				}
				_ = h.Current(acct)
			}
		})
		wg.Go(func() {
			cursor := ""
			for range 10 {
				u, err := h.trySyncAll(tok, cursor, int32(3+i))
				if err != nil {
					t.Error(err)
					return
				}
				cursor = u.cursor
			}
			if i%2 == 0 {
				h.Inject(tok, plaidfake.Fault{Kind: plaidfake.FaultPlaidError}, 1)
			}
		})
	}
	wg.Wait()
	if h.TotalCalls() == 0 {
		t.Fatal("no calls")
	}
}

func TestRawWireFormat(t *testing.T) {
	h := newHarness(t)
	acct, tok := h.AddAccount(plaidfake.Account{UnofficialCurrency: "BTC", Opening: "0.12345678"})
	h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "0.00000001", Date: "2025-01-01", Name: "sat", PFCPrimary: "TRANSFER_IN"})
	resp, body := h.post("/processor/transactions/sync", map[string]any{"processor_token": tok, "options": map[string]any{"include_original_description": true}}, creds)
	for _, want := range []string{`"amount":0.00000001`, `"iso_currency_code":null,"unofficial_currency_code":"BTC"`, `"current":0.12345677`,
		`"counterparties":[]`, `"original_description":"SAT"`, `"personal_finance_category":{"primary":"TRANSFER_IN","detailed":"TRANSFER_IN_OTHER"`,
		`"request_id":"req-`, `"transactions_update_status":"HISTORICAL_UPDATE_COMPLETE"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("%d %s lacks %s", resp.StatusCode, body, want)
		}
	}
}
