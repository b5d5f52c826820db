package jobs_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"bankfeed/jobs"
	"bankfeed/plaidapi"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

func (e *env) token(hint string) store.Token {
	e.t.Helper()
	toks, err := e.store.Tokens(context.Background(), store.TokenFilter{IncludeRemoved: true})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, t := range toks {
		if len(hint) >= 4 && t.Hint == hint[len(hint)-4:] {
			return t
		}
	}
	e.t.Fatalf("no token ending %s", hint)
	return store.Token{}
}

// Plaid adds error codes without a new API version: a code bankfeed has
// never seen is classified by its error_type. An ITEM_ERROR flags only its
// token with Plaid's code (exit 0) and the probe job tries it later; an
// INSTITUTION_ERROR fails only its token (exit 1) with nothing written,
// and the next run converges.
func TestUnknownErrorCodes(t *testing.T) {
	e := newEnv(t)
	a, ta := seedChecking(e)
	b, tb := e.srv.AddAccount(plaidfake.Account{Name: "Savings", ISOCurrency: "USD", Opening: "10.00"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: b, Amount: "1.00", Date: "2026-11-01", Name: "fee"})
	c, tc := e.srv.AddAccount(plaidfake.Account{Name: "Card", Type: "credit", Subtype: "credit card", ISOCurrency: "USD", Opening: "5.00"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: c, Amount: "2.00", Date: "2026-11-02", Name: "coffee"})
	e.put("biz1", ta, tb, tc)

	e.srv.Inject(ta, plaidfake.Fault{Endpoint: syncPath, Kind: plaidfake.FaultPlaidError, Code: "ITEM_SOMETHING_NEW", Type: "ITEM_ERROR"}, -1)
	sum, err := e.runner.Run(context.Background(), jobs.JobAll)
	if err != nil {
		t.Fatalf("an unknown ITEM_ERROR failed the run: %v", err)
	}
	if sum.Counts["flagged"] != 1 || sum.Counts["synced"] != 2 {
		t.Fatalf("counts %v", sum.Counts)
	}
	flagged := e.token(ta)
	if flagged.Status != store.StatusNeedsRefresh || flagged.Reason != "ITEM_SOMETHING_NEW" || flagged.NextProbeAt == nil {
		t.Fatalf("flagged token %+v", flagged)
	}
	e.checkExact(b, c)
	e.srv.ClearFaults()

	// An unknown INSTITUTION_ERROR is transient: only its token fails.
	e.srv.AddTxn(plaidfake.Txn{AccountID: b, Amount: "2.00", Date: "2026-11-03", Name: "fee 2"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: c, Amount: "3.00", Date: "2026-11-03", Name: "tea"})
	before, _ := e.store.Journal(context.Background())
	curB := e.token(tb).Cursor
	e.srv.Inject(tb, plaidfake.Fault{Endpoint: syncPath, Kind: plaidfake.FaultPlaidError, Code: "INSTITUTION_SOMETHING_NEW", Type: "INSTITUTION_ERROR"}, -1)
	e.now = e.now.Add(time.Hour)
	sum, err = e.runner.Run(context.Background(), jobs.JobSync)
	if !errors.Is(err, jobs.ErrTokensFailed) {
		t.Fatalf("run error %v, want ErrTokensFailed (exit 1)", err)
	}
	if sum.Counts["failed"] != 1 || sum.Counts["synced"] != 1 {
		t.Fatalf("counts %v", sum.Counts)
	}
	failed := e.token(tb)
	if failed.Status != store.StatusActive || failed.Cursor != curB {
		t.Fatalf("failed token %+v", failed)
	}
	after, _ := e.store.Journal(context.Background())
	if len(after) != len(before)+1 { // only the card's tea
		t.Fatalf("the run posted %d entries, want 1", len(after)-len(before))
	}
	e.checkExact(c)

	// The institution recovers: the next run converges; the probe finds the
	// flagged token healthy once its owner repaired it.
	e.srv.ClearFaults()
	e.now = e.now.Add(7 * time.Hour)
	sum = e.run(jobs.JobAll)
	if sum.Counts["failed"] != 0 {
		t.Fatalf("counts %v", sum.Counts)
	}
	if e.token(ta).Status != store.StatusActive {
		t.Fatalf("the probe did not reactivate %+v", e.token(ta))
	}
	e.checkExact(a, b, c)
}

// clock is a test clock that Plaid's retry waits move, shared by the
// fake, the client and the store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return nil
}

// Rate limits are per Item and per minute. An Item that needs more calls
// than its limit waits out the window instead of failing: nothing is
// flagged, nothing failed, nothing lost.
func TestRateLimitedItem(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	for _, retryAfter := range []bool{false, true} {
		t.Run(map[bool]string{false: "window", true: "retry-after"}[retryAfter], func(t *testing.T) {
			e := newEnv(t, plaidfake.WithClock(clk.Now), plaidfake.WithRateLimit(2, time.Minute, retryAfter))
			e.store.Now = clk.Now
			busy, tokBusy := seedChecking(e) // 12 transactions: 2 pages of 7
			for i := range 20 {
				e.srv.AddTxn(plaidfake.Txn{AccountID: busy, Amount: "1.00", Date: "2026-10-" + two(i%28+1), Name: "more"})
			}
			quiet, tokQuiet := e.srv.AddAccount(plaidfake.Account{Name: "Quiet", ISOCurrency: "USD", Opening: "3.00"})
			e.srv.AddTxn(plaidfake.Txn{AccountID: quiet, Amount: "1.00", Date: "2026-11-01", Name: "x"})
			e.put("biz1", tokBusy)
			e.put("biz2", tokQuiet)
			hs := httptest.NewServer(e.srv)
			t.Cleanup(hs.Close)
			e.runner = &jobs.Runner{Store: e.store, Log: zerolog.New(io.Discard), Concurrency: 4, PageSize: 7, Now: clk.Now,
				Plaid: plaidapi.New(plaidapi.Config{BaseURL: hs.URL, ClientID: "cid", Secret: "sec", Timeout: 5 * time.Second,
					RetryMax: 5, RetryMaxElapsed: 10 * time.Minute, Sleep: clk.Sleep})}
			start := clk.Now()
			sum := e.run(jobs.JobAll)
			if sum.Counts["synced"] != 2 || sum.Counts["flagged"] != 0 || sum.Counts["failed"] != 0 {
				t.Fatalf("counts %v", sum.Counts)
			}
			if pages := e.srv.Calls(tokBusy, syncPath); pages < 5 {
				t.Fatalf("the busy Item made %d sync calls; the test needs more than its limit", pages)
			}
			if waited := clk.Now().Sub(start); waited < time.Minute {
				t.Fatalf("the limited Item waited %v in all, less than its window", waited)
			}
			e.now = clk.Now()
			e.checkExact(busy, quiet)
		})
	}
}
