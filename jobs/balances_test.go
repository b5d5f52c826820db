package jobs_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"bankfeed/api"
	"bankfeed/jobs"
	"bankfeed/ledger"
	"bankfeed/plaidfake"
)

// snapshotCount counts an account's stored balance snapshots of a source.
func (e *env) snapshotCount(plaidAccountID, source string) int {
	e.t.Helper()
	db, err := sql.Open("sqlite3", "file:"+e.store.Path()+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM balance_snapshots s JOIN accounts a ON a.id = s.account_id
		WHERE a.plaid_account_id = ? AND s.source = ?`, plaidAccountID, source).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// Daily real-time balances on a Capital One card: the request carries
// min_last_updated_datetime (Plaid refuses one without it with
// INVALID_FIELD), a token gets at most one paid call per UTC day and none
// in the run of its first sync, and the real-time balance never moves the
// opening, which stays on the sync's own balances.
func TestCapitalOneDailyBalance(t *testing.T) {
	e := newClockEnv(t, plaidfake.WithPulls())
	e.now = time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	card, tok := e.srv.AddAccount(plaidfake.Account{Name: "Venture", Type: "credit", Subtype: "credit card", ISOCurrency: "USD",
		Opening: "120.00", InstitutionID: "ins_128026"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: card, Amount: "30.00", Date: e.day(3), Name: "Fuel"})
	e.srv.PullAll()
	e.put("biz1", tok)
	e.runner.RealtimeBalances = jobs.RealtimeDaily

	calls := func() int { return e.srv.Calls(tok, balanceGet) }
	e.run("all")
	if calls() != 0 {
		t.Fatalf("%d real-time calls in the run of the first sync", calls())
	}
	e.srv.AddTxn(plaidfake.Txn{AccountID: card, Amount: "40.00", Date: e.day(0), Name: "After the pull"})
	// inFlight reconciles: the ledger is compared with the pull-consistent
	// balance (ok), and the real-time one is shown beside it as in flight.
	inFlight := func(when string) {
		t.Helper()
		r, st := e.reconcileStatus()
		if st[card] != ledger.StatusOK || len(r.Accounts) != 1 {
			t.Fatalf("%s: reconcile %v", when, st)
		}
		if a := r.Accounts[0]; a.InFlight == nil || *a.InFlight != 4000 || a.RealtimeCurrent == nil || *a.RealtimeCurrent != 19000 {
			t.Fatalf("%s: in flight %v, real-time %v; want 40.00 and 190.00", when, a.InFlight, a.RealtimeCurrent)
		}
	}
	for _, job := range []string{jobs.JobAll, jobs.JobBalances, jobs.JobAll} {
		e.now = e.now.Add(4 * time.Hour)
		e.run(job)
		if job == jobs.JobBalances {
			inFlight("right after the real-time call")
		}
	}
	if calls() != 1 || e.snapshotCount(card, "realtime") != 1 {
		t.Fatalf("one day: %d real-time calls, %d real-time snapshots; want 1 and 1", calls(), e.snapshotCount(card, "realtime"))
	}
	// The real-time balance already holds the 40.00 that sync has not
	// delivered: it is kept beside the ledger, never anchored on.
	e.wantLedger(card, "150.00", "120.00")
	accts, err := api.ListAccounts(context.Background(), e.store, "")
	if err != nil || len(accts) != 1 {
		t.Fatalf("accounts list: %v %d", err, len(accts))
	}
	if a := accts[0]; deref1(a.CurrentBalance) != "150.00" || deref1(a.RealtimeBalance) != "190.00" || deref1(a.InFlight) != "40.00" {
		t.Fatalf("accounts list: current %s, real-time %s, in flight %s; want 150.00, 190.00, 40.00",
			deref1(a.CurrentBalance), deref1(a.RealtimeBalance), deref1(a.InFlight))
	}

	inFlight("after a sync without a new pull")

	e.now = time.Date(2026, 11, 27, 0, 30, 0, 0, time.UTC)
	e.run(jobs.JobBalances)
	e.run(jobs.JobBalances)
	if calls() != 2 {
		t.Fatalf("two days: %d real-time calls, want 2", calls())
	}
	e.srv.PullAll()
	e.run(jobs.JobSync)
	e.wantLedger(card, "190.00", "120.00")
	// The pull caught up with the bank: nothing is in flight any more.
	if accts, _ = api.ListAccounts(context.Background(), e.store, ""); accts[0].InFlight != nil {
		t.Fatalf("in flight %s after the pull", *accts[0].InFlight)
	}
	if e.liveOpenings(card) != 1 {
		t.Fatalf("%d live openings", e.liveOpenings(card))
	}
}

// With the default (off), the balances job makes no Plaid call at all.
func TestRealtimeBalancesOff(t *testing.T) {
	e := newEnv(t)
	chk, tok := seedChecking(e)
	e.put("biz1", tok)
	e.run(jobs.JobAll)
	e.now = e.now.Add(24 * time.Hour)
	e.run(jobs.JobBalances)
	e.run(jobs.JobAll)
	if n := e.srv.Calls(tok, balanceGet); n != 0 {
		t.Fatalf("%d real-time calls with BANKFEED_REALTIME_BALANCES off", n)
	}
	if n := e.snapshotCount(chk, "sync"); n != 2 {
		t.Fatalf("%d sync snapshots after two syncs", n)
	}
}

// LAST_UPDATED_DATETIME_OUT_OF_RANGE means the institution has no balance
// as fresh as asked today: no snapshot, no flag, no failure.
func TestRealtimeOutOfRangeIsNoBalanceToday(t *testing.T) {
	e := newEnv(t)
	chk, tok := seedChecking(e)
	e.put("biz1", tok)
	e.runner.RealtimeBalances = jobs.RealtimeDaily
	e.run(jobs.JobAll)
	e.srv.Inject(tok, plaidfake.Fault{Endpoint: balanceGet, Kind: plaidfake.FaultPlaidError, Code: "LAST_UPDATED_DATETIME_OUT_OF_RANGE"}, 1)
	e.now = e.now.Add(time.Hour)
	sum := e.run(jobs.JobBalances)
	if sum.Counts["synced"] != 1 || sum.Counts["flagged"] != 0 || sum.Counts["failed"] != 0 {
		t.Fatalf("counts %v", sum.Counts)
	}
	if n := e.snapshotCount(chk, "realtime"); n != 0 {
		t.Fatalf("%d real-time snapshots from a refused call", n)
	}
	e.wantStatus(chk, ledger.StatusOK)
}
