package plaidfake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"bankfeed/plaidfake"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/plaid/plaid-go/v29/plaid"
)

const specRel = "shared/plaid-openapi/2020-09-14.yml"

// findSpec walks up from the working directory, so the spec is found both
// in the workplace (/work/shared beside the repo) and in CI's clone.
func findSpec() string {
	dir, _ := os.Getwd()
	for {
		if p := filepath.Join(dir, specRel); fileExists(p) {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

var spec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
	path   string
}

// loadSpec parses the 3 MB spec once per test binary.
func loadSpec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	spec.once.Do(func() {
		if spec.path = findSpec(); spec.path == "" {
			return
		}
		loader := openapi3.NewLoader()
		if spec.doc, spec.err = loader.LoadFromFile(spec.path); spec.err != nil {
			return
		}
		// The spec's servers are Plaid's hosts; clearing them lets the
		// router match requests to the httptest server by path alone.
		spec.doc.Servers = nil
		// NewRouter validates the whole document, and some of Plaid's own
		// examples break their schemas (e.g. ConnectedApplication's
		// date-time), so examples are left out of that check.
		spec.router, spec.err = legacy.NewRouter(spec.doc, openapi3.DisableExamplesValidation())
	})
	if spec.path == "" {
		t.Skip("Plaid OpenAPI spec not found at ../shared/plaid-openapi/2020-09-14.yml (searched upwards from the working directory): contract test needs ../shared/plaid-openapi")
	}
	if spec.err != nil {
		t.Fatalf("loading %s: %v", spec.path, spec.err)
	}
	return spec.doc, spec.router
}

// conforms checks one real response of the fake against the spec.
func conforms(t *testing.T, h *harness, path string, body map[string]any, wantStatus int) []byte {
	t.Helper()
	_, router := loadSpec(t)
	reqBody, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+path, bytes.NewReader(reqBody))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range creds {
		req.Header.Set(k, v)
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatalf("no route for %s: %v", path, err)
	}
	resp, out := h.post(path, body, creds)
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s: status %d, want %d: %s", path, resp.StatusCode, wantStatus, out)
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in.SetBodyBytes(out)); err != nil {
		t.Errorf("%s %d does not conform to Plaid's spec: %v\n%s", path, resp.StatusCode, err, out)
	}
	return out
}

func TestResponsesConformToPlaidSpec(t *testing.T) {
	loadSpec(t)
	h := newHarness(t)
	dep, depTok := h.AddAccount(plaidfake.Account{Name: "Checking", OfficialName: "Gold Checking", Mask: "0000", Opening: "1000.00"})
	card, cardTok := h.AddAccount(plaidfake.Account{Name: "Card", Mask: "4242", Type: "credit", Subtype: "credit card", Opening: "10.00", Limit: "500.00"})
	loan, loanTok := h.AddAccount(plaidfake.Account{Name: "Student loan", Type: "loan", Subtype: "student", Opening: "9000.00"})
	for _, acct := range []string{dep, card, loan} {
		keep := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "12.34", Date: "2025-01-02", AuthorizedDate: "2025-01-01", Name: "AWS", MerchantName: "Amazon Web Services", PaymentChannel: "online", PFCPrimary: "GENERAL_SERVICES"})
		gone := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "-5.00", Date: "2025-01-02", Name: "refund"})
		pend := h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "7.00", Date: "2025-01-03", Name: "cafe", Pending: true, PaymentChannel: "in store"})
		cur := h.syncAll(map[string]string{dep: depTok, card: cardTok, loan: loanTok}[acct], "", 100).cursor
		h.ModifyTxn(keep, func(t *plaidfake.Txn) { t.Amount = "12.35" })
		h.RemoveTxn(gone)
		h.PostPending(pend, plaidfake.Txn{Amount: "8.40", Date: "2025-01-04", Name: "cafe"}, true)
		h.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "3.00", Date: "2025-01-05", Name: "new pending", Pending: true})
		tok := map[string]string{dep: depTok, card: cardTok, loan: loanTok}[acct]
		out := conforms(t, h, "/processor/transactions/sync", map[string]any{"processor_token": tok, "cursor": cur, "count": 500}, 200)
		var page struct{ Added, Modified, Removed []json.RawMessage }
		json.Unmarshal(out, &page)
		if len(page.Added) != 2 || len(page.Modified) != 1 || len(page.Removed) != 2 {
			t.Errorf("fixture page is not what it should be: %s", out)
		}
		conforms(t, h, "/processor/transactions/sync", map[string]any{"processor_token": tok, "count": 2}, 200)
		conforms(t, h, "/processor/balance/get", map[string]any{"processor_token": tok}, 200)
		conforms(t, h, "/processor/account/get", map[string]any{"processor_token": tok}, 200)
	}

	h.SetItemError(cardTok, "ITEM_LOGIN_REQUIRED")
	conforms(t, h, "/processor/transactions/sync", map[string]any{"processor_token": cardTok}, 400)
	conforms(t, h, "/processor/balance/get", map[string]any{"processor_token": "processor-sandbox-bogus"}, 400)
	h.Inject(depTok, plaidfake.Fault{Kind: plaidfake.FaultPlaidError, Code: "TRANSACTIONS_SYNC_LIMIT"}, 1)
	conforms(t, h, "/processor/transactions/sync", map[string]any{"processor_token": depTok}, 429)
	h.Inject(depTok, plaidfake.Fault{Kind: plaidfake.FaultPlaidError}, 1)
	conforms(t, h, "/processor/account/get", map[string]any{"processor_token": depTok}, 500)

	// The demo world is what people see first; it must be Plaid-shaped too.
	s, toks := plaidfake.Demo()
	demo := attach(t, s)
	for _, name := range []string{"checking", "card"} {
		conforms(t, demo, "/processor/transactions/sync", map[string]any{"processor_token": toks[name], "count": 500}, 200)
	}
}

// TestPlaidExampleDecodes keeps plaid-go honest against Plaid's own example,
// the shape the fake imitates.
func TestPlaidExampleDecodes(t *testing.T) {
	doc, _ := loadSpec(t)
	resp := doc.Paths.Find("/processor/transactions/sync").Post.Responses.Status(200).Value
	ex := resp.Content["application/json"].Examples["example-1"].Value.Value
	raw, err := json.Marshal(ex)
	if err != nil {
		t.Fatal(err)
	}
	var r plaid.ProcessorTransactionsSyncResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("plaid-go cannot decode Plaid's example: %v", err)
	}
	if len(r.Added) != 1 || r.Added[0].Amount != 72.1 || r.Added[0].GetPendingTransactionId() == "" ||
		len(r.Modified) != 1 || !r.Modified[0].Pending || len(r.Removed) != 1 || r.Account.AccountId == "" ||
		r.NextCursor == "" || r.HasMore || r.TransactionsUpdateStatus != "HISTORICAL_UPDATE_COMPLETE" {
		t.Fatalf("decoded example: %+v", r)
	}
}

// decodes insists plaid-go reads the body as the type Execute would.
func decodes(t *testing.T, path string, status int, out []byte) {
	t.Helper()
	var v any
	switch {
	case status != 200:
		v = &plaid.PlaidError{}
	case path == "/processor/transactions/sync":
		v = &plaid.ProcessorTransactionsSyncResponse{}
	case path == "/processor/balance/get":
		v = &plaid.ProcessorBalanceGetResponse{}
	default:
		v = &plaid.ProcessorAccountGetResponse{}
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Errorf("plaid-go cannot decode %s %d: %v\n%s", path, status, err, out)
	}
}

// The behaviours that make the fake as unkind as Plaid answer in Plaid's
// shape too, and plaid-go reads every one of them.
func TestUnkindResponsesConformToPlaidSpec(t *testing.T) {
	loadSpec(t)
	clk := &clock{today}
	h := newHarness(t, plaidfake.WithClock(clk.now), plaidfake.WithPulls(), plaidfake.WithRateLimit(2, time.Minute, true))
	check := func(path string, body map[string]any, status int) []byte {
		t.Helper()
		out := conforms(t, h, path, body, status)
		decodes(t, path, status, out)
		return out
	}
	const sync, balance, account = "/processor/transactions/sync", "/processor/balance/get", "/processor/account/get"
	staged, stagedTok := h.AddAccount(plaidfake.Account{Name: "Staged", Opening: "100.00", History: plaidfake.HistoryStaged})
	h.AddTxn(plaidfake.Txn{AccountID: staged, Amount: "1.00", Date: daysAgo(1), Name: "recent"})
	h.AddTxn(plaidfake.Txn{AccountID: staged, Amount: "2.00", Date: daysAgo(100), Name: "old"})
	h.PullAll()
	opts := map[string]any{"days_requested": 730, "include_original_description": true}
	out := check(sync, map[string]any{"processor_token": stagedTok, "options": opts}, 200)
	if !bytes.Contains(out, []byte(`"account":null`)) || !bytes.Contains(out, []byte(`"NOT_READY"`)) {
		t.Errorf("NOT_READY: %s", out)
	}
	h.AdvanceHistory(staged)
	var page struct {
		NextCursor string `json:"next_cursor"`
	}
	out = check(sync, map[string]any{"processor_token": stagedTok, "options": opts}, 200)
	json.Unmarshal(out, &page)
	if !bytes.Contains(out, []byte(`"INITIAL_UPDATE_COMPLETE"`)) || !bytes.Contains(out, []byte(`"original_description":"RECENT"`)) {
		t.Errorf("INITIAL: %s", out)
	}
	h.AdvanceHistory(staged)
	clk.t = clk.t.Add(time.Minute) // a fresh rate window
	out = check(sync, map[string]any{"processor_token": h.NewToken(staged), "cursor": page.NextCursor}, 200)
	if !bytes.Contains(out, []byte(`"HISTORICAL_UPDATE_COMPLETE"`)) || !bytes.Contains(out, []byte(`"personal_finance_category":{"primary":"GENERAL_MERCHANDISE"`)) ||
		!bytes.Contains(out, []byte(`"original_description":null`)) {
		t.Errorf("HISTORICAL: %s", out)
	}

	// Capital One's card: balances with last_updated_datetime everywhere,
	// and the real-time call refused without min_last_updated_datetime.
	_, capTok := h.AddAccount(plaidfake.Account{Name: "Quicksilver", Type: "credit", Subtype: "credit card", Opening: "40.00",
		Limit: "1000.00", InstitutionID: "ins_128026"})
	h.PullAll()
	stamp := `"last_updated_datetime":"` + clk.t.Format(time.RFC3339) + `"`
	for _, path := range []string{sync, account} {
		if out := check(path, map[string]any{"processor_token": capTok}, 200); !bytes.Contains(out, []byte(stamp)) {
			t.Errorf("%s without %s: %s", path, stamp, out)
		}
	}
	check(account, map[string]any{"processor_token": capTok}, 200)
	if out := check(account, map[string]any{"processor_token": capTok}, 429); !bytes.Contains(out, []byte("ACCOUNTS_LIMIT")) {
		t.Errorf("third account/get within the minute: %s", out)
	}
	check(balance, map[string]any{"processor_token": capTok}, 400)
	if out := check(balance, map[string]any{"processor_token": capTok,
		"options": map[string]any{"min_last_updated_datetime": clk.t.Add(-time.Hour).Format(time.RFC3339)}}, 200); !bytes.Contains(out, []byte(stamp)) {
		t.Errorf("Capital One balance: %s", out)
	}
	clk.t = clk.t.Add(time.Minute) // a fresh rate window
	if out := check(balance, map[string]any{"processor_token": capTok,
		"options": map[string]any{"min_last_updated_datetime": clk.t.Add(time.Second).Format(time.RFC3339)}}, 400); !bytes.Contains(out, []byte("LAST_UPDATED_DATETIME_OUT_OF_RANGE")) {
		t.Errorf("stale Capital One balance: %s", out)
	}

	// Nulls some institutions send, a code Plaid added yesterday.
	_, nc := h.AddAccount(plaidfake.Account{Name: "No current", Opening: "5.00", NullCurrent: true})
	_, na := h.AddAccount(plaidfake.Account{Name: "No available", Type: "credit", Opening: "5.00", Limit: "10.00", NullAvailable: true})
	h.PullAll()
	if out := check(balance, map[string]any{"processor_token": nc}, 200); !bytes.Contains(out, []byte(`"current":null`)) || bytes.Contains(out, []byte(`"available":null`)) {
		t.Errorf("null current: %s", out)
	}
	if out := check(account, map[string]any{"processor_token": na}, 200); !bytes.Contains(out, []byte(`"available":null`)) || bytes.Contains(out, []byte(`"current":null`)) {
		t.Errorf("null available: %s", out)
	}
	h.Inject(na, plaidfake.Fault{Kind: plaidfake.FaultPlaidError, Code: "SOME_NEW_CODE", Type: "INSTITUTION_ERROR"}, 1)
	if out := check(sync, map[string]any{"processor_token": na}, 400); !bytes.Contains(out, []byte(`"error_type":"INSTITUTION_ERROR"`)) {
		t.Errorf("unknown code: %s", out)
	}

	// Per-Item rate limit with Retry-After.
	check(sync, map[string]any{"processor_token": nc}, 200)
	check(sync, map[string]any{"processor_token": nc}, 200)
	resp, out := h.post(sync, map[string]any{"processor_token": nc}, creds)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "60" || !bytes.Contains(out, []byte("TRANSACTIONS_SYNC_LIMIT")) {
		t.Errorf("rate limit: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), out)
	}
	check(sync, map[string]any{"processor_token": nc}, 429)
}
