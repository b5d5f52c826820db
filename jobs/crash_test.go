package jobs_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
		os.Exit(childRun(db, os.Getenv("BANKFEED_CRASH_CHILD_URL")))
	}
	os.Exit(m.Run())
}

func childRun(db, url string) int {
	ctx := context.Background()
	st, err := store.Open(ctx, db, testKey, store.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer st.Close()
	r := &jobs.Runner{Store: st, Log: zerolog.New(io.Discard), Concurrency: 2, PageSize: 5,
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
	cmd.Env = append(os.Environ(), "BANKFEED_CRASH_CHILD_DB="+e.store.Path(), "BANKFEED_CRASH_CHILD_URL="+e.http.URL)
	base := e.srv.Calls(tok, syncPath)
	if calls == 0 {
		e.srv.Inject(tok, plaidfake.Fault{Endpoint: syncPath, Kind: plaidfake.FaultStall}, 1)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
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

func TestKilledMidSyncConverges(t *testing.T) {
	e := newEnv(t, plaidfake.WithLatency(2*time.Millisecond))
	chk, tok := e.srv.AddAccount(plaidfake.Account{Type: "depository", Subtype: "checking", Opening: "900.00"})
	var ids []string
	for i := 0; i < 23; i++ {
		ids = append(ids, e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: fmt.Sprintf("%d.%02d", i, i), Date: "2026-10-01", Name: "t"}))
	}
	pend := e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "9.99", Date: "2026-10-02", Name: "p", Pending: true})
	e.put("biz1", tok)
	e.runner.PageSize = 5
	// Initial sync: killed at the first page and in the middle of the loop.
	for _, k := range []int{0, 2, 4} {
		e.killAfter(tok, k)
	}
	if n := countUpdates(t, e, "applied"); n != 0 {
		t.Fatalf("a killed run applied %d updates", n)
	}
	e.run("all")
	e.checkExact(chk)
	// Incremental sync with every kind of change, killed mid-loop.
	e.srv.ModifyTxn(ids[1], func(t *plaidfake.Txn) { t.Amount = "100.00" })
	e.srv.ModifyTxn(ids[2], func(t *plaidfake.Txn) { t.Name = "renamed" })
	e.srv.RemoveTxn(ids[3])
	e.srv.PostPending(pend, plaidfake.Txn{AccountID: chk, Amount: "11.99", Date: "2026-10-04", Name: "p+tip"}, true)
	for i := 0; i < 8; i++ {
		e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "1.00", Date: "2026-10-05", Name: "new"})
	}
	for _, k := range []int{0, 1} {
		e.killAfter(tok, k)
	}
	e.run("all")
	e.checkExact(chk)
	if n := countUpdates(t, e, "applied"); n != 2 {
		t.Fatalf("applied updates = %d, want 2 (one per surviving run)", n)
	}
	if n := countUpdates(t, e, "abandoned"); n < 5 {
		t.Fatalf("abandoned updates = %d, want one per kill", n)
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
