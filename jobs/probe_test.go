package jobs_test

import (
	"testing"
	"time"

	"bankfeed/jobs"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

const accountPath = "/processor/account/get"

// plaidCalls counts every request the fake has seen for a token, on every
// endpoint the jobs use.
func (e *env) plaidCalls(tok string) int {
	return e.srv.Calls(tok, syncPath) + e.srv.Calls(tok, accountPath) + e.srv.Calls(tok, "/processor/balance/get")
}

// result finds a token's result in a run's summary.
func result(t *testing.T, sum jobs.Summary, tokenID int64) jobs.TokenResult {
	t.Helper()
	for _, r := range sum.Results {
		if r.TokenID == tokenID {
			return r
		}
	}
	t.Fatalf("token %d has no result in run %s: %v", tokenID, sum.Job, sum.Counts)
	return jobs.TokenResult{}
}

// TestProbeJobEndToEnd drives the probe job alone (`--run-once --job
// probe`) through the life of two flagged tokens: a login the owner
// repairs, which is left alone until its probe interval has passed and
// then reactivated, and a revoked token, which only a new token can fix
// and which is never called again. The repaired token's next sync carries
// on from its cursor.
func TestProbeJobEndToEnd(t *testing.T) {
	e := newEnv(t)
	interval := e.runner.ProbeInterval
	chk, login := seedChecking(e)
	sav, dead := e.srv.AddAccount(plaidfake.Account{Name: "Savings", Type: "depository", Subtype: "savings", ISOCurrency: "USD", Opening: "10.00"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: sav, Amount: "1.00", Date: "2026-10-02", Name: "fee"})
	e.put("biz1", login, dead)
	if sum := e.run("all"); sum.Counts["synced"] != 2 {
		t.Fatalf("first run: %v", sum.Counts)
	}
	e.checkExact(chk, sav)
	cursor := e.token(login).Cursor
	if cursor == "" {
		t.Fatal("no cursor after the first sync")
	}

	e.srv.SetItemError(login, "ITEM_LOGIN_REQUIRED")
	e.srv.InvalidateToken(dead)
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "8.00", Date: "2026-11-02", Name: "while broken"})
	flaggedAt := e.now
	if sum := e.run("sync"); sum.Counts["flagged"] != 2 {
		t.Fatalf("flagging run: %v", sum.Counts)
	}
	lt, dt := e.token(login), e.token(dead)
	if lt.Status != store.StatusNeedsRefresh || lt.Reason != "ITEM_LOGIN_REQUIRED" || lt.NextProbeAt == nil ||
		!lt.NextProbeAt.Equal(flaggedAt.Add(interval)) {
		t.Fatalf("login token after flagging: %+v (want a probe at %s)", lt, flaggedAt.Add(interval))
	}
	if dt.Status != store.StatusNeedsRefresh || dt.Reason != "INVALID_PROCESSOR_TOKEN" || dt.NextProbeAt != nil {
		t.Fatalf("revoked token after flagging: %+v (want no probe)", dt)
	}
	if lt.Cursor != cursor {
		t.Fatal("flagging moved the cursor")
	}

	// The owner repairs the login in Link update mode.
	e.srv.SetItemError(login, "")
	loginCalls, deadCalls := e.plaidCalls(login), e.plaidCalls(dead)

	// Before the interval the probe job calls Plaid for neither token.
	e.now = flaggedAt.Add(interval - time.Second)
	sum := e.run("probe")
	if got := e.plaidCalls(login); got != loginCalls {
		t.Fatalf("login token probed %d time(s) before its interval", got-loginCalls)
	}
	if sum.Counts["reactivated"] != 0 || e.token(login).Status != store.StatusNeedsRefresh {
		t.Fatalf("reactivated before its interval: %v", sum.Counts)
	}

	// Past the interval the probe finds the login healthy again.
	e.now = flaggedAt.Add(interval + time.Second)
	sum = e.run("probe")
	if sum.Counts["reactivated"] != 1 {
		t.Fatalf("probe past the interval: %v", sum.Counts)
	}
	if got := e.srv.Calls(login, accountPath); got == 0 {
		t.Fatal("reactivated without asking Plaid")
	}
	lt = e.token(login)
	if lt.Status != store.StatusActive || lt.Reason != "" || lt.NextProbeAt != nil || lt.FlaggedAt != nil {
		t.Fatalf("login token after the probe: %+v", lt)
	}
	if lt.Cursor != cursor {
		t.Fatal("the probe moved the cursor")
	}

	// The revoked token is never probed, however long it waits.
	e.now = flaggedAt.Add(30 * 24 * time.Hour)
	e.run("probe")
	if got := e.plaidCalls(dead); got != deadCalls {
		t.Fatalf("revoked token called %d time(s) by the probe job", got-deadCalls)
	}
	if dt := e.token(dead); dt.Status != store.StatusNeedsRefresh || dt.Reason != "INVALID_PROCESSOR_TOKEN" {
		t.Fatalf("revoked token after probes: %+v", dt)
	}

	// The next sync carries on from the cursor: only what arrived while
	// the login was broken is new.
	sum = e.run("sync")
	r := result(t, sum, lt.ID)
	if r.Outcome != "synced" || r.Applied.Added != 1 || r.Applied.Unchanged != 0 {
		t.Fatalf("sync after the repair did not carry on from its cursor: %s %+v", r.Outcome, r.Applied)
	}
	if got := e.plaidCalls(dead); got != deadCalls {
		t.Fatalf("revoked token called %d time(s) by the sync", got-deadCalls)
	}
	e.checkExact(chk)
}

// A login that is still broken when its probe comes stays flagged and is
// not probed again until another interval has passed.
func TestProbeOfStillBrokenLoginWaitsAnotherInterval(t *testing.T) {
	e := newEnv(t)
	interval := e.runner.ProbeInterval
	_, tok := seedChecking(e)
	e.put("biz1", tok)
	e.srv.SetItemError(tok, "ITEM_LOGIN_REQUIRED")
	flaggedAt := e.now
	if sum := e.run("sync"); sum.Counts["flagged"] != 1 {
		t.Fatalf("flagging run: %v", sum.Counts)
	}

	e.now = flaggedAt.Add(interval + time.Minute)
	calls := e.plaidCalls(tok)
	sum := e.run("probe")
	if sum.Counts["still_flagged"] != 1 || e.plaidCalls(tok) == calls {
		t.Fatalf("probe of a still broken login: %v, %d call(s)", sum.Counts, e.plaidCalls(tok)-calls)
	}
	tk := e.token(tok)
	if tk.Status != store.StatusNeedsRefresh || tk.Reason != "ITEM_LOGIN_REQUIRED" || tk.NextProbeAt == nil ||
		!tk.NextProbeAt.Equal(e.now.Add(interval)) {
		t.Fatalf("after the failed probe: %+v (want the next probe at %s)", tk, e.now.Add(interval))
	}

	calls = e.plaidCalls(tok)
	e.now = e.now.Add(interval - time.Minute)
	e.run("probe")
	if got := e.plaidCalls(tok); got != calls {
		t.Fatalf("probed again %d time(s) within the interval", got-calls)
	}
}
