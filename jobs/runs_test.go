package jobs_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"bankfeed/jobs"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

// runs reads the run history, oldest first.
func (e *env) runs() []store.JobRun {
	e.t.Helper()
	var out []store.JobRun
	if err := e.store.EachRun(context.Background(), func(r store.JobRun) error {
		out = append([]store.JobRun{r}, out...)
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// A run of all records one run per job it ran (sync, balances,
// reconcile), each with its own outcome: one token failing of three makes
// the sync partial, the failing and the flagged token are named by hint
// (never the token) with Plaid's code, and the counts say what the sync
// took in.
func TestRunOfAllRecordsEachJob(t *testing.T) {
	e := newEnv(t)
	_, ta := seedChecking(e)
	b, tb := e.srv.AddAccount(plaidfake.Account{Name: "Savings", ISOCurrency: "USD", Opening: "10.00"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: b, Amount: "1.00", Date: "2026-11-01", Name: "fee"})
	_, tc := e.srv.AddAccount(plaidfake.Account{Name: "Card", Type: "credit", Subtype: "credit card", ISOCurrency: "USD", Opening: "5.00"})
	e.put("biz1", ta, tb, tc)
	e.srv.Inject(tb, plaidfake.Fault{Endpoint: syncPath, Kind: plaidfake.FaultPlaidError, Code: "INTERNAL_SERVER_ERROR", Type: "API_ERROR"}, -1)
	e.srv.SetItemError(tc, "ITEM_LOGIN_REQUIRED")
	e.runner.Reconcile = jobs.ReconcileFunc(e.store, t.TempDir(), nil, func() time.Time { return e.now })

	sum, err := e.runner.Run(context.Background(), jobs.JobAll)
	if !errors.Is(err, jobs.ErrTokensFailed) {
		t.Fatalf("run: %v, want ErrTokensFailed", err)
	}
	if sum.Job != jobs.JobAll || sum.Counts["synced"] != 1 || sum.Counts["failed"] != 1 || sum.Counts["flagged"] != 1 || sum.Report == nil {
		t.Fatalf("summary %+v", sum)
	}
	runs := e.runs()
	var jobsRun []string
	for _, r := range runs {
		jobsRun = append(jobsRun, r.Job+"="+r.Status)
		if r.FinishedAt == nil {
			t.Errorf("run %s of %s has no finish", r.ID, r.Job)
		}
	}
	if got := strings.Join(jobsRun, " "); got != "sync=partial balances=ok reconcile=ok" {
		t.Fatalf("runs recorded: %s", got)
	}
	s := runs[0]
	if s.Counts["tokens"] != 3 || s.Counts["added"] != 12 || s.Counts["errors"] != 1 || s.Counts["pages"] < 2 {
		t.Fatalf("sync counts %v", s.Counts)
	}
	if len(s.Detail.Tokens) != 2 {
		t.Fatalf("sync detail %+v, want the failed and the flagged token", s.Detail)
	}
	for _, rt := range s.Detail.Tokens {
		want := map[string]string{"failed": tb, "flagged": tc}[rt.Outcome]
		if want == "" || rt.TokenHint != want[len(want)-4:] || rt.BusinessID != "biz1" {
			t.Errorf("token in detail %+v", rt)
		}
		for _, secret := range []string{ta, tb, tc} {
			if strings.Contains(rt.Error, secret) || strings.Contains(rt.TokenHint, secret) {
				t.Errorf("detail carries a token: %+v", rt)
			}
		}
	}
	if rt := s.Detail.Tokens; rt[0].ErrorCode == "" || rt[1].ErrorCode == "" {
		t.Errorf("detail lacks Plaid's codes: %+v", rt)
	}
	_, files, err := e.store.Run(context.Background(), runs[2].ID)
	if err != nil || len(files) != 3 {
		t.Fatalf("the reconcile run's report files: %v %v", files, err)
	}

	// Every token failing is a failed run, not a partial one.
	e.srv.Inject(ta, plaidfake.Fault{Endpoint: syncPath, Kind: plaidfake.FaultPlaidError, Code: "INTERNAL_SERVER_ERROR", Type: "API_ERROR"}, -1)
	if _, err := e.runner.Run(context.Background(), jobs.JobSync); !errors.Is(err, jobs.ErrTokensFailed) {
		t.Fatalf("second run: %v", err)
	}
	if runs = e.runs(); runs[len(runs)-1].Status != store.RunFailed {
		t.Fatalf("all tokens failing: %s, want failed", runs[len(runs)-1].Status)
	}
}

// A run whose process died leaves its row unfinished; the next run, which
// holds the run lock, marks it interrupted.
func TestUnfinishedRunsAreInterrupted(t *testing.T) {
	e := newEnv(t)
	_, ta := seedChecking(e)
	e.put("biz1", ta)
	if err := e.store.StartRun(context.Background(), "killed", jobs.JobSync); err != nil {
		t.Fatal(err)
	}
	e.run(jobs.JobSync)
	r, _, err := e.store.Run(context.Background(), "killed")
	if err != nil || r.Status != store.RunInterrupted || r.FinishedAt != nil {
		t.Fatalf("killed run: %+v %v", r, err)
	}
}
