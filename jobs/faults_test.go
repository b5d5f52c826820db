package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"bankfeed/jobs"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

const syncPath = "/processor/transactions/sync"

// TestMutationDuringPaginationConverges changes the account while the
// second page of a two-page loop is in flight, in a first and in an
// incremental sync. Plaid refuses that page; the client must restart the
// whole loop from the cursor it started with, exactly once, and apply the
// new state. The page cap and a bound on the requests make a client that
// restarts from the wrong cursor (one Plaid keeps refusing) fail at once
// instead of looping until the test timeout.
func TestMutationDuringPaginationConverges(t *testing.T) {
	for _, incremental := range []bool{false, true} {
		t.Run(map[bool]string{false: "first sync", true: "incremental"}[incremental], func(t *testing.T) {
			e := newEnv(t)
			// A correct client fetches two loops of two pages; a loop that
			// needs more than four is going the wrong way.
			e.runner.MaxPages = 4
			chk, tok := seedChecking(e) // 12 transactions: two pages of 7
			e.put("biz1", tok)
			if incremental {
				e.run("all")
				for i := range 12 {
					e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "1.01", Date: "2026-11-" + two(i+1), Name: "later"})
				}
			}
			base := e.srv.Calls(tok, syncPath)
			e.srv.Inject(tok, plaidfake.Fault{Endpoint: syncPath, Kind: plaidfake.FaultStall}, 2)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			type outcome struct {
				sum jobs.Summary
				err error
			}
			done := make(chan outcome, 1)
			go func() {
				sum, err := e.runner.Run(ctx, "all")
				done <- outcome{sum, err}
			}()
			e.waitCalls(tok, base+1)
			e.srv.Release() // the first page
			e.waitCalls(tok, base+2)
			// The second page is in flight: the world changes under the loop.
			e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "3.21", Date: "2026-10-28", Name: "mid-loop"})
			e.srv.Release()

			const maxCalls = 20
			var a outcome
			for waiting := true; waiting; {
				select {
				case a = <-done:
					waiting = false
				case <-time.After(time.Millisecond):
					if e.srv.Calls(tok, syncPath)-base > maxCalls {
						cancel() // a client stuck restarting: stop it rather than wait for the test timeout
					}
				}
			}
			calls := e.srv.Calls(tok, syncPath) - base
			if a.err != nil {
				t.Fatalf("run after %d sync requests: %v", calls, a.err)
			}
			r := result(t, a.sum, e.token(tok).ID)
			if r.Outcome != "synced" || r.LoopRestarts != 1 {
				t.Fatalf("%s with %d loop restart(s), want synced with exactly 1", r.Outcome, r.LoopRestarts)
			}
			if calls != 4 {
				t.Fatalf("%d sync requests, want 4: a page, the refused page, then the whole loop again", calls)
			}
			// Twelve plus the mid-loop one, and nothing the ledger already held.
			if r.Applied.Added != 13 || r.Applied.Unchanged != 0 {
				t.Fatalf("applied %+v, want 13 added: the loop restarts from the cursor of the last complete sync", r.Applied)
			}
			e.checkExact(chk)
		})
	}
}

func TestTransientErrorsAreRetriedNotFlagged(t *testing.T) {
	e := newEnv(t)
	chk, tok := seedChecking(e)
	e.put("biz1", tok)
	e.srv.Inject(tok, plaidfake.Fault{Endpoint: syncPath, Kind: plaidfake.FaultPlaidError, Code: "TRANSACTIONS_SYNC_LIMIT"}, 1)
	e.srv.Inject(tok, plaidfake.Fault{Endpoint: syncPath, Kind: plaidfake.FaultPlaidError, Code: "INTERNAL_SERVER_ERROR"}, 1)
	sum := e.run("all")
	if sum.Counts["synced"] != 1 || sum.Counts["flagged"] != 0 {
		t.Fatalf("counts %v", sum.Counts)
	}
	e.checkExact(chk)
	toks, _ := e.store.Tokens(context.Background(), store.TokenFilter{})
	if toks[0].Status != store.StatusActive {
		t.Fatalf("token %s after transient errors", toks[0].Status)
	}
}

func TestInvalidTokensFlagOnlyThemselves(t *testing.T) {
	e := newEnv(t)
	chk, good := seedChecking(e)
	_, login := e.srv.AddAccount(plaidfake.Account{Type: "depository", Subtype: "savings", Opening: "10.00"})
	_, dead := e.srv.AddAccount(plaidfake.Account{Type: "credit", Subtype: "credit card", Opening: "0"})
	e.srv.SetItemError(login, "ITEM_LOGIN_REQUIRED")
	e.srv.InvalidateToken(dead)
	e.put("biz1", good, login, dead)
	sum := e.run("all") // no error: flagged tokens are reported, not failures
	if sum.Counts["synced"] != 1 || sum.Counts["flagged"] != 2 {
		t.Fatalf("counts %v", sum.Counts)
	}
	e.checkExact(chk)
	byHint := map[string]store.Token{}
	toks, _ := e.store.Tokens(context.Background(), store.TokenFilter{})
	for _, tk := range toks {
		byHint[tk.Hint] = tk
	}
	lt, dt := byHint[login[len(login)-4:]], byHint[dead[len(dead)-4:]]
	if lt.Reason != "ITEM_LOGIN_REQUIRED" || lt.NextProbeAt == nil || lt.FlagRequestID == "" {
		t.Errorf("login token: %+v", lt)
	}
	if dt.Reason != "INVALID_PROCESSOR_TOKEN" || dt.NextProbeAt != nil {
		t.Errorf("dead token: %+v", dt)
	}
	// Flagged tokens are not called again until re-put or probed healthy.
	calls := e.srv.Calls(dead, syncPath) + e.srv.Calls(login, syncPath)
	e.run("all")
	if got := e.srv.Calls(dead, syncPath) + e.srv.Calls(login, syncPath); got != calls {
		t.Fatalf("flagged tokens called again: %d -> %d", calls, got)
	}
}

func TestProbeReactivatesRepairedLogin(t *testing.T) {
	e := newEnv(t)
	chk, tok := seedChecking(e)
	e.put("biz1", tok)
	e.run("all")
	e.srv.SetItemError(tok, "ITEM_LOGIN_REQUIRED")
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "8.00", Date: "2026-11-02", Name: "while broken"})
	e.run("all")
	if tk, _ := e.store.Tokens(context.Background(), store.TokenFilter{}); tk[0].Status != store.StatusNeedsRefresh {
		t.Fatalf("status %s", tk[0].Status)
	}
	e.srv.SetItemError(tok, "") // the owner repairs the login in Link update mode
	e.now = e.now.Add(time.Hour)
	e.run("all")
	if tk, _ := e.store.Tokens(context.Background(), store.TokenFilter{}); tk[0].Status != store.StatusNeedsRefresh {
		t.Fatal("probed before its interval")
	}
	e.now = e.now.Add(6 * time.Hour)
	sum := e.run("all")
	if sum.Counts["synced"] != 1 {
		t.Fatalf("counts %v", sum.Counts)
	}
	if sum.Results[0].Applied.Added != 1 {
		t.Fatalf("did not carry on from its cursor: %+v", sum.Results[0].Applied)
	}
	e.checkExact(chk)
}

func TestRotationContinuesTheLedger(t *testing.T) {
	e := newEnv(t)
	chk, a := e.srv.AddAccount(plaidfake.Account{Type: "depository", Subtype: "checking", Opening: "5000.00"})
	for i := 0; i < 300; i++ {
		e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "1.25", Date: "2026-09-15", Name: "x"})
	}
	e.runner.PageSize = 100
	e.put("biz1", a)
	e.run("all")
	e.checkExact(chk)
	before := e.balances()[chk]
	e.srv.InvalidateToken(a)
	e.run("all")
	// While A was dead one transaction vanished and one arrived.
	gone := e.srv.Txns(chk)[0].ID
	e.srv.RemoveTxn(gone)
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "2.00", Date: "2026-11-01", Name: "new"})
	b := e.srv.NewToken(chk)
	e.put("biz1", b) // A dropped
	sum := e.run("all")
	e.checkExact(chk)
	after := e.balances()[chk]
	if after.PostedCount != before.PostedCount || after.Opening != before.Opening {
		t.Fatalf("posted %d -> %d, opening %d -> %d", before.PostedCount, after.PostedCount, before.Opening, after.Opening)
	}
	if a := sum.Results[0].Applied; a.Unchanged != 299 || a.Swept != 1 || a.Posted != 1 {
		t.Fatalf("rotation applied %+v", a)
	}
}

func TestConcurrentRunsDoNotDouble(t *testing.T) {
	e := newEnv(t, plaidfake.WithLatency(5*time.Millisecond))
	chk, tok := seedChecking(e)
	e.put("biz1", tok)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := *e.runner // a second process would have its own runner
			_, errs[i] = r.Run(context.Background(), "all")
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	e.checkExact(chk)
}
