package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// The OpenAPI document (openapi.json) is checked against every response
// of this package's tests: each test server is started by serveChecked,
// which validates what the handler answered before the client sees it.
// kin-openapi v0.153 reads OpenAPI 3.1 and, for a 3.1 document,
// openapi3filter validates bodies with its JSON Schema 2020-12 validator
// (type arrays with "null", enums holding null), so the document is
// written as 3.1 and checked as such.

func init() {
	// The Bank Linking page and its script are text; kin-openapi decodes
	// only the media types it knows.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/javascript", openapi3filter.PlainBodyDecoder)
}

// contract is the loaded document and its router.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

var (
	contractOnce sync.Once
	theContract  *contract
	contractErr  error
)

func loadContract(tb testing.TB) *contract {
	tb.Helper()
	contractOnce.Do(func() {
		ctx := context.Background()
		doc, err := openapi3.NewLoader().LoadFromData(OpenAPI)
		if err != nil {
			contractErr = fmt.Errorf("load openapi.json: %w", err)
			return
		}
		if err := doc.Validate(ctx); err != nil {
			contractErr = fmt.Errorf("openapi.json is not a valid OpenAPI document: %w", err)
			return
		}
		router, err := gorillamux.NewRouter(doc)
		if err != nil {
			contractErr = fmt.Errorf("route openapi.json: %w", err)
			return
		}
		theContract = &contract{doc: doc, router: router}
	})
	if contractErr != nil {
		tb.Fatal(contractErr)
	}
	return theContract
}

// check says how a response breaks the document, or nil. A route the
// document lacks may only be refused (401 before routing, 404, 405) with
// the error body; a documented route must answer a documented status
// with a body of its schema.
func (c *contract) check(r *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := c.router.FindRoute(r)
	if err != nil {
		var re *routers.RouteError
		if !errors.As(err, &re) {
			return err
		}
		switch status {
		case http.StatusUnauthorized, http.StatusNotFound, http.StatusMethodNotAllowed:
			return c.errorBody(header, body)
		case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			// net/http's ServeMux redirects an unclean path (/v1//x) to
			// its clean form before any route sees it.
			if loc := header.Get("Location"); loc != "" && loc != r.URL.Path && path.Clean(r.URL.Path) == loc {
				return nil
			}
		}
		return fmt.Errorf("%s %s answered %d, but the document has no such operation (%v)", r.Method, r.URL.Path, status, err)
	}
	exercised.Store(route.Method+" "+route.Path, true)
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts},
		Status:                 status, Header: header, Options: opts,
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(r.Context(), in); err != nil {
		return fmt.Errorf("%s %s answered %d against the document: %w", r.Method, r.URL.Path, status, err)
	}
	return nil
}

func (c *contract) errorBody(header http.Header, body []byte) error {
	if ct := header.Get("Content-Type"); ct != "application/json" {
		return fmt.Errorf("a refusal with Content-Type %q", ct)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("a refusal that is not JSON: %s", body)
	}
	return c.doc.Components.Schemas["Error"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
}

// exercised holds the operations ("GET /v1/businesses/{id}") some test's
// response was checked on; TestMain fails a full run that leaves one of
// the document's operations unexercised.
var exercised sync.Map

// TestMain runs the package's tests, then, on a full run (no -run, not
// -short), fails if an operation of the document was never answered in
// them: the document then describes something no test has held it to.
// Operations with "x-served-by": "serve" are answered by the serve
// command's own mux (metrics and health), not by NewHandler.
func TestMain(m *testing.M) {
	code := m.Run()
	if code != 0 || testing.Short() || flag.Lookup("test.run").Value.String() != "" {
		os.Exit(code)
	}
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var missing []string
	for p, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Extensions["x-served-by"] == "serve" {
				continue
			}
			if _, ok := exercised.Load(method + " " + p); !ok {
				missing = append(missing, method+" "+p)
			}
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		fmt.Fprintf(os.Stderr, "openapi.json: no test response was checked on %s\n", strings.Join(missing, ", "))
		os.Exit(1)
	}
	os.Exit(code)
}

// serveChecked is httptest.NewServer(h) with every response checked
// against the document (see checked).
func serveChecked(tb testing.TB, h http.Handler) *checkedServer {
	tb.Helper()
	cs := &checkedServer{}
	cs.Server = httptest.NewServer(cs.checked(tb, h))
	tb.Cleanup(cs.Close)
	return cs
}

// checked wraps h so that every response is checked against the document
// before the client sees it; a mismatch fails tb (or, for a fuzz target,
// is kept for the fuzz body to collect with failures).
func (cs *checkedServer) checked(tb testing.TB, h http.Handler) http.Handler {
	tb.Helper()
	c := loadContract(tb)
	_, fuzzing := tb.(*testing.F)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if err := c.check(r, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
			if fuzzing {
				cs.mu.Lock()
				cs.errs = append(cs.errs, err.Error())
				cs.mu.Unlock()
			} else {
				tb.Errorf("openapi.json: %v\nbody: %s", err, truncate(rec.Body.Bytes()))
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

type checkedServer struct {
	*httptest.Server
	mu   sync.Mutex
	errs []string
}

// failures returns and forgets the mismatches seen so far.
func (cs *checkedServer) failures() []string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	e := cs.errs
	cs.errs = nil
	return e
}

func truncate(b []byte) []byte {
	if len(b) > 600 {
		return append(b[:600:600], "…"...)
	}
	return b
}

// TestOpenAPIChecksResponses: the checker itself fails on what the
// document does not allow, or every other test would prove nothing.
func TestOpenAPIChecksResponses(t *testing.T) {
	c := loadContract(t)
	req := func(method, path string) *http.Request {
		r := httptest.NewRequest(method, path, nil)
		return r
	}
	jsonCT := http.Header{"Content-Type": {"application/json"}}
	okBusiness := `{"id":"b","external_id":null,"legal_name":null,"plaid_processor_tokens":[],"created_at":"2026-11-26T12:00:00Z","updated_at":"2026-11-26T12:00:00Z"}`
	errBody := `{"error":{"code":"not_found","message":"business x"}}`
	for _, x := range []struct {
		name   string
		r      *http.Request
		status int
		body   string
		bad    string // "" = must pass; else a word of the failure
	}{
		{"documented", req("GET", "/v1/businesses/b"), 200, okBusiness, ""},
		{"documented error", req("GET", "/v1/businesses/x"), 404, errBody, ""},
		{"undocumented status", req("GET", "/v1/businesses/b"), 418, errBody, "status"},
		{"undocumented field", req("GET", "/v1/businesses/b"), 200, strings.Replace(okBusiness, `"id":"b"`, `"id":"b","secret":"x"`, 1), "schema"},
		{"missing field", req("GET", "/v1/businesses/b"), 200, strings.Replace(okBusiness, `"legal_name":null,`, ``, 1), "schema"},
		{"amount as a number", req("GET", "/v1/businesses/b/ledger/balances"), 200,
			`[{"business_id":"b","account_id":"a","currency":"USD","ledger_balance":1.5,"posted_count":1,"pending_count":0,"pending_total":"0.00","opening_balance":null}]`, "schema"},
		{"undocumented route answered", req("GET", "/v1/secret-route"), 200, `{}`, "no such operation"},
		{"undocumented route refused", req("GET", "/v1/secret-route"), 404, errBody, ""},
		{"refusal without the error shape", req("GET", "/v1/secret-route"), 404, `{"oops":1}`, "error"},
	} {
		t.Run(x.name, func(t *testing.T) {
			err := c.check(x.r, x.status, jsonCT, []byte(x.body))
			switch {
			case x.bad == "" && err != nil:
				t.Errorf("refused: %v", err)
			case x.bad != "" && err == nil:
				t.Errorf("accepted; want a failure about %q", x.bad)
			case x.bad != "" && !strings.Contains(err.Error(), x.bad):
				t.Errorf("failure %q does not mention %q", err, x.bad)
			}
		})
	}
}

// TestOpenAPIServed: /openapi.json is public and is the embedded file.
func TestOpenAPIServed(t *testing.T) {
	h := newHarness(t)
	r := h.do("GET", "/openapi.json", "", withAuth(""))
	if r.status != 200 || !bytes.Equal(r.body, OpenAPI) {
		t.Fatalf("GET /openapi.json: %d (%d bytes, want the %d embedded)", r.status, len(r.body), len(OpenAPI))
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q, %v", doc.OpenAPI, err)
	}
}

// TestOpenAPICoversEveryRoute: every pattern NewHandler registers (read
// from http.go, where they are all written) is an operation of the
// document, so a new route cannot ship undocumented even before a test
// calls it.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	src, err := os.ReadFile("http.go")
	if err != nil {
		t.Fatal(err)
	}
	c := loadContract(t)
	patterns := regexp.MustCompile(`\.HandleFunc\("([A-Z]+) (/[^"]*)"`).FindAllStringSubmatch(string(src), -1)
	if len(patterns) < 15 {
		t.Fatalf("found %d route patterns in http.go; the pattern reader is broken", len(patterns))
	}
	for _, p := range patterns {
		item := c.doc.Paths.Value(p[2])
		if item == nil || item.GetOperation(p[1]) == nil {
			t.Errorf("route %s %s is not in openapi.json", p[1], p[2])
		}
	}
}
