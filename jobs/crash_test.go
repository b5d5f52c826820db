package jobs_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"bankfeed/jobs"
	"bankfeed/plaidapi"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

// TestMain lets the test binary double as a bankfeed run in a child
// process, so that crash tests can kill a real process with SIGKILL.
func TestMain(m *testing.M) {
	if db := os.Getenv("BANKFEED_CRASH_CHILD_DB"); db != "" {
		os.Exit(childRun(db, os.Getenv("BANKFEED_CRASH_CHILD_URL"), os.Getenv("BANKFEED_CRASH_CHILD_NOW")))
	}
	os.Exit(m.Run())
}

// childRun is one bankfeed run on the parent's clock: the doctor replays
// updates in the order of their commit times, so a child and its parent
// must not record times from two different clocks.
func childRun(db, url, now string) int {
	ctx := context.Background()
	at, err := time.Parse(time.RFC3339Nano, now)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	st, err := store.Open(ctx, db, testKey, store.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer st.Close()
	st.Now = func() time.Time { return at }
	r := &jobs.Runner{Store: st, Log: zerolog.New(io.Discard), Concurrency: 2, PageSize: 5, Now: st.Now,
		Plaid: plaidapi.New(plaidapi.Config{BaseURL: url, ClientID: "cid", Secret: "sec", Timeout: time.Minute})}
	if _, err := r.Run(ctx, "all"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// killAfter starts a child run and SIGKILLs it while it waits on a stalled
// page, once the token has made `calls` sync calls.
func (e *env) killAfter(tok string, calls int) {
	e.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = e.childEnv()
	base := e.srv.Calls(tok, syncPath)
	if calls == 0 {
		e.srv.Inject(tok, plaidfake.Fault{Endpoint: syncPath, Kind: plaidfake.FaultStall}, 1)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	waitCalls := func(n int) {
		for e.srv.Calls(tok, syncPath)-base < n && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	if calls > 0 {
		waitCalls(calls)
		e.srv.Inject(tok, plaidfake.Fault{Endpoint: syncPath, Kind: plaidfake.FaultStall}, 1)
	}
	waitCalls(calls + 1) // the stalled request has arrived: the child is mid-loop
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	e.srv.ClearFaults()
	e.srv.Release()
}

func (e *env) childEnv() []string {
	return append(os.Environ(), "BANKFEED_CRASH_CHILD_DB="+e.store.Path(), "BANKFEED_CRASH_CHILD_URL="+e.http.URL,
		"BANKFEED_CRASH_CHILD_NOW="+e.now.Format(time.RFC3339Nano))
}

// killPoints is how many kills the torture test makes per phase; set
// BANKFEED_KILL_POINTS for a longer run.
func killPoints() int {
	if n, err := strconv.Atoi(os.Getenv("BANKFEED_KILL_POINTS")); err == nil && n > 0 {
		return n
	}
	return 5
}

// killAtRandom starts a child run and kills it after a random delay: the
// kill may land in a page request, while logging a page, or inside the
// transaction that applies the update.
func (e *env) killAtRandom(rng *rand.Rand) {
	e.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = e.childEnv()
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	time.Sleep(time.Duration(rng.IntN(40_000)) * time.Microsecond)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// TestKilledMidSyncConverges kills real bankfeed processes with SIGKILL at
// many points of an initial sync and of incremental syncs with adds,
// modifies, removes and pending -> posted; after every kill the next run
// must converge on the server's truth to the minor unit.
func TestKilledMidSyncConverges(t *testing.T) {
	e := newEnv(t, plaidfake.WithLatency(10*time.Millisecond))
	rng := rand.New(rand.NewPCG(7, 11))
	chk, tok := e.srv.AddAccount(plaidfake.Account{Type: "depository", Subtype: "checking", Opening: "900.00"})
	card, ktok := e.srv.AddAccount(plaidfake.Account{Type: "credit", Subtype: "credit card", Opening: "120.00"})
	var ids []string
	for i := 0; i < 23; i++ {
		ids = append(ids, e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: fmt.Sprintf("%d.%02d", i, i), Date: "2026-10-01", Name: "t"}))
		e.srv.AddTxn(plaidfake.Txn{AccountID: card, Amount: fmt.Sprintf("%d.5", i), Date: "2026-10-01", Name: "c"})
	}
	var pend []string
	for i := 0; i < 6; i++ {
		pend = append(pend, e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "9.99", Date: "2026-10-02", Name: "p", Pending: true}))
	}
	// A new Item: not ready, then its recent days, then the rest of its
	// history, one step per round; the kills land in each state.
	stg, stok := e.srv.AddAccount(plaidfake.Account{Type: "depository", Subtype: "savings", Opening: "300.00", History: plaidfake.HistoryStaged})
	for i := 0; i < 12; i++ {
		e.srv.AddTxn(plaidfake.Txn{AccountID: stg, Amount: fmt.Sprintf("%d.25", i), Date: e.day(3 + 9*i), Name: "s", LateHistory: i == 1})
	}
	e.put("biz1", tok, ktok, stok)
	e.runner.PageSize = 5
	kills := 0
	exact := []string{chk, card}
	converge := func() {
		t.Helper()
		e.run("all")
		e.checkExact(exact...)
		state := e.srv.HistoryState(stg)
		b, synced := e.balances()[stg]
		switch {
		case state == "NOT_READY" && synced:
			t.Fatalf("a not-ready account has a ledger: %+v", b)
		case state == "INITIAL_UPDATE_COMPLETE" && (!synced || b.Anchored):
			t.Fatalf("at INITIAL_UPDATE_COMPLETE: synced %v, %+v", synced, b)
		}
	}
	// Initial sync: killed on a stalled page at each position of the loop,
	// then converged. The stall is injected once call k has arrived; a fast
	// child may already be past it, so the kill point is "at or after k".
	for k := 0; k < 5; k++ {
		e.killAfter(tok, k)
		kills++
	}
	converge()
	for round := 0; round < 3; round++ {
		if round < 2 {
			e.srv.AdvanceHistory(stg)
		} else {
			exact = append(exact, stg)
		}
		// Every kind of change, then kills at stalled pages and at random.
		e.srv.ModifyTxn(ids[rng.IntN(len(ids))], func(t *plaidfake.Txn) { t.Amount = fmt.Sprintf("%d.00", 100+rng.IntN(50)) })
		e.srv.ModifyTxn(ids[rng.IntN(len(ids))], func(t *plaidfake.Txn) { t.Name = "renamed" })
		victim := ids[len(ids)-1]
		ids = ids[:len(ids)-1]
		e.srv.RemoveTxn(victim)
		e.srv.PostPending(pend[0], plaidfake.Txn{AccountID: chk, Amount: "11.99", Date: "2026-10-04", Name: "p+tip"}, round%2 == 0)
		pend = pend[1:]
		for i := 0; i < 8; i++ {
			ids = append(ids, e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "1.00", Date: "2026-10-05", Name: "new"}))
			e.srv.AddTxn(plaidfake.Txn{AccountID: card, Amount: "-3.00", Date: "2026-10-05", Name: "refund"})
		}
		e.killAfter(tok, round%2)
		kills++
		converge()
		for k := 0; k < killPoints(); k++ {
			e.srv.AddTxn(plaidfake.Txn{AccountID: card, Amount: "2.22", Date: "2026-10-06", Name: "k"})
			// One in, one out: any number of kill points has a
			// transaction to remove.
			ids = append(ids, e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "0.42", Date: "2026-10-06", Name: "k"}))
			e.srv.RemoveTxn(ids[0])
			ids = ids[1:]
			e.killAtRandom(rng)
			kills++
			converge()
		}
	}
	// The customer re-links the checking account: the successor's first
	// sync (matching the copied history, posting the rest) is killed at
	// stalled pages and at random, and still converges on one ledger
	// account for the pair, equal to the bank, each transaction once.
	newChk, ntok := e.srv.Relink(chk, 0)
	e.srv.AddTxn(plaidfake.Txn{AccountID: newChk, Amount: "7.77", Date: "2026-10-07", Name: "after relink"})
	e.put("biz1", ntok, ktok, stok)
	for k := 0; k < 3; k++ {
		e.killAfter(ntok, k)
		kills++
	}
	e.killAtRandom(rng)
	kills++
	exact = []string{newChk, card, stg}
	converge()
	if _, ok := e.balances()[chk]; ok {
		t.Fatalf("the replaced checking account still has a ledger row of its own")
	}
	if a := e.accountsByID()[chk]; deref(a.ReplacedBy) != newChk {
		t.Fatalf("checking after the re-link: %+v", a)
	}
	e.doctorOK()
	if kills < 20 {
		t.Fatalf("only %d kill points", kills)
	}
	t.Logf("%d kill points survived", kills)
	if n := countUpdates(t, e, "open"); n != 0 {
		t.Fatalf("%d updates left open after the last run", n)
	}
}

func countUpdates(t *testing.T, e *env, state string) int {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Clean(e.store.Path()), testKey, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := st.CountUpdates(context.Background(), state)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
