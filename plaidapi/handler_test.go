package plaidapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Cases plaidfake does not stage: hand-written Plaid-shaped answers.

const testToken = "processor-sandbox-0d1e2a3d-beef-4c0f-9e1e-000000000042"

func serve(t *testing.T, status int, contentType, body string) (url string, requests chan *http.Request, bodies chan []byte) {
	t.Helper()
	requests, bodies = make(chan *http.Request, 16), make(chan []byte, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		requests <- r
		bodies <- b
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		// Declared up front so the body limit can refuse before reading;
		// FaultHuge covers a body without a length.
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, requests, bodies
}

func syncBody(txn, extra string) string {
	if txn == "" {
		txn = `{"transaction_id":"t1","account_id":"acc1","amount":1.5,"iso_currency_code":"EUR","unofficial_currency_code":null,"date":"2026-02-03","name":"x","pending":false,"payment_channel":"other"}`
	}
	return `{"account":{"account_id":"acc1","name":"Checking","type":"depository","subtype":"checking","mask":null,"official_name":null,` +
		`"balances":{"current":10,"available":null,"limit":null,"iso_currency_code":"EUR","unofficial_currency_code":null}},` +
		`"added":[` + txn + `],"modified":[],"removed":[` + extra + `],"next_cursor":"c2","has_more":false,` +
		`"request_id":"req-h1","transactions_update_status":"HISTORICAL_UPDATE_COMPLETE"}`
}

func TestRequestShape(t *testing.T) {
	url, requests, bodies := serve(t, 200, "application/json", syncBody("", ""))
	c := newClient(t, url, nil)
	page, err := c.Sync(context.Background(), testToken, "", 500)
	if err != nil {
		t.Fatal(err)
	}
	if page.Added[0].Amount.Minor != 150 || page.Account.Current == nil || *page.Account.Current != 1000 {
		t.Errorf("page = %+v", page)
	}
	r, b := <-requests, <-bodies
	if r.URL.Path != pathSync || r.Header.Get("PLAID-CLIENT-ID") != testClientID ||
		r.Header.Get("PLAID-SECRET") != testSecret || r.Header.Get("Plaid-Version") != "2020-09-14" {
		t.Errorf("request %s %v", r.URL.Path, r.Header)
	}
	var sent map[string]any
	if err := json.Unmarshal(b, &sent); err != nil {
		t.Fatal(err)
	}
	// No cursor on the first call, credentials only in headers, and only
	// the options we set: plaid-go's constructor would add days_requested=90
	// and explicit falses.
	for _, key := range []string{"cursor", "client_id", "secret"} {
		if _, ok := sent[key]; ok {
			t.Errorf("request body has %q: %s", key, b)
		}
	}
	if opts, _ := json.Marshal(sent["options"]); string(opts) != `{"days_requested":730,"include_original_description":true}` {
		t.Errorf("request options = %s", opts)
	}
	if sent["count"] != 500.0 || sent["processor_token"] != testToken {
		t.Errorf("request body = %s", b)
	}

	if _, err := c.Sync(context.Background(), testToken, "c1", 0); err != nil {
		t.Fatal(err)
	}
	<-requests
	if err := json.Unmarshal(<-bodies, &sent); err != nil || sent["cursor"] != "c1" {
		t.Errorf("second request body = %v (%v)", sent, err)
	}
}

func TestResponsesWeRefuse(t *testing.T) {
	for _, tc := range []struct {
		name        string
		status      int
		contentType string
		body        string
		want        Class
		msg         string
	}{
		{"200 not JSON content type", 200, "", syncBody("", ""), Fatal, "malformed response from Plaid"},
		{"429 credits exhausted", 429, "application/json",
			`{"error_type":"RATE_LIMIT_EXCEEDED","error_code":"CREDITS_EXHAUSTED","error_message":"free credits used","request_id":"req-x"}`, Fatal, "CREDITS_EXHAUSTED (429, request req-x)"},
		{"400 without error code", 400, "application/json", `{"request_id":"req-y"}`, Fatal, "HTTP 400 without a Plaid error code"},
		{"503 without error code", 503, "application/json", `{}`, Transient, "HTTP 503 without a Plaid error code"},
		{"429 from a proxy", 429, "text/plain", `slow down`, Transient, "HTTP 429"},
		{"missing transaction_id", 200, "application/json",
			syncBody(`{"account_id":"acc1","amount":1,"iso_currency_code":"EUR","date":"2026-02-03"}`, ""), Fatal, "no transaction_id"},
		{"bad date", 200, "application/json",
			syncBody(`{"transaction_id":"t9","account_id":"acc1","amount":1,"iso_currency_code":"EUR","date":"2026-02-30"}`, ""), Fatal, `transaction t9: date "2026-02-30"`},
		{"missing date", 200, "application/json",
			syncBody(`{"transaction_id":"t9","account_id":"acc1","amount":1,"iso_currency_code":"EUR"}`, ""), Fatal, `transaction t9: date ""`},
		{"bad authorized_date", 200, "application/json",
			syncBody(`{"transaction_id":"t9","account_id":"acc1","amount":1,"iso_currency_code":"EUR","date":"2026-02-03","authorized_date":"02/03/2026"}`, ""), Fatal, "authorized_date"},
		{"removed without id", 200, "application/json", syncBody("", `{"account_id":"acc1"}`), Fatal, "removed entry 0 has no transaction_id"},
		{"removed from another account", 200, "application/json", syncBody("", `{"transaction_id":"t7","account_id":"acc2"}`), Fatal, "removed transaction t7 belongs to account"},
		// NOT_READY is the only page allowed without an account.
		{"null account with a cursor", 200, "application/json",
			`{"account":null,"added":[],"modified":[],"removed":[],"next_cursor":"c9","has_more":false,"request_id":"req-z","transactions_update_status":"INITIAL_UPDATE_COMPLETE"}`, Fatal, "no account.account_id"},
		{"null account with transactions", 200, "application/json",
			`{"account":null,"added":[{"transaction_id":"t1","account_id":"acc1","amount":1,"iso_currency_code":"EUR","date":"2026-02-03"}],"modified":[],"removed":[],"next_cursor":"","has_more":false,"request_id":"req-z"}`, Fatal, "no account.account_id"},
		{"over the limit by Content-Length", 200, "application/json", syncBody("", "") + strings.Repeat(" ", 2000), Fatal, "fatal (no response): response over 2048 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, _, _ := serve(t, tc.status, tc.contentType, tc.body)
			c := newClient(t, url, func(cfg *Config) { cfg.RetryMax = 2; cfg.MaxBody = 2048 })
			_, err := c.Sync(context.Background(), testToken, "", 500)
			asError(t, err, tc.want, testToken)
			t.Log(err)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q lacks %q", err, tc.msg)
			}
			wantCalls := int64(1)
			if tc.want == Transient {
				wantCalls = 2
			}
			if c.Calls() != wantCalls {
				t.Errorf("calls = %d, want %d", c.Calls(), wantCalls)
			}
		})
	}
}

func TestEmptyFirstSyncIsLegal(t *testing.T) {
	url, _, _ := serve(t, 200, "application/json", strings.Replace(strings.Replace(syncBody("", ""),
		`"next_cursor":"c2"`, `"next_cursor":""`, 1), `"added":[{`, `"ignored":[{`, 1))
	page, err := newClient(t, url, nil).Sync(context.Background(), testToken, "", 500)
	if err != nil {
		t.Fatal(err)
	}
	if page.NextCursor != "" || page.HasMore || page.Added != nil {
		t.Errorf("page = %+v", page)
	}
}

// Plaid's messages do not echo the token or the secret; a proxy or a future
// API version might. Every field of the error must hide them anyway.
func TestSecretsAreScrubbed(t *testing.T) {
	echo := `{"error_type":"INVALID_INPUT","error_code":"INVALID_PROCESSOR_TOKEN",` +
		`"error_message":"token ` + testToken + ` with secret ` + testSecret + ` is bad","request_id":"req-` + testToken + `"}`
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
	}{
		{"plaid error echo", "application/json", echo, 400},
		{"malformed 200 echo", "application/json", `{"request_id":"` + testSecret + `","added":"` + testToken + `"}`, 200},
		{"html echo", "text/html", "<p>" + testToken + testSecret + "</p>", 502},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, _, _ := serve(t, tc.status, tc.contentType, tc.body)
			c := newClient(t, url, func(cfg *Config) { cfg.RetryMax = 1 })
			_, err := c.Sync(context.Background(), testToken, "", 500)
			assertNoSecrets(t, err, testToken)
			for e := error(err); e != nil; e = errors.Unwrap(e) {
				if s, ok := e.(*scrubbed); ok {
					if strings.Contains(s.Error(), testToken) || strings.Contains(s.Error(), testSecret) {
						t.Errorf("cause leaks a secret: %s", s)
					}
				}
			}
			if !strings.Contains(err.Error(), "[REDACTED]") && tc.status == 400 {
				t.Errorf("expected a redaction in %q", err)
			}
			t.Log(err)
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		c := newClient(t, srv.URL, func(cfg *Config) { cfg.RetryMax = 2 })
		_, err := c.Balance(context.Background(), testToken, time.Time{})
		asError(t, err, Transient, testToken)
		if c.Calls() != 2 {
			t.Errorf("calls = %d, want 2", c.Calls())
		}
	})
}

func TestConfigMistakesAreFatalWithoutACall(t *testing.T) {
	for _, base := range []string{"", "sandbox.plaid.com", "ftp://x", "http://"} {
		c := newClient(t, base, nil)
		_, err := c.Account(context.Background(), testToken)
		asError(t, err, Fatal, testToken)
		if c.Calls() != 0 {
			t.Errorf("%q: calls = %d", base, c.Calls())
		}
	}
	c := newClient(t, "http://127.0.0.1:1", nil)
	for _, n := range []int{-1, 501} {
		if _, err := c.Sync(context.Background(), testToken, "", n); ClassOf(err) != Fatal || c.Calls() != 0 {
			t.Errorf("count %d: err %v, calls %d", n, err, c.Calls())
		}
	}
}
