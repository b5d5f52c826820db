package plaidapi

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"bankfeed/plaidfake"
)

// fakeTime is the fake's clock; sleeping moves it, so a rate-limit wait
// costs the test nothing and still opens the fake's next window.
type fakeTime struct {
	mu sync.Mutex
	t  time.Time
	ds []time.Duration
}

func (f *fakeTime) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeTime) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
	f.ds = append(f.ds, d)
	return ctx.Err()
}

func limitedFake(t *testing.T, retryAfter bool) (*plaidfake.Server, *fakeTime, string) {
	ft := &fakeTime{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	fake := plaidfake.New(plaidfake.WithCredentials(testClientID, testSecret), plaidfake.WithClock(ft.now),
		plaidfake.WithRateLimit(1, 30*time.Second, retryAfter))
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, ft, srv.URL
}

func TestRateLimitWaitsOutTheWindow(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter bool
		lo, hi     time.Duration
	}{
		// The fake's window is 30 s: Retry-After says so, and the client
		// waits that (plus under a second of jitter).
		{"Retry-After", true, 30 * time.Second, 31 * time.Second},
		// Without the header the client assumes Plaid's minute.
		{"per-minute window", false, rateWindow, rateWindow + rateJitter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, ft, url := limitedFake(t, tc.retryAfter)
			_, tok := fake.AddAccount(plaidfake.Account{})
			// A tight budget for fast retries does not cut the waits short.
			c := newClient(t, url, func(cfg *Config) { cfg.Sleep = ft.sleep; cfg.RetryMax = 1; cfg.RetryMaxElapsed = time.Nanosecond })
			ctx := context.Background()
			for i := range 3 {
				if _, err := c.Sync(ctx, tok, "", 500); err != nil {
					t.Fatalf("sync %d: %v", i, err)
				}
			}
			if len(ft.ds) != 2 || fake.Calls(tok, pathSync) != 5 {
				t.Fatalf("waits %v, server calls %d; want 2 waits and 5 calls", ft.ds, fake.Calls(tok, pathSync))
			}
			for _, d := range ft.ds {
				if d < tc.lo || d >= tc.hi {
					t.Errorf("waited %v, want in [%v, %v)", d, tc.lo, tc.hi)
				}
			}
		})
	}
}

func TestRateLimitWaitsHaveTheirOwnAllowance(t *testing.T) {
	fake, url := newFake(t)
	_, tok := fake.AddAccount(plaidfake.Account{})
	limit := plaidfake.Fault{Endpoint: pathSync, Kind: plaidfake.FaultPlaidError, Code: "TRANSACTIONS_SYNC_LIMIT"}

	fake.Inject(tok, limit, maxRateWaits)
	var sl sleeps
	c := newClient(t, url, func(cfg *Config) { cfg.Sleep = sl.sleep; cfg.RetryMax = 2 })
	if _, err := c.Sync(context.Background(), tok, "", 500); err != nil || len(sl.ds) != maxRateWaits || maxRateWaits < 3 {
		t.Fatalf("after %d refusals: %v, waits %v", maxRateWaits, err, sl.ds)
	}

	fake.Inject(tok, limit, -1)
	defer fake.ClearFaults()
	c = newClient(t, url, nil)
	_, err := c.Sync(context.Background(), tok, "", 500)
	if e := asError(t, err, Transient, tok); e.Code != "TRANSACTIONS_SYNC_LIMIT" || c.Calls() != maxRateWaits+1 {
		t.Fatalf("a limit that never lifts: %+v after %d calls", e, c.Calls())
	}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	for h, want := range map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		" 120 ":                         2 * time.Minute,
		"-3":                            0,
		"soon":                          0,
		"Thu, 03 Dec 2026 09:00:42 GMT": 42 * time.Second,
		"Thu, 03 Dec 2026 08:00:00 GMT": 0,
	} {
		if got := retryAfter(h, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", h, got, want)
		}
	}
	if _, ok := rateWait(maxRetryAfter+time.Second, 0); ok {
		t.Error("a Retry-After beyond the cap is waited for")
	}
}

// Plaid adds codes without notice: the error_type decides.
func TestUnknownCodesThroughTheClient(t *testing.T) {
	for _, tc := range []struct {
		typ   string
		want  Class
		calls int64
	}{
		{"ITEM_ERROR", InvalidToken, 1},
		{"INSTITUTION_ERROR", Transient, defaultRetryMax},
		{"API_ERROR", Transient, defaultRetryMax},
		{"INVALID_REQUEST", Fatal, 1},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			fake, url := newFake(t)
			_, tok := fake.AddAccount(plaidfake.Account{})
			fake.Inject(tok, plaidfake.Fault{Kind: plaidfake.FaultPlaidError, Code: "BRAND_NEW_CODE", Type: tc.typ}, -1)
			c := newClient(t, url, nil)
			_, err := c.Sync(context.Background(), tok, "", 500)
			e := asError(t, err, tc.want, tok)
			if e.Code != "BRAND_NEW_CODE" || e.Type != tc.typ || c.Calls() != tc.calls {
				t.Errorf("error %+v after %d calls", e, c.Calls())
			}
			// The runner probes flagged tokens unless a new token is needed.
			if NeedsNewToken(e.Code) {
				t.Error("an unknown item code would never be probed")
			}
		})
	}
}

// Beyond 2^53 minor units a float64 cannot be trusted to the cent.
func TestAmountsBeyondFloatPrecisionAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name, amount, opening string
		ok                    bool
	}{
		{"transaction at 2^53", "90071992547409.92", "0.00", true},
		{"transaction beyond 2^53", "90071992547410.00", "0.00", false},
		{"negative transaction beyond 2^53", "-90071992547410.00", "0.00", false},
		{"balance beyond 2^53", "1.00", "90071992547411.00", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, url := newFake(t)
			id, tok := fake.AddAccount(plaidfake.Account{Opening: tc.opening})
			fake.AddTxn(plaidfake.Txn{AccountID: id, Amount: tc.amount, Date: "2026-11-02", Name: "big"})
			c := newClient(t, url, nil)
			p, err := c.Sync(context.Background(), tok, "", 500)
			if tc.ok {
				if err != nil || p.Added[0].Amount.Minor != 1<<53 {
					t.Fatalf("%+v, %v", p.Added, err)
				}
				return
			}
			e := asError(t, err, Fatal, tok)
			if !strings.Contains(e.Message, "beyond 2^53") || p.NextCursor != "" {
				t.Errorf("error %q, page %+v", e.Message, p)
			}
			if strings.HasPrefix(tc.name, "balance") {
				_, err := c.Balance(context.Background(), tok, time.Time{})
				if e := asError(t, err, Fatal, tok); !strings.Contains(e.Message, "beyond 2^53") {
					t.Errorf("balance: %v", err)
				}
			}
		})
	}
}

func TestBalanceOptionsAndCapitalOne(t *testing.T) {
	ft := &fakeTime{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	fake := plaidfake.New(plaidfake.WithCredentials(testClientID, testSecret), plaidfake.WithClock(ft.now))
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	_, tok := fake.AddAccount(plaidfake.Account{Type: "credit", Subtype: "credit card", Opening: "12.00", InstitutionID: "ins_128026"})
	c := newClient(t, srv.URL, nil)
	ctx := context.Background()

	_, err := c.Balance(ctx, tok, time.Time{})
	if e := asError(t, err, Fatal, tok); e.Code != "INVALID_FIELD" {
		t.Fatalf("without min_last_updated_datetime: %+v", e)
	}
	a, err := c.Balance(ctx, tok, ft.now().Add(-24*time.Hour))
	if err != nil || !a.LastUpdated.Equal(ft.now()) || a.LastUpdated.Location() != time.UTC || *a.Current != 1200 {
		t.Fatalf("Capital One balance %+v, %v", a, err)
	}
	_, err = c.Balance(ctx, tok, ft.now().Add(time.Minute))
	if e := asError(t, err, Fatal, tok); e.Code != "LAST_UPDATED_DATETIME_OUT_OF_RANGE" {
		t.Fatalf("too old: %+v", e)
	}
	a, err = c.Account(ctx, tok)
	if err != nil || a.InstitutionID != "ins_128026" || a.LastUpdated.IsZero() {
		t.Fatalf("account %+v, %v", a, err)
	}

	// Null balances stay nil; elsewhere LastUpdated stays zero.
	_, nc := fake.AddAccount(plaidfake.Account{Opening: "3.00", NullCurrent: true})
	a, err = c.Balance(ctx, nc, time.Time{})
	if err != nil || a.Current != nil || a.Available == nil || *a.Available != 300 || !a.LastUpdated.IsZero() {
		t.Fatalf("null current: %+v, %v", a, err)
	}
}
