package plaidapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"path"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"bankfeed/ledger"
	"bankfeed/plaidfake"
)

const (
	testClientID = "client-id-0042"
	testSecret   = "secret-value-9f8e7d"

	pathSync    = "/processor/transactions/sync"
	pathBalance = "/processor/balance/get"
	pathAccount = "/processor/account/get"
)

func newFake(t *testing.T) (*plaidfake.Server, string) {
	t.Helper()
	fake := plaidfake.New(plaidfake.WithCredentials(testClientID, testSecret))
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	t.Cleanup(fake.Release) // runs first: frees handlers stalled until release
	return fake, srv.URL
}

// sleeps records backoff waits instead of sleeping through them.
type sleeps struct {
	mu sync.Mutex
	ds []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.ds = append(s.ds, d)
	s.mu.Unlock()
	return ctx.Err()
}

func newClient(t *testing.T, url string, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: url, ClientID: testClientID, Secret: testSecret, Timeout: 10 * time.Second,
		Sleep: (&sleeps{}).sleep}
	if mod != nil {
		mod(&cfg)
	}
	return New(cfg)
}

// asError checks err is an *Error of the wanted class and carries no secret.
func asError(t *testing.T, err error, want Class, token string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *plaidapi.Error", err, err)
	}
	if e.Class != want {
		t.Fatalf("class = %v, want %v; error: %v", e.Class, want, err)
	}
	assertNoSecrets(t, err, token)
	return e
}

func assertNoSecrets(t *testing.T, err error, token string) {
	t.Helper()
	texts := []string{err.Error()}
	if e := (*Error)(nil); errors.As(err, &e) && e.Err != nil {
		texts = append(texts, e.Err.Error(), e.Message, e.RequestID, e.Code)
	}
	for _, s := range texts {
		if (token != "" && strings.Contains(s, token)) || strings.Contains(s, testSecret) {
			t.Errorf("error text leaks a secret: %s", s)
		}
	}
}

func TestSyncConvertsExactly(t *testing.T) {
	fake, url := newFake(t)
	usdID, usdTok := fake.AddAccount(plaidfake.Account{Type: "depository", Subtype: "checking", ISOCurrency: "USD", Opening: "100.00"})
	jpyID, jpyTok := fake.AddAccount(plaidfake.Account{ISOCurrency: "JPY", Opening: "50000"})
	btcID, btcTok := fake.AddAccount(plaidfake.Account{UnofficialCurrency: "BTC", Opening: "1.5"})
	fake.AddTxn(plaidfake.Txn{ID: "t-029", AccountID: usdID, Amount: "0.29", Date: "2026-01-02", Name: "Gum",
		MerchantName: "Corner Shop", AuthorizedDate: "2026-01-01", PFCPrimary: "FOOD_AND_DRINK"})
	fake.AddTxn(plaidfake.Txn{ID: "t-refund", AccountID: usdID, Amount: "-1234.5", Date: "2026-01-03", Name: "Refund"})
	fake.AddTxn(plaidfake.Txn{ID: "t-big", AccountID: usdID, Amount: "100000.01", Date: "2026-01-04", Name: "Wire", Pending: true})
	fake.AddTxn(plaidfake.Txn{ID: "t-yen", AccountID: jpyID, Amount: "1200", Date: "2026-01-02", Name: "Ramen"})
	fake.AddTxn(plaidfake.Txn{ID: "t-sat", AccountID: btcID, Amount: "0.00012345", Date: "2026-01-02", Name: "Fee"})
	c := newClient(t, url, nil)
	ctx := context.Background()

	for _, tc := range []struct {
		name, token, accountID string
		want                   map[string]int64
		code                   string
		exp                    int32
	}{
		{"USD", usdTok, usdID, map[string]int64{"t-029": 29, "t-refund": -123450, "t-big": 10000001}, "USD", 2},
		{"JPY", jpyTok, jpyID, map[string]int64{"t-yen": 1200}, "JPY", 0},
		{"BTC", btcTok, btcID, map[string]int64{"t-sat": 12345}, "BTC", 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := c.Sync(ctx, tc.token, "", 500)
			if err != nil {
				t.Fatal(err)
			}
			if page.Account.ID != tc.accountID || page.HasMore || page.NextCursor == "" || page.RequestID == "" {
				t.Fatalf("page header wrong: %+v", page)
			}
			if len(page.Added) != len(tc.want) {
				t.Fatalf("added %d transactions, want %d", len(page.Added), len(tc.want))
			}
			for _, tx := range page.Added {
				if tx.Amount.Minor != tc.want[tx.ID] || tx.Amount.Currency.Code != tc.code || tx.Amount.Currency.Exponent != tc.exp {
					t.Errorf("%s: amount %d %+v, want %d %s", tx.ID, tx.Amount.Minor, tx.Amount.Currency, tc.want[tx.ID], tc.code)
				}
			}
			current, err := ledger.ParseAmount(fake.Current(tc.accountID), page.Account.Currency)
			if err != nil {
				t.Fatal(err)
			}
			if page.Account.Current == nil || *page.Account.Current != current {
				t.Errorf("current balance %v, want %d", page.Account.Current, current)
			}
			assertRoundTrip(t, page)

			next, err := c.Sync(ctx, tc.token, page.NextCursor, 500)
			if err != nil {
				t.Fatal(err)
			}
			if len(next.Added)+len(next.Modified)+len(next.Removed) != 0 || next.HasMore {
				t.Errorf("second sync not empty: %+v", next)
			}
		})
	}

	page, err := c.Sync(ctx, usdTok, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tx := range page.Added {
		if tx.ID == "t-029" && (tx.MerchantName != "Corner Shop" || tx.AuthorizedDate != "2026-01-01" ||
			tx.PFCPrimary != "FOOD_AND_DRINK" || tx.Date != "2026-01-02" || tx.PaymentChannel == "") {
			t.Errorf("fields lost: %+v", tx)
		}
		if tx.ID == "t-big" && !tx.Pending {
			t.Errorf("pending lost: %+v", tx)
		}
	}
}

// The page is stored as the raw page log, so it must survive JSON intact.
func assertRoundTrip(t *testing.T, page Page) {
	t.Helper()
	b, err := json.Marshal(page)
	if err != nil {
		t.Fatal(err)
	}
	var back Page
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	if !reflect.DeepEqual(page, back) {
		t.Errorf("JSON round trip changed the page:\n%+v\n%+v\n%s", page, back, b)
	}
	if !strings.Contains(string(b), `"next_cursor"`) || !strings.Contains(string(b), `"currency":{"code"`) {
		t.Errorf("unexpected JSON shape: %s", b)
	}
}

func TestBalanceAndAccount(t *testing.T) {
	fake, url := newFake(t)
	// A card without a limit has no available balance: Plaid sends null.
	id, tok := fake.AddAccount(plaidfake.Account{Type: "credit", Subtype: "credit card", Opening: "250.75", Mask: "0042", Name: "Card"})
	c := newClient(t, url, nil)
	for name, get := range map[string]func(context.Context, string) (Account, error){
		"balance": func(ctx context.Context, tok string) (Account, error) { return c.Balance(ctx, tok, time.Time{}) },
		"account": c.Account,
	} {
		t.Run(name, func(t *testing.T) {
			a, err := get(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if a.ID != id || a.Type != "credit" || a.Subtype != "credit card" || a.Mask != "0042" || a.Currency.Code != "USD" || a.RequestID == "" {
				t.Errorf("account = %+v", a)
			}
			if a.Current == nil || *a.Current != 25075 {
				t.Errorf("current = %v, want 25075", a.Current)
			}
			if a.Available != nil || a.Limit != nil {
				t.Errorf("available %v, limit %v: want both nil", a.Available, a.Limit)
			}
			b, _ := json.Marshal(a)
			var back Account
			if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(a, back) {
				t.Errorf("JSON round trip: %v\n%+v\n%+v", err, a, back)
			}
		})
	}
}

func TestRetriesTransientThenSucceeds(t *testing.T) {
	fake, url := newFake(t)
	id, tok := fake.AddAccount(plaidfake.Account{})
	fake.AddTxn(plaidfake.Txn{AccountID: id, Amount: "1.00", Date: "2026-01-02", Name: "x"})
	fake.Inject(tok, plaidfake.Fault{Endpoint: pathSync, Kind: plaidfake.FaultPlaidError, Code: "TRANSACTIONS_SYNC_LIMIT"}, 1)
	fake.Inject(tok, plaidfake.Fault{Endpoint: pathSync, Kind: plaidfake.FaultPlaidError, Code: "INTERNAL_SERVER_ERROR"}, 1)
	fake.Inject(tok, plaidfake.Fault{Endpoint: pathSync, Kind: plaidfake.FaultHTML502}, 1)
	var sl sleeps
	c := newClient(t, url, func(cfg *Config) { cfg.Sleep = sl.sleep })
	page, err := c.Sync(context.Background(), tok, "", 500)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Added) != 1 {
		t.Errorf("added = %d, want 1", len(page.Added))
	}
	if got := fake.Calls(tok, pathSync); got != 4 {
		t.Errorf("server saw %d calls, want 4", got)
	}
	if c.Calls() != 4 {
		t.Errorf("Calls() = %d, want 4", c.Calls())
	}
	if len(sl.ds) != 3 {
		t.Fatalf("slept %d times, want 3", len(sl.ds))
	}
	// The rate limit waits out Plaid's minute; the others back off fast,
	// from the first step: the wait spent none of their attempts.
	if d := sl.ds[0]; d < rateWindow || d >= rateWindow+rateJitter {
		t.Errorf("rate-limit wait = %v, want in [%v, %v)", d, rateWindow, rateWindow+rateJitter)
	}
	for i, d := range sl.ds[1:] {
		if ceiling := backoffBase << i; d <= 0 || d > ceiling {
			t.Errorf("backoff %d = %v, want in (0, %v]", i, d, ceiling)
		}
	}
}

func TestRetryGivesUp(t *testing.T) {
	fake, url := newFake(t)
	_, tok := fake.AddAccount(plaidfake.Account{})
	fake.Inject(tok, plaidfake.Fault{Kind: plaidfake.FaultPlaidError, Code: "INTERNAL_SERVER_ERROR"}, -1)

	t.Run("RetryMax", func(t *testing.T) {
		c := newClient(t, url, func(cfg *Config) { cfg.RetryMax = 3 })
		_, err := c.Balance(context.Background(), tok, time.Time{})
		e := asError(t, err, Transient, tok)
		if e.Code != "INTERNAL_SERVER_ERROR" || e.HTTPStatus != 500 || e.Op != "balance" || e.RequestID == "" {
			t.Errorf("error = %+v", e)
		}
		if c.Calls() != 3 || fake.Calls(tok, pathBalance) != 3 {
			t.Errorf("calls: client %d, server %d; want 3", c.Calls(), fake.Calls(tok, pathBalance))
		}
	})
	t.Run("RetryMaxElapsed", func(t *testing.T) {
		c := newClient(t, url, func(cfg *Config) { cfg.RetryMaxElapsed = time.Nanosecond })
		_, err := c.Account(context.Background(), tok)
		asError(t, err, Transient, tok)
		if c.Calls() != 1 {
			t.Errorf("calls = %d, want 1: the first backoff already exceeds the budget", c.Calls())
		}
	})
	t.Run("default budget", func(t *testing.T) {
		c := newClient(t, url, nil)
		_, err := c.Account(context.Background(), tok)
		asError(t, err, Transient, tok)
		if c.Calls() != defaultRetryMax {
			t.Errorf("calls = %d, want %d", c.Calls(), defaultRetryMax)
		}
	})
}

func TestTokenErrors(t *testing.T) {
	fake, url := newFake(t)
	_, broken := fake.AddAccount(plaidfake.Account{})
	fake.SetItemError(broken, "ITEM_LOGIN_REQUIRED")
	_, revoked := fake.AddAccount(plaidfake.Account{})
	fake.InvalidateToken(revoked)

	for _, tc := range []struct {
		name, token, code string
		newToken          bool
	}{
		{"login required", broken, "ITEM_LOGIN_REQUIRED", false},
		{"invalidated", revoked, "INVALID_PROCESSOR_TOKEN", true},
		{"never issued", "processor-sandbox-00000000-0000-0000-0000-000000000000", "INVALID_PROCESSOR_TOKEN", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, url, nil)
			_, err := c.Sync(context.Background(), tc.token, "", 500)
			e := asError(t, err, InvalidToken, tc.token)
			if e.Code != tc.code || e.HTTPStatus != 400 || !strings.HasPrefix(e.RequestID, "req-") || e.Type == "" {
				t.Errorf("error = %+v", e)
			}
			if NeedsNewToken(e.Code) != tc.newToken {
				t.Errorf("NeedsNewToken(%s) = %v", e.Code, !tc.newToken)
			}
			if c.Calls() != 1 {
				t.Errorf("calls = %d: a token error must not be retried", c.Calls())
			}
			if !strings.HasPrefix(err.Error(), "plaid sync: "+tc.code+" (400, request req-") {
				t.Errorf("Error() = %s", err)
			}
		})
	}
}

func TestMutationDuringPaginationIsNotRetried(t *testing.T) {
	fake, url := newFake(t)
	_, tok := fake.AddAccount(plaidfake.Account{})
	fake.Inject(tok, plaidfake.Fault{Kind: plaidfake.FaultPlaidError, Code: codeMutationDuringPagination}, -1)
	c := newClient(t, url, nil)
	_, err := c.Sync(context.Background(), tok, "", 500)
	asError(t, err, Transient, tok)
	if !IsMutationDuringPagination(err) {
		t.Errorf("IsMutationDuringPagination(%v) = false", err)
	}
	if c.Calls() != 1 {
		t.Errorf("calls = %d, want 1", c.Calls())
	}
}

func TestHostileResponses(t *testing.T) {
	for _, tc := range []struct {
		kind     plaidfake.FaultKind
		endpoint string
		want     []string // substrings of the error
		is       error
	}{
		{plaidfake.FaultTruncated, pathSync, []string{"malformed response from Plaid"}, nil},
		{plaidfake.FaultWrongTypes, pathSync, []string{"malformed response from Plaid", "amount"}, nil},
		{plaidfake.FaultWrongTypes, pathBalance, []string{"malformed response from Plaid", "current"}, nil},
		{plaidfake.FaultMissingFields, pathSync, []string{"no request_id"}, nil},
		{plaidfake.FaultBothCurrencies, pathSync, []string{"t-hostile", "both iso_currency_code"}, ledger.ErrCurrency},
		{plaidfake.FaultBothCurrencies, pathBalance, []string{"balances", "both iso_currency_code"}, ledger.ErrCurrency},
		{plaidfake.FaultNoCurrency, pathSync, []string{"t-hostile", "neither"}, ledger.ErrCurrency},
		{plaidfake.FaultNoCurrency, pathAccount, []string{"balances", "neither"}, ledger.ErrCurrency},
		{plaidfake.FaultUnknownCurrency, pathSync, []string{"t-hostile", `"XYZ"`}, ledger.ErrCurrency},
		{plaidfake.FaultUnknownCurrency, pathBalance, []string{`"XYZ"`}, ledger.ErrCurrency},
		{plaidfake.FaultTooPrecise, pathSync, []string{"t-hostile", "1.234", "decimal places"}, ledger.ErrPrecision},
		{plaidfake.FaultTooPrecise, pathBalance, []string{"current balance", "1.234"}, ledger.ErrPrecision},
		{plaidfake.FaultForeignAccount, pathSync, []string{"transaction t-hostile belongs to account", "not this token's account"}, nil},
		{plaidfake.FaultHasMoreEmptyCursor, pathSync, []string{"has_more with an unchanged cursor: refusing to loop"}, nil},
		{plaidfake.FaultHasMoreStuck, pathSync, []string{"has_more with an unchanged cursor: refusing to loop"}, nil},
	} {
		t.Run(path.Base(path.Dir(tc.endpoint))+"_"+faultName(tc.kind), func(t *testing.T) {
			fake, url := newFake(t)
			id, tok := fake.AddAccount(plaidfake.Account{})
			fake.AddAccount(plaidfake.Account{}) // someone else's, for FaultForeignAccount
			fake.AddTxn(plaidfake.Txn{ID: "t-hostile", AccountID: id, Amount: "12.50", Date: "2026-01-02", Name: "x"})
			c := newClient(t, url, nil)
			ctx := context.Background()
			cursor := ""
			if tc.kind == plaidfake.FaultHasMoreStuck {
				// Stuck on the first page would look like "no data yet".
				p, err := c.Sync(ctx, tok, "", 500)
				if err != nil {
					t.Fatal(err)
				}
				cursor = p.NextCursor
			}
			fake.Inject(tok, plaidfake.Fault{Endpoint: tc.endpoint, Kind: tc.kind}, -1)
			before := c.Calls()
			var err error
			switch tc.endpoint {
			case pathSync:
				_, err = c.Sync(ctx, tok, cursor, 500)
			case pathBalance:
				_, err = c.Balance(ctx, tok, time.Time{})
			case pathAccount:
				_, err = c.Account(ctx, tok)
			}
			e := asError(t, err, Fatal, tok)
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.is)
			}
			if e.HTTPStatus != 200 {
				t.Errorf("status = %d, want 200", e.HTTPStatus)
			}
			if n := c.Calls() - before; n != 1 {
				t.Errorf("calls = %d: a bad response must not be retried", n)
			}
		})
	}
}

func faultName(k plaidfake.FaultKind) string {
	return [...]string{"PlaidError", "Stall", "Truncated", "HTML502", "WrongTypes", "MissingFields",
		"BothCurrencies", "NoCurrency", "UnknownCurrency", "TooPrecise", "ForeignAccount",
		"HasMoreStuck", "HasMoreEmptyCursor", "Huge", "Endless"}[k]
}

func TestHugeBodyIsRefused(t *testing.T) {
	fake, url := newFake(t)
	_, tok := fake.AddAccount(plaidfake.Account{})
	fake.Inject(tok, plaidfake.Fault{Kind: plaidfake.FaultHuge}, -1)
	c := newClient(t, url, func(cfg *Config) { cfg.MaxBody = 1 << 20 })
	_, err := c.Sync(context.Background(), tok, "", 500)
	e := asError(t, err, Fatal, tok)
	if !strings.Contains(err.Error(), "response over 1048576 bytes") {
		t.Errorf("error = %v", err)
	}
	if c.Calls() != 1 || e.Op != "sync" {
		t.Errorf("calls = %d, op %q", c.Calls(), e.Op)
	}
}

func TestHTML502IsRetriedThenGivesUp(t *testing.T) {
	fake, url := newFake(t)
	_, tok := fake.AddAccount(plaidfake.Account{})
	fake.Inject(tok, plaidfake.Fault{Kind: plaidfake.FaultHTML502}, -1)
	c := newClient(t, url, func(cfg *Config) { cfg.RetryMax = 2 })
	_, err := c.Account(context.Background(), tok)
	e := asError(t, err, Transient, tok)
	if e.HTTPStatus != 502 || e.Code != "" || c.Calls() != 2 {
		t.Errorf("error %+v after %d calls", e, c.Calls())
	}
}

func TestEndlessPagesAreEachValid(t *testing.T) {
	fake, url := newFake(t)
	_, tok := fake.AddAccount(plaidfake.Account{})
	fake.Inject(tok, plaidfake.Fault{Kind: plaidfake.FaultEndless}, -1)
	c := newClient(t, url, nil)
	cursor := ""
	for range 3 {
		p, err := c.Sync(context.Background(), tok, cursor, 500)
		if err != nil {
			t.Fatal(err)
		}
		if !p.HasMore || p.NextCursor == cursor {
			t.Fatalf("page = %+v", p)
		}
		cursor = p.NextCursor
	}
	// Bounding the loop is the caller's job: each page on its own is legal.
}

func TestStallHonoursTimeout(t *testing.T) {
	fake, url := newFake(t)
	_, tok := fake.AddAccount(plaidfake.Account{})
	fake.Inject(tok, plaidfake.Fault{Kind: plaidfake.FaultStall, Stall: time.Minute}, 2)
	c := newClient(t, url, func(cfg *Config) { cfg.Timeout = 100 * time.Millisecond; cfg.RetryMax = 2 })
	start := time.Now()
	_, err := c.Sync(context.Background(), tok, "", 500)
	e := asError(t, err, Transient, tok)
	if elapsed := time.Since(start); elapsed < 200*time.Millisecond {
		t.Errorf("two timed-out attempts took only %v", elapsed)
	}
	if e.HTTPStatus != 0 || c.Calls() != 2 {
		t.Errorf("error %+v after %d calls", e, c.Calls())
	}
	// The stall is used up: the next call answers.
	if _, err := c.Sync(context.Background(), tok, "", 500); err != nil {
		t.Fatal(err)
	}
}

func TestCancelReturnsPromptly(t *testing.T) {
	t.Run("stalled request", func(t *testing.T) {
		fake, url := newFake(t)
		_, tok := fake.AddAccount(plaidfake.Account{})
		fake.Inject(tok, plaidfake.Fault{Kind: plaidfake.FaultStall}, -1) // until Release
		c := newClient(t, url, func(cfg *Config) { cfg.Timeout = time.Hour })
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := c.Sync(ctx, tok, "", 500)
		asError(t, err, Transient, tok)
		if !errors.Is(err, context.DeadlineExceeded) || ClassOf(err) != Transient || c.Calls() != 1 {
			t.Errorf("error %v after %d calls", err, c.Calls())
		}
	})
	t.Run("during backoff", func(t *testing.T) {
		fake, url := newFake(t)
		_, tok := fake.AddAccount(plaidfake.Account{})
		fake.Inject(tok, plaidfake.Fault{Kind: plaidfake.FaultPlaidError}, -1)
		ctx, cancel := context.WithCancel(context.Background())
		c := newClient(t, url, func(cfg *Config) {
			cfg.Sleep = func(ctx context.Context, d time.Duration) error {
				cancel() // the operator hits ^C while we wait
				return sleepCtx(ctx, time.Hour)
			}
		})
		_, err := c.Balance(ctx, tok, time.Time{})
		e := asError(t, err, Transient, tok)
		if !errors.Is(err, context.Canceled) || e.Code != "INTERNAL_SERVER_ERROR" || c.Calls() != 1 {
			t.Errorf("error %v after %d calls", err, c.Calls())
		}
	})
	t.Run("already cancelled", func(t *testing.T) {
		_, url := newFake(t)
		c := newClient(t, url, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.Account(ctx, "processor-sandbox-x")
		asError(t, err, Transient, "")
		if c.Calls() != 0 {
			t.Errorf("calls = %d, want 0", c.Calls())
		}
	})
}

// TestRateLimit: the server never sees more calls in a window than the
// limiter allows, burst + refill×window, for every window the run spans;
// with the refill set to (n − burst)/60 per second, that caps any minute at
// n. A high limit keeps the test to about three seconds; the bound it
// checks is the same at any scale.
func TestRateLimit(t *testing.T) {
	fake, url := newFake(t)
	_, tok := fake.AddAccount(plaidfake.Account{})
	const perMin, n, workers = 6000, 400, 16
	c := newClient(t, url, func(cfg *Config) { cfg.RatePerMin = perMin })
	var wg sync.WaitGroup
	calls := make(chan struct{}, n)
	for range n {
		calls <- struct{}{}
	}
	close(calls)
	for range workers {
		wg.Go(func() {
			for range calls {
				if _, err := c.Account(context.Background(), tok); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	times := fake.CallTimes()
	if len(times) != n {
		t.Fatalf("server saw %d calls, want %d", len(times), n)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	burst := float64(perMin / 60)
	refill := (perMin - burst) / 60 // per second
	// Arrival times carry a little scheduling jitter on top of the limiter's.
	const jitter = 20 * time.Millisecond
	worstPerMin := 0.0
	for i := range times {
		for j := i + 1; j < len(times); j++ {
			window := times[j].Sub(times[i])
			allowed := burst + refill*(window+jitter).Seconds()
			if got := float64(j - i + 1); got > allowed+0.5 {
				t.Fatalf("%v calls within %v, the limiter allows %.1f", got, window, allowed)
			}
		}
	}
	span := times[n-1].Sub(times[0])
	worstPerMin = float64(n-int(burst)) / span.Seconds() * 60
	t.Logf("%d calls in %v: %.0f calls/min after the burst, limit %d/min (refill %.0f/min + burst %.0f)",
		n, span.Round(time.Millisecond), worstPerMin, perMin, refill*60, burst)
	if worstPerMin > perMin {
		t.Errorf("observed %.0f calls/min, limit %d", worstPerMin, perMin)
	}
}

func TestWrongSecretIsFatalAndNotLeaked(t *testing.T) {
	fake, url := newFake(t)
	_, tok := fake.AddAccount(plaidfake.Account{})
	c := New(Config{BaseURL: url, ClientID: testClientID, Secret: testSecret + "-wrong", Sleep: (&sleeps{}).sleep})
	_, err := c.Sync(context.Background(), tok, "", 500)
	e := asError(t, err, Fatal, tok)
	if e.Code != "INVALID_API_KEYS" || c.Calls() != 1 {
		t.Errorf("error %+v after %d calls", e, c.Calls())
	}
	if strings.Contains(err.Error(), testSecret) {
		t.Errorf("error leaks the secret: %v", err)
	}
}

// The history states come through as pages: NOT_READY without an account
// and without error, then the initial and historical updates.
func TestHistoryStatesAndRequestOptions(t *testing.T) {
	fake, url := newFake(t)
	id, tok := fake.AddAccount(plaidfake.Account{Name: "Staged", Opening: "10.00", History: plaidfake.HistoryStaged})
	fake.AddTxn(plaidfake.Txn{AccountID: id, Amount: "1.00", Date: time.Now().UTC().AddDate(0, 0, -2).Format(time.DateOnly), Name: "recent"})
	fake.AddTxn(plaidfake.Txn{AccountID: id, Amount: "2.00", Date: "2025-06-01", Name: "old"})
	c := newClient(t, url, func(cfg *Config) { cfg.DaysRequested = 400 })
	ctx := context.Background()

	p, err := c.Sync(ctx, tok, "", 500)
	if err != nil || p.Account.ID != "" || p.UpdateStatus != "NOT_READY" || p.NextCursor != "" || p.HasMore ||
		len(p.Added) != 0 || p.RequestID == "" {
		t.Fatalf("NOT_READY page %+v, %v", p, err)
	}
	if o := fake.LastSyncOptions(tok); o.DaysRequested != 400 || !o.IncludeOriginalDescription || fake.DaysRequested(id) != 400 {
		t.Fatalf("options sent %+v, window %d", o, fake.DaysRequested(id))
	}

	fake.AdvanceHistory(id)
	p, err = c.Sync(ctx, tok, "", 500)
	if err != nil || p.Account.ID != id || p.UpdateStatus != "INITIAL_UPDATE_COMPLETE" || len(p.Added) != 1 ||
		p.Added[0].OriginalDescription != "RECENT" {
		t.Fatalf("INITIAL page %+v, %v", p, err)
	}
	fake.AdvanceHistory(id)
	p, err = c.Sync(ctx, tok, p.NextCursor, 500)
	if err != nil || p.UpdateStatus != "HISTORICAL_UPDATE_COMPLETE" || len(p.Added) != 1 || p.Added[0].Name != "old" {
		t.Fatalf("HISTORICAL page %+v, %v", p, err)
	}
}

func TestDaysRequestedOutOfRangeIsFatal(t *testing.T) {
	_, url := newFake(t)
	for _, days := range []int{-1, 731} {
		c := newClient(t, url, func(cfg *Config) { cfg.DaysRequested = days })
		_, err := c.Sync(context.Background(), "processor-sandbox-x", "", 500)
		if ClassOf(err) != Fatal || !strings.Contains(err.Error(), "1..730") {
			t.Errorf("days %d: %v", days, err)
		}
	}
}
