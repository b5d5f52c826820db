package plaidfake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"bankfeed/plaidfake"

	"github.com/plaid/plaid-go/v29/plaid"
)

const (
	clientID = "client-123"
	secret   = "secret-456"
)

type harness struct {
	*plaidfake.Server
	t   testing.TB
	srv *httptest.Server
	c   *plaid.APIClient
}

func newHarness(t testing.TB, opts ...plaidfake.Option) *harness {
	t.Helper()
	s := plaidfake.New(append([]plaidfake.Option{plaidfake.WithCredentials(clientID, secret)}, opts...)...)
	return attach(t, s)
}

func attach(t testing.TB, s *plaidfake.Server) *harness {
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	cfg := plaid.NewConfiguration()
	cfg.UseEnvironment(plaid.Environment(srv.URL))
	cfg.HTTPClient = srv.Client()
	cfg.AddDefaultHeader("PLAID-CLIENT-ID", clientID)
	cfg.AddDefaultHeader("PLAID-SECRET", secret)
	return &harness{Server: s, t: t, srv: srv, c: plaid.NewAPIClient(cfg)}
}

func (h *harness) page(tok, cursor string, count int32) (plaid.ProcessorTransactionsSyncResponse, *http.Response, error) {
	req := plaid.NewProcessorTransactionsSyncRequest(tok)
	req.SetCount(count)
	if cursor != "" {
		req.SetCursor(cursor)
	}
	return h.c.PlaidApi.ProcessorTransactionsSync(context.Background()).ProcessorTransactionsSyncRequest(*req).Execute()
}

// update is the net result of one complete sync loop.
type update struct {
	added, modified map[string]plaid.Transaction
	removed         []string
	cursor          string
	pages           int
}

// syncAll runs one loop from cursor to has_more=false, failing on any error.
func (h *harness) syncAll(tok, cursor string, count int32) update {
	h.t.Helper()
	u, err := h.trySyncAll(tok, cursor, count)
	if err != nil {
		h.t.Fatalf("sync: %v %s", err, errBody(err))
	}
	return u
}

func (h *harness) trySyncAll(tok, cursor string, count int32) (update, error) {
	u := update{added: map[string]plaid.Transaction{}, modified: map[string]plaid.Transaction{}, cursor: cursor}
	for {
		r, _, err := h.page(tok, u.cursor, count)
		if err != nil {
			return u, err
		}
		u.pages++
		if n := len(r.Added) + len(r.Modified) + len(r.Removed); n > int(count) {
			h.t.Fatalf("page has %d items, count %d", n, count)
		}
		for _, t := range r.Added {
			if _, dup := u.added[t.TransactionId]; dup {
				h.t.Fatalf("transaction %s added twice in one loop", t.TransactionId)
			}
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
			sort.Strings(u.removed)
			return u, nil
		}
	}
}

func errBody(err error) string {
	var gerr plaid.GenericOpenAPIError
	if errors.As(err, &gerr) {
		return string(gerr.Body())
	}
	return ""
}

// plaidErr insists that err is a decodable Plaid error.
func plaidErr(t testing.TB, err error) plaid.PlaidError {
	t.Helper()
	var gerr plaid.GenericOpenAPIError
	if !errors.As(err, &gerr) {
		t.Fatalf("want a Plaid error, got %v", err)
	}
	pe, derr := plaid.ToPlaidError(gerr)
	if derr != nil || pe.ErrorCode == "" {
		t.Fatalf("ToPlaidError: %+v, %v (body %s)", pe, derr, gerr.Body())
	}
	return pe
}

func wantPlaidErr(t testing.TB, err error, httpResp *http.Response, status int, typ, code string) {
	t.Helper()
	pe := plaidErr(t, err)
	if httpResp == nil || httpResp.StatusCode != status || string(pe.ErrorType) != typ || pe.ErrorCode != code ||
		pe.GetRequestId() == "" {
		t.Fatalf("got %v %s/%s request_id %q, want %d %s/%s", httpResp.Status, pe.ErrorType, pe.ErrorCode, pe.GetRequestId(), status, typ, code)
	}
}

// post sends a raw request, for what plaid-go hides (exact JSON, headers).
func (h *harness) post(path string, body any, hdr map[string]string) (*http.Response, []byte) {
	h.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+path, bytes.NewReader(b))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

var creds = map[string]string{"PLAID-CLIENT-ID": clientID, "PLAID-SECRET": secret}

func containsStr(s, sub string) bool { return strings.Contains(s, sub) }

func newBalanceReq(tok string) *plaid.ProcessorBalanceGetRequest {
	return plaid.NewProcessorBalanceGetRequest(tok)
}
