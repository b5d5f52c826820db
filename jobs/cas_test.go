package jobs_test

import (
	"context"
	"testing"
	"time"

	"bankfeed/jobs"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

// waitCalls waits until the fake has seen n sync requests of the token.
func (e *env) waitCalls(tok string, n int) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.srv.Calls(tok, syncPath) < n {
		if time.Now().After(deadline) {
			e.t.Fatalf("sync request %d of the token never arrived (%d seen)", n, e.srv.Calls(tok, syncPath))
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRacingSyncsApplyOnce races two syncs of one token. Run A fetches an
// update of two pages and stalls on the second; meanwhile the bank changes
// a transaction of that update and removes another, and run B syncs the
// token to the end. When A is released its update is stale: applying it
// would re-post the removed transaction and put back the old amount, and
// move the cursor back. The cursor compare-and-swap at apply must make A
// apply nothing.
//
// B runs without the run lock (RunWithoutLock), so that A's lock does not
// hold it off: any caller that syncs outside Runner.Run leaves the
// compare-and-swap as the only guard.
func TestRacingSyncsApplyOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	chk, tok := seedChecking(e)
	e.put("biz1", tok)
	e.run("all") // anchors the opening
	e.checkExact(chk)

	stB, err := store.Open(ctx, e.store.Path(), testKey, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stB.Close() })
	stB.Now = e.store.Now
	runB := *e.runner
	runB.Store = stB

	// Eight new transactions: two pages of seven.
	var ids []string
	for i := range 8 {
		ids = append(ids, e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "1.11", Date: "2026-11-" + two(i+1), Name: "new"}))
	}
	// A's second page is answered as of the loop's start even though the
	// bank has moved on: Plaid does not always notice a mutation during
	// pagination, and the same window opens whenever the change lands
	// after A's last page and before A's apply.
	e.srv.SetMutationDuringPagination(false)
	e.srv.Inject(tok, plaidfake.Fault{Endpoint: syncPath, Kind: plaidfake.FaultStall}, 2)
	base := e.srv.Calls(tok, syncPath)
	type outcome struct {
		sum jobs.Summary
		err error
	}
	doneA := make(chan outcome, 1)
	go func() {
		sum, err := e.runner.Run(ctx, "sync")
		doneA <- outcome{sum, err}
	}()
	e.waitCalls(tok, base+1)
	e.srv.Release() // A's first page
	e.waitCalls(tok, base+2)

	// A's second page is in flight.
	e.srv.ModifyTxn(ids[0], func(t *plaidfake.Txn) { t.Amount = "2.22" })
	e.srv.RemoveTxn(ids[1])
	sumB, err := runB.RunWithoutLock(ctx, "sync")
	if err != nil {
		t.Fatalf("run B: %v", err)
	}
	if r := result(t, sumB, e.token(tok).ID); r.Outcome != "synced" || r.Applied.Posted != 7 {
		t.Fatalf("run B: %s %+v", r.Outcome, r.Applied)
	}
	e.checkExact(chk)
	cursorB := e.token(tok).Cursor
	before, err := e.store.Journal(ctx)
	if err != nil {
		t.Fatal(err)
	}

	e.srv.Release() // A's stale second page
	a := <-doneA
	if a.err != nil {
		t.Fatalf("run A: %v", a.err)
	}
	if r := result(t, a.sum, e.token(tok).ID); r.Applied != (jobs.ApplyCounts{}) {
		t.Errorf("run A applied a stale update: %+v", r.Applied)
	}
	after, err := e.store.Journal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("run A posted %d entries after run B", len(after)-len(before))
	}
	if e.token(tok).Cursor != cursorB {
		t.Error("run A moved the cursor back")
	}
	e.checkExact(chk)

	// The next sync finds nothing new.
	e.srv.SetMutationDuringPagination(true)
	if r := result(t, e.run("sync"), e.token(tok).ID); r.Applied.Posted+r.Applied.Reversed != 0 {
		t.Fatalf("sync after the race changed the ledger: %+v", r.Applied)
	}
	e.checkExact(chk)
}

// A token removed (business put without it) while its sync is in flight
// gets nothing of that sync written: its cursor has not moved, so only the
// status check of the compare-and-swap stands between the two.
func TestTokenRemovedDuringSyncAppliesNothing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	chk, tok := seedChecking(e)
	e.put("biz1", tok)
	e.run("all")
	e.checkExact(chk)
	id, cursor := e.token(tok).ID, e.token(tok).Cursor
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "9.99", Date: "2026-11-03", Name: "in flight"})
	before, err := e.store.Journal(ctx)
	if err != nil {
		t.Fatal(err)
	}

	e.srv.Inject(tok, plaidfake.Fault{Endpoint: syncPath, Kind: plaidfake.FaultStall}, 1)
	base := e.srv.Calls(tok, syncPath)
	done := make(chan jobs.Summary, 1)
	go func() {
		sum, err := e.runner.Run(ctx, "sync")
		if err != nil {
			t.Errorf("run: %v", err)
		}
		done <- sum
	}()
	e.waitCalls(tok, base+1)
	if _, err := e.store.PutTokens(ctx, "biz1", "sandbox", nil, false); err != nil {
		t.Fatal(err)
	}
	e.srv.Release()
	sum := <-done
	if r := result(t, sum, id); r.Applied != (jobs.ApplyCounts{}) {
		t.Errorf("the removed token's update was applied: %+v", r.Applied)
	}
	after, err := e.store.Journal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("%d entries posted for a removed token", len(after)-len(before))
	}
	toks, err := e.store.Tokens(ctx, store.TokenFilter{IncludeRemoved: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 1 || toks[0].Status != store.StatusRemoved || toks[0].Cursor != cursor {
		t.Errorf("removed token after the run: %+v", toks)
	}
}
