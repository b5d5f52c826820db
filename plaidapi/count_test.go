package plaidapi

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// calls records what OnCall is told.
type calls struct {
	mu  sync.Mutex
	got []string
}

func (c *calls) observe(endpoint, outcome string) {
	c.mu.Lock()
	c.got = append(c.got, endpoint+" "+outcome)
	c.mu.Unlock()
}

func (c *calls) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.got, "; ")
}

// TestOnCallCountsEveryAttempt: each HTTP attempt is reported once, by
// Plaid's path and its outcome, and the error body read to find the code is
// handed back to plaid-go whole, so the call is still classified.
func TestOnCallCountsEveryAttempt(t *testing.T) {
	cases := []struct {
		name, body, want string
		status           int
		class            Class // of the returned error; -1: no error
		code             string
	}{
		{"ok", syncBody("", ""), pathSync + " ok", 200, -1, ""},
		{"plaid error code", `{"error_type":"ITEM_ERROR","error_code":"ITEM_LOGIN_REQUIRED","error_message":"m","display_message":null,"request_id":"req-e1"}`,
			pathSync + " ITEM_LOGIN_REQUIRED", 400, InvalidToken, "ITEM_LOGIN_REQUIRED"},
		{"retried server error: one count per attempt",
			`{"error_type":"API_ERROR","error_code":"INTERNAL_SERVER_ERROR","error_message":"m","display_message":null,"request_id":"req-e1"}`,
			pathSync + " INTERNAL_SERVER_ERROR; " + pathSync + " INTERNAL_SERVER_ERROR; " + pathSync + " INTERNAL_SERVER_ERROR", 500, Transient, "INTERNAL_SERVER_ERROR"},
		{"no code: status class", `<html>bad gateway</html>`, pathSync + " 5xx; " + pathSync + " 5xx; " + pathSync + " 5xx", 502, Transient, ""},
		{"a code that is not Plaid's shape never becomes a label",
			`{"error_type":"ITEM_ERROR","error_code":"` + testToken + `","error_message":"m","request_id":"req-e1"}`, pathSync + " 4xx", 400, -2, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url, _, _ := serve(t, tc.status, "application/json", tc.body)
			var c calls
			cl := newClient(t, url+"/plaid/", func(cfg *Config) { cfg.OnCall = c.observe; cfg.RetryMax = 3 })
			_, err := cl.Sync(context.Background(), testToken, "", 500)
			if got := c.String(); got != tc.want {
				t.Errorf("observed %q, want %q", got, tc.want)
			}
			switch tc.class {
			case -1:
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			case -2:
				if err == nil {
					t.Fatal("no error")
				}
			default:
				if e := asError(t, err, tc.class, testToken); e.Code != tc.code {
					t.Errorf("code = %q, want %q (the body was not handed back whole)", e.Code, tc.code)
				}
			}
		})
	}
}

// TestOnCallTooLarge: a body refused for its declared length is told apart
// from a server that did not answer.
func TestOnCallTooLarge(t *testing.T) {
	url, _, _ := serve(t, 200, "application/json", syncBody("", ""))
	var c calls
	cl := newClient(t, url, func(cfg *Config) { cfg.OnCall = c.observe; cfg.MaxBody = 64 })
	if _, err := cl.Sync(context.Background(), testToken, "", 500); err == nil {
		t.Fatal("no error for a body over MaxBody")
	}
	if got, want := c.String(), pathSync+" too_large"; got != want {
		t.Errorf("observed %q, want %q", got, want)
	}
}

// TestOnCallNoResponse: a server that is gone counts as no_response.
func TestOnCallNoResponse(t *testing.T) {
	srv := httptest.NewServer(nil)
	url := srv.URL
	srv.Close()
	var c calls
	cl := newClient(t, url, func(cfg *Config) { cfg.OnCall = c.observe; cfg.RetryMax = 1 })
	if _, err := cl.Account(context.Background(), testToken); err == nil {
		t.Fatal("no error from a closed server")
	}
	if got, want := c.String(), pathAccount+" no_response"; got != want {
		t.Errorf("observed %q, want %q", got, want)
	}
}
