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
