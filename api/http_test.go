package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"bankfeed/store"
)

func TestUnauthorized(t *testing.T) {
	h := newHarness(t)
	h.do("POST", "/v1/businesses", `{"id":"biz-1"}`).want(t, 201)

	routes := []struct{ method, path, body string }{
		{"POST", "/v1/businesses", `{}`},
		{"PUT", "/v1/businesses/biz-1", `{"plaid_processor_tokens":[]}`},
		{"GET", "/v1/businesses/biz-1", ""},
		{"GET", "/v1/businesses/biz-1/plaid/accounts", ""},
		{"GET", "/v1/no-such-route", ""}, // unknown routes are not probeable
	}
	auths := map[string]string{
		"missing":       "",
		"wrong key":     "Bearer not-the-key",
		"prefix of key": "Bearer " + apiKey[:len(apiKey)-1],
		"empty bearer":  "Bearer ",
		"basic scheme":  "Basic " + apiKey,
		"bare key":      apiKey,
	}
	for _, rt := range routes {
		for name, auth := range auths {
			t.Run(rt.method+" "+rt.path+"/"+name, func(t *testing.T) {
				r := h.do(rt.method, rt.path, rt.body, withAuth(auth))
				if r.status != http.StatusUnauthorized || r.errCode(t) != "unauthorized" {
					t.Fatalf("got %d %s", r.status, r.body)
				}
				if got := r.header.Get("WWW-Authenticate"); got != "Bearer" {
					t.Errorf("WWW-Authenticate = %q", got)
				}
			})
		}
	}
	// Either configured key works, and the scheme is case-insensitive.
	h.do("GET", "/v1/businesses/biz-1", "", withAuth("Bearer "+otherAPIKey)).want(t, 200)
	h.do("GET", "/v1/businesses/biz-1", "", withAuth("bearer "+apiKey)).want(t, 200)
}

func TestNoKeysRejectsEverything(t *testing.T) {
	if Enabled(nil) || Enabled([]string{"", "  "}) || !Enabled([]string{"k"}) {
		t.Fatal("Enabled disagrees with the keys")
	}
	hs := serveChecked(t, NewHandler(openStore(t), Options{APIKeys: []string{""}, Log: zerolog.Nop()}))
	req, _ := http.NewRequest("GET", hs.URL+"/v1/businesses/x", nil)
	req.Header.Set("Authorization", "Bearer ")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", resp.StatusCode)
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	h := newHarness(t)
	for _, c := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"GET", "/v1/businesses/nope", "", 404, "not_found"},
		{"PUT", "/v1/businesses/nope", `{"plaid_processor_tokens":[]}`, 404, "not_found"},
		{"GET", "/v1/businesses/nope/plaid/accounts", "", 404, "not_found"},
		{"GET", "/v1/elsewhere", "", 404, "not_found"},
		{"GET", "/v1/businesses/nope/", "", 404, "not_found"},
		{"GET", "/v1//businesses/nope", "", 404, "not_found"}, // no redirects: paths are exact
		{"DELETE", "/v1/businesses/nope", "", 405, "method_not_allowed"},
		{"DELETE", "/v1/businesses", "", 405, "method_not_allowed"},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := h.do(c.method, c.path, c.body)
			if r.status != c.status || r.errCode(t) != c.code {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, c.status, c.code)
			}
			if c.status == 405 && r.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
			if r.header.Get("Location") != "" {
				t.Error("unexpected Location")
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	h := newHarness(t)
	h.do("POST", "/v1/businesses", `{"id":"biz-1"}`).want(t, 201)
	cases := []struct {
		name, body string
		opts       []reqOpt
		status     int
		code       string
	}{
		{"malformed", `{"plaid_processor_tokens": [`, nil, 400, "invalid_body"},
		{"not json", `hello`, nil, 400, "invalid_body"},
		{"empty", ``, []reqOpt{withContentType("application/json")}, 400, "invalid_body"},
		{"null", `null`, nil, 400, "invalid_body"},
		{"array", `[]`, nil, 400, "invalid_body"},
		{"trailing object", `{"plaid_processor_tokens":[]} {}`, nil, 400, "invalid_body"},
		{"trailing garbage", `{"plaid_processor_tokens":[]} x`, nil, 400, "invalid_body"},
		{"tokens not array", `{"plaid_processor_tokens":"` + tok(1) + `"}`, nil, 400, "invalid_body"},
		{"token not object", `{"plaid_processor_tokens":["` + tok(1) + `"]}`, nil, 400, "invalid_body"},
		{"token a number", `{"plaid_processor_tokens":[{"processor_token":7}]}`, nil, 400, "invalid_body"},
		{"unknown field", `{"plaid_processor_tokens":[],"extra":1}`, nil, 400, "unknown_field"},
		{"unknown nested field", `{"plaid_processor_tokens":[{"processor_token":"` + tok(1) + `","x":1}]}`, nil, 400, "unknown_field"},
		{"bad token form", tokensJSON("access-sandbox-5e1f0c7a-b2d4-9999"), nil, 400, "invalid_token"},
		{"empty token", `{"plaid_processor_tokens":[{}]}`, nil, 400, "invalid_token"},
		{"wrong env", tokensJSON("processor-production-5e1f0c7a-b2d4-9999"), nil, 400, "invalid_token"},
		{"text/plain", tokensJSON(tok(1)), []reqOpt{withContentType("text/plain")}, 415, "unsupported_media_type"},
		{"no content type", tokensJSON(tok(1)), []reqOpt{withContentType("")}, 415, "unsupported_media_type"},
		{"latin-1 json", tokensJSON(tok(1)), []reqOpt{withContentType("application/json; charset=latin-1")}, 415, "unsupported_media_type"},
	}
	for _, route := range []struct{ method, path string }{{"POST", "/v1/businesses"}, {"PUT", "/v1/businesses/biz-1"}} {
		for _, c := range cases {
			t.Run(route.method+"/"+c.name, func(t *testing.T) {
				r := h.do(route.method, route.path, c.body, c.opts...)
				if r.status != c.status || r.errCode(t) != c.code {
					t.Fatalf("got %d %s, want %d %s", r.status, r.body, c.status, c.code)
				}
				if strings.Contains(string(r.body), "5e1f0c7a") {
					t.Errorf("error echoes the token: %s", r.body)
				}
			})
		}
	}
	t.Run("PUT without the tokens field", func(t *testing.T) {
		for _, body := range []string{`{}`, `{"plaid_processor_tokens":null}`} {
			r := h.do("PUT", "/v1/businesses/biz-1", body)
			if r.status != 400 || r.errCode(t) != "invalid_body" || !strings.Contains(string(r.body), "plaid_processor_tokens is required") {
				t.Fatalf("%s: got %d %s", body, r.status, r.body)
			}
		}
	})
	t.Run("POST with a bad id", func(t *testing.T) {
		r := h.do("POST", "/v1/businesses", `{"id":"a/b"}`)
		if r.status != 400 || r.errCode(t) != "invalid_body" {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
	t.Run("charset utf-8 is JSON", func(t *testing.T) {
		h.do("PUT", "/v1/businesses/biz-1", tokensJSON(), withContentType("application/json; charset=UTF-8")).want(t, 200)
	})
	// Nothing of the rejected requests reached the database.
	if toks, _ := h.st.Tokens(context.Background(), store.TokenFilter{IncludeRemoved: true}); len(toks) != 0 {
		t.Errorf("rejected requests stored %d tokens", len(toks))
	}
}

func TestBodyLimit(t *testing.T) {
	h := newHarness(t)
	// A body of exactly 1 MiB is allowed; one byte more is not.
	pad := func(n int) string {
		const pre, post = `{"legal_name":"`, `"}`
		return pre + strings.Repeat("a", n-len(pre)-len(post)) + post
	}
	h.do("POST", "/v1/businesses", pad(1<<20)).want(t, 201)
	for name, opts := range map[string][]reqOpt{"with length": nil, "chunked": {chunked()}} {
		t.Run(name, func(t *testing.T) {
			for _, method := range []string{"POST", "PUT"} {
				path := "/v1/businesses"
				if method == "PUT" {
					path += "/anything"
				}
				r := h.do(method, path, pad(1<<20+1), opts...)
				if r.status != http.StatusRequestEntityTooLarge || r.errCode(t) != "body_too_large" {
					t.Fatalf("%s: got %d %.200s", method, r.status, r.body)
				}
			}
		})
	}
	// Trailing whitespace past the limit is caught too.
	r := h.do("POST", "/v1/businesses", `{}`+strings.Repeat(" ", 1<<20), chunked())
	if r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("got %d %s", r.status, r.body)
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestCreateAndGet(t *testing.T) {
	h := newHarness(t)
	r := h.do("POST", "/v1/businesses", `{"external_id":"cust-42","legal_name":"Acme LLC","plaid_processor_tokens":[`+
		`{"processor_token":"`+tok(1)+`"},{"processor_token":"`+tok(2)+`"},{"processor_token":"`+tok(1)+`"}]}`)
	if r.status != http.StatusCreated {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	b := r.business(t)
	if !uuidV4.MatchString(b.ID) {
		t.Errorf("id %q is not a UUIDv4", b.ID)
	}
	if r.header.Get("Location") != "/v1/businesses/"+b.ID {
		t.Errorf("Location = %q", r.header.Get("Location"))
	}
	if *b.ExternalID != "cust-42" || *b.LegalName != "Acme LLC" || b.CreatedAt != "2026-11-26T12:00:00Z" || b.UpdatedAt != b.CreatedAt {
		t.Errorf("business = %+v", b)
	}
	if got := hints(b); got != "0001:active,0002:active" {
		t.Errorf("tokens = %s (duplicates must collapse)", got)
	}
	if strings.Contains(string(r.body), "5e1f0c7a") {
		t.Errorf("response shows a whole token: %s", r.body)
	}
	// Every token carries the contract fields, null where unknown.
	var raw map[string][]map[string]any
	_ = json.Unmarshal(r.body, &raw)
	for _, k := range []string{"token_hint", "status", "reason", "account_id", "last_synced_at", "remedy", "flagged_at"} {
		if _, ok := raw["plaid_processor_tokens"][0][k]; !ok {
			t.Errorf("token lacks %q: %s", k, r.body)
		}
	}

	g := h.do("GET", "/v1/businesses/"+b.ID, "")
	if g.status != 200 || string(g.body) != string(r.body) {
		t.Errorf("GET = %d %s\nwant the created business %s", g.status, g.body, r.body)
	}

	// A client-chosen id makes a create retryable: the retry is a 409.
	r = h.do("POST", "/v1/businesses", `{"id":"biz-chosen"}`)
	if r.status != 201 || r.business(t).ID != "biz-chosen" || r.business(t).ExternalID != nil ||
		len(r.business(t).Tokens) != 0 || !strings.Contains(string(r.body), `"plaid_processor_tokens":[]`) {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	if r := h.do("POST", "/v1/businesses", `{"id":"biz-chosen"}`); r.status != 409 || r.errCode(t) != "conflict" {
		t.Fatalf("repeat create: %d %s", r.status, r.body)
	}
}

func TestConflict(t *testing.T) {
	h := newHarness(t)
	h.do("POST", "/v1/businesses", `{"id":"owner","plaid_processor_tokens":[{"processor_token":"`+tok(7)+`"}]}`).want(t, 201)
	h.do("POST", "/v1/businesses", `{"id":"other"}`).want(t, 201)
	for name, c := range map[string]struct{ method, path, body string }{
		"create": {"POST", "/v1/businesses", tokensJSON(tok(8), tok(7))},
		"put":    {"PUT", "/v1/businesses/other", tokensJSON(tok(7))},
	} {
		t.Run(name, func(t *testing.T) {
			r := h.do(c.method, c.path, c.body)
			if r.status != http.StatusConflict || r.errCode(t) != "conflict" {
				t.Fatalf("got %d %s", r.status, r.body)
			}
			if strings.Contains(string(r.body), tok(7)) {
				t.Errorf("409 echoes the token: %s", r.body)
			}
		})
	}
	// The failed requests changed nothing.
	if got := hints(h.do("GET", "/v1/businesses/other", "").business(t)); got != "" {
		t.Errorf("other has tokens %s", got)
	}
	if got := hints(h.do("GET", "/v1/businesses/owner", "").business(t)); got != "0007:active" {
		t.Errorf("owner has tokens %s", got)
	}
	// Once the owner lets go, another business may take the token.
	h.do("PUT", "/v1/businesses/owner", tokensJSON()).want(t, 200)
	h.do("PUT", "/v1/businesses/other", tokensJSON(tok(7))).want(t, 200)
}

func TestPutReplaces(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.do("POST", "/v1/businesses", `{"id":"biz"}`).want(t, 201)
	h.do("PUT", "/v1/businesses/biz", tokensJSON(tok(1), tok(2), tok(3))).want(t, 200)

	id2 := tokenID(t, h.st, "biz", "0002")
	if err := h.st.FlagToken(ctx, id2, "ITEM_LOGIN_REQUIRED", "req-1", nil); err != nil {
		t.Fatal(err)
	}
	g := h.do("GET", "/v1/businesses/biz", "").business(t)
	if got := hints(g); got != "0001:active,0002:needs_refresh,0003:active" {
		t.Fatalf("tokens = %s", got)
	}
	if f := g.Tokens[1]; *f.Reason != "ITEM_LOGIN_REQUIRED" || f.Remedy == nil || *f.FlagRequestID != "req-1" || *f.FlaggedAt != "2026-11-26T12:00:00Z" {
		t.Errorf("flagged token = %+v", f)
	}

	// Put two: the third is removed, and re-putting the flagged token is
	// the platform saying it works again: the flag clears at once.
	r := h.do("PUT", "/v1/businesses/biz", tokensJSON(tok(2), tok(1)))
	if r.status != 200 {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	b := r.business(t)
	if got := hints(b); got != "0001:active,0002:active" {
		t.Fatalf("after put of two: %s", got)
	}
	if f := b.Tokens[1]; f.Reason != nil || f.Remedy != nil || f.FlaggedAt != nil || f.FlagRequestID != nil {
		t.Errorf("re-put token still flagged: %+v", f)
	}
	if got := hints(h.do("GET", "/v1/businesses/biz", "").business(t)); got != "0001:active,0002:active" {
		t.Errorf("GET after put: %s", got)
	}
	all, _ := h.st.Tokens(ctx, store.TokenFilter{BusinessID: "biz", IncludeRemoved: true})
	if len(all) != 3 || all[2].Status != store.StatusRemoved {
		t.Errorf("the third token should be kept as removed: %+v", all)
	}

	// [] removes all.
	r = h.do("PUT", "/v1/businesses/biz", `{"plaid_processor_tokens":[]}`)
	if r.status != 200 || len(r.business(t).Tokens) != 0 || !strings.Contains(string(r.body), `"plaid_processor_tokens":[]`) {
		t.Fatalf("after []: %d %s", r.status, r.body)
	}
	if toks, _ := ListTokens(ctx, h.st, "biz", fixedNow); len(toks) != 0 {
		t.Errorf("tokens left: %+v", toks)
	}
}

func TestListPlaidAccounts(t *testing.T) {
	h := newHarness(t)
	w := newWorld(t)
	h.do("POST", "/v1/businesses", `{"id":"biz","plaid_processor_tokens":[`+
		`{"processor_token":"`+w.tokens[w.checking]+`"},{"processor_token":"`+w.tokens[w.card]+`"}]}`).want(t, 201)

	// Before the first sync Plaid has not named any account yet.
	r := h.do("GET", "/v1/businesses/biz/plaid/accounts", "")
	if r.status != 200 || strings.TrimSpace(string(r.body)) != "[]" {
		t.Fatalf("before sync: %d %s", r.status, r.body)
	}
	w.sync(t, h.st)

	r = h.do("GET", "/v1/businesses/biz/plaid/accounts", "")
	if r.status != 200 {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	var raw []map[string]any
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatalf("not a JSON array: %v: %s", err, r.body)
	}
	if len(raw) != 2 {
		t.Fatalf("%d accounts, want 2: %s", len(raw), r.body)
	}
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	decimal := regexp.MustCompile(`^-?\d+\.\d\d$`)
	for _, a := range raw {
		for _, k := range []string{"business_id", "account_id", "name", "mask", "type", "subtype", "currency", "token_hint", "token_status"} {
			if s, ok := a[k].(string); !ok || s == "" {
				t.Errorf("%v: %s = %#v, want a non-empty string", a["account_id"], k, a[k])
			}
		}
		for _, k := range []string{"current_balance", "available_balance"} {
			if s, ok := a[k].(string); !ok || !decimal.MatchString(s) {
				t.Errorf("%v: %s = %#v, want an exact decimal string", a["account_id"], k, a[k])
			}
		}
		for _, k := range []string{"balance_as_of", "last_synced_at"} {
			if s, ok := a[k].(string); !ok || !stamp.MatchString(s) {
				t.Errorf("%v: %s = %#v, want RFC 3339 UTC seconds", a["account_id"], k, a[k])
			}
		}
		// The contract's 15, and the real-time extras (null: real-time
		// balances are off by default).
		for _, k := range []string{"realtime_balance", "realtime_as_of", "in_flight"} {
			if v, ok := a[k]; !ok || v != nil {
				t.Errorf("%v: %s = %#v, want null", a["account_id"], k, v)
			}
		}
		if v, ok := a["item_id"]; !ok || v != nil {
			t.Errorf("%v: item_id = %#v, want null for a processor token's account", a["account_id"], v)
		}
		// Neither account was re-linked.
		for _, k := range []string{"replaces", "replaced_by"} {
			if v, ok := a[k]; !ok || v != nil {
				t.Errorf("%v: %s = %#v, want null", a["account_id"], k, v)
			}
		}
		if len(a) != 15+1+3 {
			t.Errorf("%v has %d fields, want the 15 of the contract, item_id and 3 extras", a["account_id"], len(a))
		}
	}
	// The numbers are the bank's, exactly, in the natural sign.
	want := map[string]string{w.checking: w.srv.Current(w.checking), w.card: w.srv.Current(w.card)}
	for _, a := range raw {
		if a["current_balance"] != want[a["account_id"].(string)] {
			t.Errorf("%v: current %v, Plaid says %s", a["account_id"], a["current_balance"], want[a["account_id"].(string)])
		}
		if a["token_status"] != "active" || a["business_id"] != "biz" {
			t.Errorf("%v: %v", a["account_id"], a)
		}
	}
	// The API answers what the CLI prints.
	cli, err := ListAccounts(context.Background(), h.st, "biz")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(cli); string(b)+"\n" != string(r.body) {
		t.Errorf("API and CLI differ:\n%s\n%s", r.body, b)
	}

	// Dropping the card's token leaves its account listed, unlinked.
	h.do("PUT", "/v1/businesses/biz", tokensJSON(w.tokens[w.checking])).want(t, 200)
	after, _ := ListAccounts(context.Background(), h.st, "biz")
	for _, a := range after {
		if a.AccountID == w.card && a.TokenStatus != "unlinked" {
			t.Errorf("card token_status = %s, want unlinked", a.TokenStatus)
		}
	}
}

func TestRequestLog(t *testing.T) {
	h := newHarness(t)
	secretName := "Very Private Bakery LLC"
	h.do("POST", "/v1/businesses", `{"id":"biz-log","legal_name":"`+secretName+`","plaid_processor_tokens":[{"processor_token":"`+tok(4321)+`"}]}`).want(t, 201)
	h.do("GET", "/v1/businesses/biz-log", "", withAuth("Bearer wrong-key-abc123"))

	lines := waitLines(t, h.log, 2)
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first["method"] != "POST" || first["path"] != "/v1/businesses" || first["status"] != 201.0 || first["remote"] == nil {
		t.Errorf("log line: %s", lines[0])
	}
	if _, ok := first["latency_ms"].(float64); !ok {
		t.Errorf("no latency_ms: %s", lines[0])
	}
	if !strings.Contains(lines[1], `"status":401`) {
		t.Errorf("401 not logged: %s", lines[1])
	}
	all := h.log.String()
	for _, secret := range []string{tok(4321), "5e1f0c7a", apiKey, "wrong-key-abc123", "Bearer", secretName, "processor_token"} {
		if strings.Contains(all, secret) {
			t.Errorf("log contains %q:\n%s", secret, all)
		}
	}
}

func TestInternalErrors(t *testing.T) {
	h := newHarness(t)
	h.st.Close() // every query now fails inside the store
	r := h.do("GET", "/v1/businesses/x", "")
	if r.status != 500 || r.errCode(t) != "internal" || strings.Contains(string(r.body), "sql") {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	line := waitLines(t, h.log, 1)[0]
	if !strings.Contains(line, `"level":"error"`) || !strings.Contains(line, `"error":`) {
		t.Errorf("the real error is not logged: %s", line)
	}

	// A panic becomes a 500 that echoes nothing of it.
	s := &server{log: zerolog.New(h.log)}
	rec := httptest.NewRecorder()
	s.logRequests(s.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("secret-panic-value")
	}))).ServeHTTP(rec, httptest.NewRequest("GET", "/v1/businesses/x", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "secret-panic-value") || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("panic answered %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
}

// waitLines waits for n log lines: the server writes its line after the
// response has left, so the client can be a moment ahead of it.
func waitLines(t *testing.T, b *lockedBuffer, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		if len(lines) >= n && lines[0] != "" {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %d log lines, have:\n%s", n, b.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hints(b businessOut) string {
	var s []string
	for _, t := range b.Tokens {
		s = append(s, t.TokenHint+":"+t.Status)
	}
	return strings.Join(s, ",")
}

// want fails unless the response has the status.
func (r response) want(t *testing.T, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %d %s, want %d", r.status, r.body, status)
	}
	return r
}
