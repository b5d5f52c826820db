package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"bankfeed/jobs"
	"bankfeed/plaidapi"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

var tokenKey = []byte("0123456789abcdef0123456789abcdef")

const (
	apiKey      = "bf-test-key-5f0c2a9e"
	otherAPIKey = "bf-second-key-77aa01"
)

// fixedNow is the clock of every test: timestamps in outputs come from it.
var fixedNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// lockedBuffer collects log lines written by server goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness is the business API over real HTTP and a real SQLite file.
type harness struct {
	t   *testing.T
	st  *store.Store
	url string
	log *lockedBuffer
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "bankfeed.db"), tokenKey, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Now = func() time.Time { return fixedNow }
	t.Cleanup(func() { st.Close() })
	return st
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, st: openStore(t), log: &lockedBuffer{}}
	h.url = serveChecked(t, NewHandler(h.st, Options{
		APIKeys: []string{apiKey, otherAPIKey}, Env: "sandbox", Log: zerolog.New(h.log),
		Now: func() time.Time { return fixedNow },
	})).URL
	return h
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// errCode is the code of a contract error body, failing the test when the
// body does not have the contract's shape.
func (r response) errCode(t *testing.T) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("status %d: body is not {\"error\":{\"code\",\"message\"}}: %s", r.status, r.body)
	}
	return e.Error.Code
}

func (r response) business(t *testing.T) businessOut {
	t.Helper()
	var b businessOut
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("decode business: %v: %s", err, r.body)
	}
	return b
}

type reqOpt func(*http.Request)

func withAuth(v string) reqOpt {
	return func(r *http.Request) { setOrDel(r.Header, "Authorization", v) }
}
func withContentType(v string) reqOpt {
	return func(r *http.Request) { setOrDel(r.Header, "Content-Type", v) }
}
func chunked() reqOpt { return func(r *http.Request) { r.ContentLength = -1 } }
func setOrDel(h http.Header, k, v string) {
	if v == "" {
		h.Del(k)
		return
	}
	h.Set(k, v)
}

// do sends one request with the test key and, when there is a body, a
// JSON content type; opts override either.
func (h *harness) do(method, path, body string, opts ...reqOpt) response {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	if req.ContentLength == -1 && rd != nil {
		req.Body = io.NopCloser(rd) // hide the length: the client sends chunks
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" && resp.StatusCode != http.StatusNoContent {
		h.t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// tok is a well-formed sandbox processor token whose hint is n as 4 digits.
func tok(n int) string { return fmt.Sprintf("processor-sandbox-5e1f0c7a-b2d4-%04d", n) }

func tokensJSON(toks ...string) string {
	in := make([]tokenIn, len(toks))
	for i, t := range toks {
		in[i] = tokenIn{t}
	}
	b, _ := json.Marshal(in)
	return `{"plaid_processor_tokens":` + string(b) + `}`
}

// world is a fixed Plaid: a checking account, a credit card and a savings
// account with explicit ids, so that every output is reproducible.
type world struct {
	srv      *plaidfake.Server
	client   *plaidapi.Client
	checking string
	card     string
	savings  string
	tokens   map[string]string // account id -> processor token
}

func newWorld(t *testing.T) *world {
	t.Helper()
	srv := plaidfake.New(plaidfake.WithCredentials("cid", "sec"))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	w := &world{srv: srv, tokens: map[string]string{}}
	w.client = plaidapi.New(plaidapi.Config{BaseURL: hs.URL, ClientID: "cid", Secret: "sec", Timeout: 5 * time.Second,
		Sleep: func(context.Context, time.Duration) error { return nil }})
	add := func(a plaidfake.Account) string {
		id, tk := srv.AddAccount(a)
		w.tokens[id] = tk
		return id
	}
	w.checking = add(plaidfake.Account{ID: "acct-checking-0001", Name: "Business Checking", Mask: "0001",
		Type: "depository", Subtype: "checking", ISOCurrency: "USD", Opening: "1000.00"})
	w.card = add(plaidfake.Account{ID: "acct-card-4242", Name: "Business Card", Mask: "4242",
		Type: "credit", Subtype: "credit card", ISOCurrency: "USD", Opening: "250.00", Limit: "5000.00"})
	w.savings = add(plaidfake.Account{ID: "acct-savings-0777", Name: "Tax Reserve", Mask: "0777",
		Type: "depository", Subtype: "savings", ISOCurrency: "USD", Opening: "20000.00"})
	for _, tx := range []plaidfake.Txn{
		{ID: "txn-chk-1", AccountID: w.checking, Amount: "12.34", Date: "2026-11-20", Name: "Coffee"},
		{ID: "txn-chk-2", AccountID: w.checking, Amount: "-500.00", Date: "2026-11-21", Name: "Customer deposit"},
		{ID: "txn-chk-3", AccountID: w.checking, Amount: "45.00", Date: "2026-11-25", Name: "Hardware store", Pending: true},
		{ID: "txn-card-1", AccountID: w.card, Amount: "89.99", Date: "2026-11-22", Name: "Software subscription"},
		{ID: "txn-card-2", AccountID: w.card, Amount: "-30.00", Date: "2026-11-23", Name: "Refund"},
		{ID: "txn-card-3", AccountID: w.card, Amount: "20.00", Date: "2026-11-24", Name: "Fuel", Pending: true},
		{ID: "txn-sav-1", AccountID: w.savings, Amount: "-1500.00", Date: "2026-11-01", Name: "Transfer in"},
	} {
		srv.AddTxn(tx)
	}
	return w
}

// sync runs every job once over st with the fixed clock. One worker keeps
// the order of Plaid calls, and so everything derived from it, fixed.
func (w *world) sync(t *testing.T, st *store.Store) {
	t.Helper()
	r := &jobs.Runner{Store: st, Plaid: w.client, Log: zerolog.New(io.Discard), Concurrency: 1,
		ProbeInterval: 6 * time.Hour, Now: func() time.Time { return fixedNow }}
	if _, err := r.Run(context.Background(), jobs.JobAll); err != nil {
		t.Fatalf("run: %v", err)
	}
}

// tokenID finds the database id of a token by its hint.
func tokenID(t *testing.T, st *store.Store, businessID, hint string) int64 {
	t.Helper()
	toks, err := st.Tokens(context.Background(), store.TokenFilter{BusinessID: businessID})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range toks {
		if tk.Hint == hint {
			return tk.ID
		}
	}
	t.Fatalf("no token ending %q in business %s", hint, businessID)
	return 0
}
