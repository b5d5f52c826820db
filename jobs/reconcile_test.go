package jobs_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"bankfeed/jobs"
	"bankfeed/ledger"
	"bankfeed/plaidfake"
	"bankfeed/report"
	"bankfeed/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// recEnv is env plus a report folder, with the store on the same injected
// clock as the runner so that every recorded time is the test's.
type recEnv struct {
	*env
	dir  string
	n    int
	last report.Report // the newest report reconcile returned
}

func newRecEnv(t *testing.T) *recEnv {
	t.Helper()
	e := newEnv(t)
	e.store.Now = func() time.Time { return e.now }
	return &recEnv{env: e, dir: t.TempDir()}
}

func (e *recEnv) advance(d time.Duration) { e.now = e.now.Add(d) }

func (e *recEnv) reconcileDate(date string) (report.Report, []string, error) {
	e.n++
	return jobs.Reconcile(context.Background(), e.store, jobs.ReconcileOptions{Date: date, Dir: e.dir, Location: time.UTC,
		Now: func() time.Time { return e.now }, RunID: fmt.Sprintf("rec-%d", e.n)})
}

// reconcile runs today's reconciliation and returns its JSON file, read
// back; a break is expected only when wantBreak is set, and any other
// error fails the test.
func (e *recEnv) reconcile(wantBreak bool) report.Document {
	e.t.Helper()
	r, paths, err := e.reconcileDate("")
	if wantBreak != errors.Is(err, jobs.ErrBreak) {
		e.t.Fatalf("reconcile: err = %v, want break %v", err, wantBreak)
	}
	if err != nil && !errors.Is(err, jobs.ErrBreak) {
		e.t.Fatalf("reconcile: %v", err)
	}
	if len(paths) != 3 {
		e.t.Fatalf("reconcile wrote %v", paths)
	}
	e.last = r
	return readDocument(e.t, paths[0])
}

// readDocument reads a report's JSON file.
func readDocument(t *testing.T, path string) report.Document {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d report.Document
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// chartOf is an account's chart in the newest report.
func (e *recEnv) chartOf(id string) []report.ChartPoint {
	for _, a := range e.last.Accounts {
		if a.AccountID == id {
			return a.Chart
		}
	}
	e.t.Fatalf("account %s not in the report", id)
	return nil
}

func acct(t *testing.T, r report.Document, id string) report.DocAccount {
	t.Helper()
	for _, a := range r.Accounts {
		if a.AccountID == id {
			return a
		}
	}
	t.Fatalf("account %s not in the report", id)
	return report.DocAccount{}
}

func wantStatus(t *testing.T, r report.Document, id string, want ledger.Status, diff string) report.DocAccount {
	t.Helper()
	a := acct(t, r, id)
	if a.Status != want {
		t.Errorf("%s: status %s, want %s (difference %v)", id, a.Status, want, deref(a.Difference))
	}
	if diff != "" && deref(a.Difference) != diff {
		t.Errorf("%s: difference %s, want %s", id, deref(a.Difference), diff)
	}
	return a
}

func deref(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func allOK(t *testing.T, r report.Document) {
	t.Helper()
	if !r.Valid {
		t.Errorf("report invalid: %v", r.Problems)
	}
	for _, a := range r.Accounts {
		if a.Status != ledger.StatusOK || deref(a.Difference) != ledger.Format(0, mustCur(t, a.Currency)) {
			t.Errorf("%s: status %s difference %s, want ok", a.AccountID, a.Status, deref(a.Difference))
		}
	}
	if r.Summary.OK != r.Summary.Accounts || r.Summary.Accounts == 0 {
		t.Errorf("summary %+v", r.Summary)
	}
}

func mustCur(t *testing.T, code string) ledger.Currency {
	c, err := ledger.ISO(code)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func openingCheck(t *testing.T, r report.Document, id string) report.DocOpeningCheck {
	t.Helper()
	for _, c := range r.OpeningChecks {
		if c.AccountID == id {
			return c
		}
	}
	t.Fatalf("no opening check for %s", id)
	return report.DocOpeningCheck{}
}

func TestReconcileOpeningAnchors(t *testing.T) {
	e := newRecEnv(t)
	// Checking reports 1,000.00 after a 200.00 spend and a 50.00 refund: it opened at 1,150.00.
	chk, ctok := e.srv.AddAccount(plaidfake.Account{ID: "chk", Name: "Checking", Type: "depository", Subtype: "checking", ISOCurrency: "USD", Opening: "1150.00"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "200.00", Date: "2026-11-02", Name: "Supplies"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "-50.00", Date: "2026-11-03", Name: "Refund"})
	// The card owes 300.00 after 400.00 of purchases and a 250.00 payment: it opened at 150.00.
	card, ktok := e.srv.AddAccount(plaidfake.Account{ID: "card", Name: "Card", Type: "credit", Subtype: "credit card", ISOCurrency: "USD", Opening: "150.00", Limit: "5000.00"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: card, Amount: "400.00", Date: "2026-11-04", Name: "Office"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: card, Amount: "-250.00", Date: "2026-11-05", Name: "Payment"})
	e.put("biz1", ctok, ktok)
	e.run("all")

	for run := 1; run <= 2; run++ {
		r := e.reconcile(false)
		allOK(t, r)
		c, k := acct(t, r, chk), acct(t, r, card)
		if c.OpeningBalance != "1150.00" || c.LedgerBalance != "1000.00" || deref(c.ReportedCurrent) != "1000.00" {
			t.Errorf("run %d: checking %+v", run, c)
		}
		if k.OpeningBalance != "150.00" || k.LedgerBalance != "300.00" || deref(k.ReportedCurrent) != "300.00" {
			t.Errorf("run %d: card %+v", run, k)
		}
		if oc := openingCheck(t, r, chk); oc.Live != 1 || oc.Versions != 1 || !oc.OK {
			t.Errorf("run %d: opening check %+v", run, oc)
		}
		e.advance(time.Hour)
		e.run("all") // anchored once: another run must not re-derive it
	}

	// Older history arrives late: the bank's balance already included it.
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "30.00", Date: "2026-10-15", Name: "Old fee"})
	e.srv.AdjustBalance(chk, "30.00")
	if got := e.srv.Current(chk); got != "1000.00" {
		t.Fatalf("server current %s", got)
	}
	e.advance(time.Hour)
	e.run("all")
	for run := 1; run <= 2; run++ {
		r := e.reconcile(false)
		allOK(t, r)
		if c := acct(t, r, chk); c.OpeningBalance != "1180.00" || c.LedgerBalance != "1000.00" {
			t.Errorf("after late history: checking %+v", c)
		}
		if oc := openingCheck(t, r, chk); oc.Live != 1 || oc.Versions != 2 || oc.Version != 2 || !oc.OK {
			t.Errorf("after late history: opening check %+v", oc)
		}
		e.advance(time.Hour)
		e.run("all")
	}
	entries, err := e.store.Journal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var openings, reversals []string
	for _, en := range entries {
		if en.AccountID != chk {
			continue
		}
		switch {
		case en.Kind == ledger.KindOpening:
			openings = append(openings, en.ID)
		case en.Kind == ledger.KindReversal && strings.HasPrefix(en.Reverses, "open:"):
			reversals = append(reversals, en.ID)
		}
	}
	if len(openings) != 2 || len(reversals) != 1 {
		t.Fatalf("checking openings %v, reversed %v: want two versions, one reversed", openings, reversals)
	}
	e.checkExact(chk, card)
}

func TestReconcileOKAfterWorldChanges(t *testing.T) {
	e := newRecEnv(t)
	chk, tok := seedChecking(e.env)
	pend := e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "40.00", Date: "2026-11-20", Name: "Diner", Pending: true})
	pend2 := e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "15.00", Date: "2026-11-10", Name: "Gas", Pending: true})
	hold := e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "100.00", Date: "2026-10-20", Name: "Hotel hold", Pending: true})
	e.put("biz1", tok)
	e.run("all")
	r := e.reconcile(false)
	allOK(t, r)
	a := acct(t, r, chk)
	if a.PendingCount != 3 || a.PendingTotal != "-155.00" || len(a.Pending) != 3 {
		t.Fatalf("pending %d %s %+v", a.PendingCount, a.PendingTotal, a.Pending)
	}
	// 2026-10-20 (Tue) to 2026-11-26 (Thu): 27 business days, an anomaly;
	// 2026-11-10 to 2026-11-26: 12, aged; 2026-11-20 (Fri): 4, fresh.
	for i, want := range []struct {
		days          int
		aged, anomaly bool
	}{{27, true, true}, {12, true, false}, {4, false, false}} {
		p := a.Pending[i]
		if p.AgeBusinessDays != want.days || p.Aged != want.aged || p.Anomaly != want.anomaly {
			t.Errorf("pending %d (%s %s): %+v, want %+v", i, p.Date, p.Name, p, want)
		}
	}

	var posted []string
	for _, tx := range e.srv.Txns(chk) {
		if !tx.Pending {
			posted = append(posted, tx.ID)
		}
	}
	e.advance(time.Hour)
	e.srv.ModifyTxn(posted[0], func(t *plaidfake.Txn) { t.Amount = "13.34" })
	e.srv.ModifyTxn(posted[1], func(t *plaidfake.Txn) { t.Name = "Renamed deposit" })
	e.srv.ModifyTxn(posted[2], func(t *plaidfake.Txn) { t.Date = "2026-10-30" })
	e.srv.RemoveTxn(posted[3])
	e.srv.PostPending(pend, plaidfake.Txn{AccountID: chk, Amount: "48.00", Date: "2026-11-22", Name: "Diner + tip"}, true)
	e.srv.PostPending(pend2, plaidfake.Txn{AccountID: chk, Amount: "15.00", Date: "2026-11-12", Name: "Gas"}, false)
	e.srv.RemoveTxn(hold)
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "5.55", Date: "2026-11-25", Name: "New"})
	e.run("all")
	r = e.reconcile(false)
	allOK(t, r)
	e.checkExact(chk)
	if a := acct(t, r, chk); a.PendingCount != 0 || a.PendingTotal != "0.00" {
		t.Errorf("pending left: %+v", a)
	}
	// The hold that vanished and the pending posted without a link are
	// listed; the linked one is not.
	var names []string
	for _, h := range r.VanishedHolds {
		names = append(names, h.Name)
	}
	if strings.Join(names, ",") != "Hotel hold,Gas" && strings.Join(names, ",") != "Gas,Hotel hold" {
		t.Errorf("vanished holds %v, want Hotel hold and Gas", names)
	}
	if len(r.Suspense) != 1 || r.Suspense[0].BusinessID != "biz1" || r.Suspense[0].OldestDate == "" {
		t.Errorf("suspense %+v", r.Suspense)
	}
	// Both reconciliations were on one day: the chart draws that day once,
	// with the later run's balances.
	if c := e.chartOf(chk); len(c) != 1 || c[0].Date != "2026-11-26" || c[0].Ledger != e.last.Accounts[0].Ledger {
		t.Errorf("chart %+v, want one point for 2026-11-26 with the last run's ledger %d", c, e.last.Accounts[0].Ledger)
	}
}

func TestReconcileBalanceMovedIsTimingThenBreak(t *testing.T) {
	e := newRecEnv(t)
	chk, tok := seedChecking(e.env)
	e.put("biz1", tok)
	e.run("all")
	allOK(t, e.reconcile(false))

	// The bank's balance moves with nothing in the feed, beside a real purchase.
	e.advance(time.Hour)
	e.srv.AdjustBalance(chk, "-25.00")
	e.srv.AddTxn(plaidfake.Txn{ID: "tx_coffee", AccountID: chk, Amount: "5.55", Date: "2026-11-26", Name: "Coffee", MerchantName: "Cafe"})
	e.run("all")
	r := e.reconcile(false)
	a := wantStatus(t, r, chk, ledger.StatusTiming, "-25.00")
	if len(a.Candidates) != 1 || a.Candidates[0].TransactionID != "tx_coffee" || a.Candidates[0].Amount != "-5.55" || a.Candidates[0].Source != "journal" {
		t.Errorf("candidates %+v", a.Candidates)
	}
	if r.Summary.Timing != 1 || r.Headline.Status != "timing" {
		t.Errorf("summary %+v, headline %+v", r.Summary, r.Headline)
	}

	// Next run, through the runner's hook: the same difference is a break,
	// the run fails with ErrBreak and the counts say so.
	e.advance(time.Hour)
	e.runner.Reconcile = jobs.ReconcileFunc(e.store, e.dir, time.UTC, func() time.Time { return e.now })
	sum, err := e.runner.Run(context.Background(), jobs.JobAll)
	if !errors.Is(err, jobs.ErrBreak) {
		t.Fatalf("run err = %v, want ErrBreak", err)
	}
	if sum.Report["break"] != 1 || sum.Report["accounts"] != 1 || sum.Report["invalid"] != 0 {
		t.Fatalf("runner counts %v", sum.Report)
	}
	// The reconcile run did its job: its outcome is ok, the break is in
	// its counts and error text (a break is not a failed run).
	var last store.JobRun
	if err := e.store.EachRun(context.Background(), func(r store.JobRun) error {
		if last.ID == "" {
			last = r
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if last.Job != jobs.JobReconcile || last.Status != store.RunOK || last.Counts["report_break"] != 1 || !strings.Contains(last.Error, "break") {
		t.Fatalf("reconcile run recorded as %s %s %v %q", last.Job, last.Status, last.Counts, last.Error)
	}
	r = readDocument(t, filepath.Join(e.dir, "reconciliation-2026-11-26.json"))
	a = wantStatus(t, r, chk, ledger.StatusBreak, "-25.00")
	if len(a.Candidates) != 1 || a.Candidates[0].TransactionID != "tx_coffee" {
		t.Errorf("break candidates %+v", a.Candidates)
	}
	// The page leads with the break and its candidate, above the quiet
	// ledger-checks line.
	if r.Headline.Status != "break" || r.Headline.Text != "1 account does not reconcile: the same difference on successive balances" {
		t.Errorf("headline %+v", r.Headline)
	}
	page, err := os.ReadFile(filepath.Join(e.dir, "reconciliation-2026-11-26.html"))
	if err != nil {
		t.Fatal(err)
	}
	hl, checks, action := bytes.Index(page, []byte(`class="headline hl-break"`)), bytes.Index(page, []byte(`<p class="checks">Ledger checks passed`)),
		bytes.Index(page, []byte(`id="needs-action"`))
	if hl < 0 || checks < hl || action < checks || !bytes.Contains(page[action:], []byte("Coffee")) {
		t.Errorf("the page does not lead with the break (headline at %d, checks at %d, needs action at %d)", hl, checks, action)
	}
	if deref(a.DifferenceSince) != "2026-11-26T13:00:00Z" {
		t.Errorf("difference since %s", deref(a.DifferenceSince))
	}
}

func TestReconcileDuplicateEntryIsTimingThenBreak(t *testing.T) {
	e := newRecEnv(t)
	chk, tok := seedChecking(e.env)
	e.put("biz1", tok)
	e.run("all")
	allOK(t, e.reconcile(false))

	e.advance(time.Hour)
	var victim plaidfake.Txn
	for _, tx := range e.srv.Txns(chk) {
		if tx.Amount == "99.99" {
			victim = tx
		}
	}
	usd := mustCur(t, "USD")
	minor, _ := ledger.ParseAmount(victim.Amount, usd)
	dup, err := ledger.PostTransaction(chk, victim.ID, 1, victim.Date, ledger.Money{Minor: minor, Currency: usd})
	if err != nil {
		t.Fatal(err)
	}
	dup.ID = "dup:" + dup.ID
	acctID := e.balances()[chk].AccountID
	if err := e.store.Update(context.Background(), func(tx *store.Tx) error { return tx.PostEntry("biz1", acctID, dup, 0) }); err != nil {
		t.Fatal(err)
	}
	e.run("all")
	r := e.reconcile(false)
	a := wantStatus(t, r, chk, ledger.StatusTiming, "99.99")
	found := false
	for _, c := range a.Candidates {
		found = found || (c.EntryID == dup.ID && c.Amount == "-99.99")
	}
	if !found {
		t.Errorf("duplicate entry not among the candidates: %+v", a.Candidates)
	}
	e.advance(time.Hour)
	e.run("all")
	r = e.reconcile(true)
	wantStatus(t, r, chk, ledger.StatusBreak, "99.99")
	if r.Summary.Break != 1 {
		t.Errorf("summary %+v", r.Summary)
	}
}

func TestReconcileNeedsRefreshStaleNoAnchor(t *testing.T) {
	e := newRecEnv(t)
	a1, t1 := e.srv.AddAccount(plaidfake.Account{ID: "a1", Opening: "10.00"})
	a2, t2 := e.srv.AddAccount(plaidfake.Account{ID: "a2", Opening: "20.00"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: a1, Amount: "1.00", Date: "2026-11-20", Name: "x"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: a2, Amount: "2.00", Date: "2026-11-20", Name: "y"})
	e.put("biz1", t1, t2)
	e.run("all")
	allOK(t, e.reconcile(false))

	e.srv.SetItemError(t1, "ITEM_LOGIN_REQUIRED")
	e.advance(time.Hour)
	e.run("all")
	r := e.reconcile(false)
	a := wantStatus(t, r, a1, ledger.StatusNeedsRefresh, "0.00")
	if a.TokenStatus != "needs_refresh" || deref(a.TokenReason) != "ITEM_LOGIN_REQUIRED" {
		t.Errorf("token %s %s", a.TokenStatus, deref(a.TokenReason))
	}
	wantStatus(t, r, a2, ledger.StatusOK, "0.00")

	// Eight days without a balance: stale (a flagged token still says needs_refresh).
	e.advance(8 * 24 * time.Hour)
	r = e.reconcile(false)
	wantStatus(t, r, a1, ledger.StatusNeedsRefresh, "")
	wantStatus(t, r, a2, ledger.StatusStale, "0.00")

	// A synced account whose history is not complete yet has no anchor.
	a3, t3 := e.srv.AddAccount(plaidfake.Account{ID: "a3", Opening: "30.00", History: plaidfake.HistoryStaged})
	e.srv.AddTxn(plaidfake.Txn{AccountID: a3, Amount: "3.00", Date: "2026-12-01", Name: "z"})
	e.srv.AdvanceHistory(a3)
	e.put("biz2", t3)
	e.run("sync")
	r = e.reconcile(false)
	a = wantStatus(t, r, a3, ledger.StatusNoAnchor, "")
	if a.Difference != nil {
		t.Errorf("no_anchor account %+v", a)
	}
	// Every sync keeps the account's balances: a2 is fresh again.
	wantStatus(t, r, a2, ledger.StatusOK, "0.00")
	if s := r.Summary; s.Accounts != 3 || s.NeedsRefresh != 1 || s.OK != 1 || s.NoAnchor != 1 {
		t.Errorf("summary %+v", s)
	}
	if len(r.Tokens) != 1 || r.Tokens[0].BusinessID != "biz1" || deref(r.Tokens[0].AccountID) != a1 ||
		deref(r.Tokens[0].Reason) != "ITEM_LOGIN_REQUIRED" || deref(r.Tokens[0].TokenHint) != t1[len(t1)-4:] {
		t.Errorf("tokens %+v", r.Tokens)
	}

	// A token flagged on its very first sync has no account: it is listed,
	// and counted, all the same.
	_, t4 := e.srv.AddAccount(plaidfake.Account{ID: "a4", Opening: "40.00"})
	e.srv.SetItemError(t4, "ITEM_LOGIN_REQUIRED")
	e.put("biz3", t4)
	e.run("sync")
	r = e.reconcile(false)
	if s := r.Summary; s.Accounts != 3 || s.NeedsRefresh != 2 {
		t.Errorf("summary %+v, want 3 accounts and 2 tokens needing refresh", s)
	}
	if len(r.Tokens) != 2 || r.Tokens[1].BusinessID != "biz3" || r.Tokens[1].AccountID != nil || r.Tokens[1].Status != "needs_refresh" {
		t.Errorf("tokens %+v", r.Tokens)
	}
	// The known account is named; the one that never synced is not, and
	// both make the headline.
	if deref(r.Tokens[0].AccountName) != "Depository account" || r.Tokens[1].AccountName != nil ||
		r.Headline.Status != "needs_refresh" || !strings.HasPrefix(r.Headline.Text, "2 tokens need refresh") {
		t.Errorf("tokens %+v, headline %+v", r.Tokens, r.Headline)
	}
}

// Zero tolerance end to end: the bank one cent above the ledger, then one
// cent below, is never ok, on an asset and on a liability.
func TestReconcileOneCentIsNotOK(t *testing.T) {
	e := newRecEnv(t)
	chk, ctok := seedChecking(e.env)
	card, ktok := e.srv.AddAccount(plaidfake.Account{ID: "card", Name: "Card", Type: "credit", Subtype: "credit card", ISOCurrency: "USD", Opening: "150.00"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: card, Amount: "400.00", Date: "2026-11-04", Name: "Office"})
	e.put("biz1", ctok, ktok)
	e.run("all")
	allOK(t, e.reconcile(false))
	for _, step := range []struct{ adjust, want string }{{"0.01", "0.01"}, {"-0.02", "-0.01"}} {
		e.advance(time.Hour)
		e.srv.AdjustBalance(chk, step.adjust)
		e.srv.AdjustBalance(card, step.adjust)
		e.run("all")
		r := e.reconcile(false)
		wantStatus(t, r, chk, ledger.StatusTiming, step.want)
		wantStatus(t, r, card, ledger.StatusTiming, step.want)
		if r.Summary.OK != 0 || r.Summary.Timing != 2 {
			t.Errorf("bank %s off: summary %+v", step.want, r.Summary)
		}
	}
}

func TestReconcileInvalidLedger(t *testing.T) {
	e := newRecEnv(t)
	chk, tok := seedChecking(e.env)
	e.put("biz1", tok)
	e.run("all")
	allOK(t, e.reconcile(false))
	// A second live opening entry: the anchor check fails.
	usd := mustCur(t, "USD")
	extra, err := ledger.Opening(chk, ledger.Asset, 7, "2026-01-01", ledger.Money{Minor: 0, Currency: usd})
	if err != nil {
		t.Fatal(err)
	}
	acctID := e.balances()[chk].AccountID
	if err := e.store.Update(context.Background(), func(tx *store.Tx) error { return tx.PostEntry("biz1", acctID, extra, 0) }); err != nil {
		t.Fatal(err)
	}
	// And a line that unbalances USD (inserts are allowed; only updates and deletes are refused).
	if err := e.store.Exec(context.Background(), `INSERT INTO journal_lines(entry_id, line_no, ledger_account_id, currency, amount)
		SELECT entry_id, 99, ledger_account_id, currency, 1 FROM journal_lines WHERE entry_id = ? LIMIT 1`, extra.ID); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Hour)
	r, _, err := e.reconcileDate("")
	if !errors.Is(err, jobs.ErrInvalidReport) || r.Valid {
		t.Fatalf("err = %v valid = %v, want an invalid report", err, r.Valid)
	}
	if len(r.Problems) != 2 || r.Counts()["invalid"] != 1 {
		t.Fatalf("problems %q counts %v", r.Problems, r.Counts())
	}
	if oc := openingCheck(t, r.Document(), chk); oc.OK || oc.Live != 2 {
		t.Errorf("opening check %+v", oc)
	}
}

// goldenWorld is a fixed scenario: explicit ids, a fixed clock, merchants
// that try to inject into a spreadsheet and a page.
func goldenWorld(t *testing.T) (*recEnv, string, string) {
	e := newRecEnv(t)
	chk, ctok := e.srv.AddAccount(plaidfake.Account{ID: "acc_chk_0001", Name: "Operating", Mask: "0001", Type: "depository", Subtype: "checking",
		ISOCurrency: "USD", Opening: "5000.00"})
	card, ktok := e.srv.AddAccount(plaidfake.Account{ID: "acc_card_0002", Name: "Team card", Mask: "0002", Type: "credit", Subtype: "credit card",
		ISOCurrency: "USD", Opening: "0.00", Limit: "10000.00"})
	e.srv.AddTxn(plaidfake.Txn{ID: "tx_chk_01", AccountID: chk, Amount: "1200.00", Date: "2026-11-02", Name: "Payroll run", MerchantName: "Gusto"})
	e.srv.AddTxn(plaidfake.Txn{ID: "tx_chk_02", AccountID: chk, Amount: "-3400.00", Date: "2026-11-05", Name: "Stripe payout", MerchantName: "Stripe"})
	e.srv.AddTxn(plaidfake.Txn{ID: "tx_chk_03", AccountID: chk, Amount: "9.99", Date: "2026-11-09", Name: "Subscription", MerchantName: "@SUM(1)", Pending: true})
	e.srv.AddTxn(plaidfake.Txn{ID: "tx_chk_04", AccountID: chk, Amount: "42.00", Date: "2026-11-20", Name: "Hotel hold", MerchantName: "<script>alert(1)</script>", Pending: true})
	e.srv.AddTxn(plaidfake.Txn{ID: "tx_card_01", AccountID: card, Amount: "250.00", Date: "2026-11-10", Name: "AWS", MerchantName: "Amazon Web Services"})
	e.put("biz_golden", ctok, ktok)
	e.run("all")
	return e, chk, card
}

func TestReconcileGoldenFiles(t *testing.T) {
	e, chk, card := goldenWorld(t)
	allOK(t, e.reconcile(false))

	e.advance(24 * time.Hour)
	e.srv.AddTxn(plaidfake.Txn{ID: "tx_card_02", AccountID: card, Amount: "19.99", Date: "2026-11-26", Name: "Link", MerchantName: `=HYPERLINK("x")`})
	e.srv.AdjustBalance(card, "15.00")
	e.run("all")
	r := e.reconcile(false)
	wantStatus(t, r, chk, ledger.StatusOK, "0.00")
	wantStatus(t, r, card, ledger.StatusTiming, "15.00")

	for _, ext := range []string{"json", "csv", "html"} {
		name := "reconciliation-2026-11-27." + ext
		got, err := os.ReadFile(filepath.Join(e.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "reconcile", name)
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./jobs/ -run TestReconcileGoldenFiles -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s (rerun with -update if the change is intended)\n%s", name, golden, firstDiff(got, want))
		}
	}

	csvText, _ := os.ReadFile(filepath.Join(e.dir, "reconciliation-2026-11-27.csv"))
	for _, want := range []string{`'=HYPERLINK(""x"")`, ",2026-11-09,14\r\n"} {
		if !strings.Contains(string(csvText), want) {
			t.Errorf("csv lacks neutralised cell %s:\n%s", want, csvText)
		}
	}
	if !strings.Contains(string(csvText), ",-3415.00,") && !strings.Contains(string(csvText), ",284.99,") {
		t.Errorf("csv amounts not plain numbers:\n%s", csvText)
	}
	html, _ := os.ReadFile(filepath.Join(e.dir, "reconciliation-2026-11-27.html"))
	for _, bad := range []string{"src=", `href="http`, "<link", "<script", "@import"} {
		if bytes.Contains(bytes.ToLower(html), []byte(strings.ToLower(bad))) {
			t.Errorf("html contains %q", bad)
		}
	}
	// url() only within the page: the charts' markers, url(#id).
	if n, local := bytes.Count(html, []byte("url(")), bytes.Count(html, []byte("url(#")); n != local {
		t.Errorf("html has %d url() outside the page", n-local)
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "<svg", `class="miss"`, "st-timing"} {
		if !bytes.Contains(html, []byte(want)) {
			t.Errorf("html lacks %q", want)
		}
	}
}

func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, gl, wl)
		}
	}
	return ""
}

func TestReconcilePastDateIsRenderedAgainIdentically(t *testing.T) {
	e, chk, _ := goldenWorld(t)
	// Two nights before day 1 and a rerun on day 1 itself: day 1's charts
	// have three points (one a day, the rerun's for day 1), rebuilt from
	// the table when it is rendered again, and the later runs must not
	// leak into them.
	for i := range 2 {
		e.reconcile(false)
		e.advance(24 * time.Hour)
		e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: fmt.Sprintf("%d.25", i+3), Date: "2026-11-2" + fmt.Sprint(i+1), Name: "Night"})
		e.run("all")
	}
	e.reconcile(false)
	e.advance(time.Minute)
	r1 := e.reconcile(false)
	day1 := r1.Date
	if n := len(e.last.Accounts[0].Chart); n != 3 {
		t.Fatalf("day 1 chart has %d points, want 3", n)
	}
	sr, err := e.store.StoredReportFor(context.Background(), day1)
	if err != nil {
		t.Fatal(err)
	}
	if detail := string(sr.Run.Detail); strings.Contains(detail, "Chart") || !strings.Contains(detail, `"Accounts":[{`) {
		t.Errorf("the stored detail carries the charts")
	}
	files := map[string][]byte{}
	for _, ext := range []string{"json", "csv", "html"} {
		b, err := os.ReadFile(filepath.Join(e.dir, "reconciliation-"+day1+"."+ext))
		if err != nil {
			t.Fatal(err)
		}
		files[ext] = b
	}

	// Day 2: the ledger moves on and the bank breaks.
	e.advance(24 * time.Hour)
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "70.00", Date: "2026-11-27", Name: "Later"})
	e.srv.AdjustBalance(chk, "1.00")
	e.run("all")
	if r2 := e.reconcile(false); r2.Date == day1 || r2.Summary.Timing != 1 {
		t.Fatalf("day 2: %s %+v", r2.Date, r2.Summary)
	}
	// Remove the day-1 files: re-rendering must not depend on them.
	for ext := range files {
		os.Remove(filepath.Join(e.dir, "reconciliation-"+day1+"."+ext))
	}
	r, paths, err := e.reconcileDate(day1)
	if err != nil || len(paths) != 3 || r.RunID != r1.RunID {
		t.Fatalf("re-render %s: %v %v run %s", day1, err, paths, r.RunID)
	}
	for ext, want := range files {
		got, err := os.ReadFile(filepath.Join(e.dir, "reconciliation-"+day1+"."+ext))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s of %s changed when rendered again:\n%s", ext, day1, firstDiff(got, want))
		}
	}

	// A run stored by the bankfeed before the typed report (its detail
	// was the JSON file's shape) is refused with a plain word, not
	// rendered with parts missing.
	if err := e.store.Exec(context.Background(), `INSERT INTO report_runs(run_id, report_date, generated_at, counts, valid, detail)
		VALUES ('old-shape', '2026-01-02', '2026-01-02T02:00:00Z', '{}', 1, '{"date":"2026-01-02","generated_at":"2026-01-02T02:00:00Z","accounts":[]}')`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.reconcileDate("2026-01-02"); err == nil || !strings.Contains(err.Error(), "cannot be rendered again") {
		t.Fatalf("old-shape run: %v", err)
	}

	_, _, err = e.reconcileDate("2026-01-01")
	want := "no reconciliation was recorded for 2026-01-01; run `bankfeed report reconcile` on that day or pick another date"
	if !errors.Is(err, jobs.ErrNoReport) || err.Error() != want {
		t.Fatalf("missing date: %v", err)
	}
	if _, _, err := e.reconcileDate("2027-01-01"); err == nil || !strings.Contains(err.Error(), "future") {
		t.Fatalf("future date: %v", err)
	}
	if _, _, err := e.reconcileDate("2026-13-01"); err == nil {
		t.Fatal("bad date accepted")
	}
	// What was reported stays reported.
	for _, q := range []string{"UPDATE reconciliations SET status = 'ok'", "DELETE FROM reconciliations",
		"UPDATE report_runs SET valid = 0", "DELETE FROM report_runs"} {
		if err := e.store.Exec(context.Background(), q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v", q, err)
		}
	}
}

// TestReconcileAtScale fills the database directly with SQL — 10,000
// linked accounts, 1,000,000 journal lines, 500,000 bank transactions and
// 30 earlier reconciliations per account — and reconciles it: every query is
// one pass grouped by account, so this takes seconds, not hours (about 4 s
// on two cores without -race, 1,428 of the accounts with candidates;
// -race makes the Go side several times slower).
// It takes a minute with -race, so it runs only with BANKFEED_SCALE=1;
// BANKFEED_SCALE_DEBUG=1 also logs the time of each query.
func TestReconcileAtScale(t *testing.T) {
	if os.Getenv("BANKFEED_SCALE") == "" {
		t.Skip("set BANKFEED_SCALE=1 to reconcile 10,000 accounts and 1,000,000 journal lines")
	}
	e := newRecEnv(t)
	ctx := context.Background()
	const accounts, entries = 10000, 500000
	now := e.now.Format(store.TimeLayout)
	fill := []string{
		`INSERT INTO businesses(id, created_at, updated_at) VALUES ('biz', '` + now + `', '` + now + `')`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ` + fmt.Sprint(accounts) + `)
		 INSERT INTO accounts(id, business_id, plaid_account_id, name, type, currency, kind, opening_version, opening_date, opening_minor, created_at, updated_at)
		 SELECT i, 'biz', printf('acc%05d', i), 'Account ' || i, CASE WHEN i % 4 = 0 THEN 'credit' ELSE 'depository' END, 'USD',
		        CASE WHEN i % 4 = 0 THEN 'liability' ELSE 'asset' END, 1, '2024-12-31', 0, '` + now + `', '` + now + `' FROM n`,
		`INSERT INTO tokens(id, business_id, fingerprint, ciphertext, hint, status, cursor, account_id, created_at, updated_at)
		 SELECT id, 'biz', randomblob(16), randomblob(16), 'abcd', 'active', 'c', id, created_at, created_at FROM accounts`,
		`INSERT INTO ledger_accounts(id, business_id, code, kind, currency, account_id)
		 SELECT id, 'biz', 'Bank:' || plaid_account_id, kind, 'USD', id FROM accounts`,
		`INSERT INTO ledger_accounts(id, business_id, code, kind, currency) VALUES (100001, 'biz', 'Suspense:Uncategorized', 'expense', 'USD')`,
		`INSERT INTO sync_updates(id, token_id, run_id, cursor_before, state, started_at) VALUES (1, 1, 'r', '', 'applied', '` + now + `')`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ` + fmt.Sprint(entries) + `)
		 INSERT INTO bank_transactions(id, account_id, transaction_id, pending, amount, currency, date, name, entry_version, live_entry_id,
		        first_update_id, last_update_id, first_seen_at, updated_at)
		 SELECT i, 1 + i % ` + fmt.Sprint(accounts) + `, 'tx' || i, i % 50 = 0, 100 + i % 997, 'USD', date('2025-01-01', '+' || (i % 700) || ' days'),
		        'Merchant ' || (i % 100), 1, CASE WHEN i % 50 = 0 THEN NULL ELSE 'txn:tx' || i || ':v1' END, 1, 1, '` + now + `', '` + now + `' FROM n`,
		`INSERT INTO journal_entries(id, business_id, account_id, kind, date, transaction_id, version, created_at)
		 SELECT live_entry_id, 'biz', account_id, 'txn', date, transaction_id, 1, '` + now + `' FROM bank_transactions WHERE pending = 0`,
		`INSERT INTO journal_lines(entry_id, line_no, ledger_account_id, currency, amount)
		 SELECT e.id, 1, e.account_id, 'USD', -b.amount FROM journal_entries e JOIN bank_transactions b ON b.transaction_id = e.transaction_id`,
		`INSERT INTO journal_lines(entry_id, line_no, ledger_account_id, currency, amount)
		 SELECT e.id, 2, 100001, 'USD', b.amount FROM journal_entries e JOIN bank_transactions b ON b.transaction_id = e.transaction_id`,
		`INSERT INTO journal_entries(id, business_id, account_id, kind, date, version, created_at)
		 SELECT 'open:' || plaid_account_id || ':v1', 'biz', id, 'opening', '2024-12-31', 1, '` + now + `' FROM accounts`,
		`INSERT INTO balance_snapshots(account_id, token_id, run_id, currency, current, request_id, taken_at)
		 SELECT a.id, a.id, 'r', 'USD', CASE WHEN a.kind = 'asset' THEN 1 ELSE -1 END * COALESCE(SUM(l.amount), 0) + (a.id % 7 = 0), 'req', '` + now + `'
		 FROM accounts a LEFT JOIN ledger_balances l ON l.ledger_account_id = a.id GROUP BY a.id`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
		 INSERT INTO report_runs(run_id, report_date, generated_at, counts, valid, detail)
		 SELECT 'old' || i, date('2026-10-01', '+' || i || ' days'), date('2026-10-01', '+' || i || ' days') || 'T02:00:00.000000Z', '{}', 1, '{}' FROM n`,
		`INSERT INTO reconciliations(run_id, report_date, account_id, currency, opening, expected, reported, difference, pending_total, status, clean_at, generated_at)
		 SELECT r.run_id, r.report_date, a.id, 'USD', 0, 100, 100, 0, 0, 'ok', r.generated_at, r.generated_at FROM report_runs r, accounts a`,
	}
	start := time.Now()
	for _, q := range fill {
		if err := e.store.Exec(ctx, q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	t.Logf("filled in %v", time.Since(start))
	if os.Getenv("BANKFEED_SCALE_DEBUG") != "" {
		scaleDebug(t, e)
	}
	start = time.Now()
	r, paths, err := e.reconcileDate("")
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("reconciled %d accounts in %v: %s", r.Summary.Accounts, took, r.Summary)
	if r.Summary.Accounts != accounts || r.Summary.Timing != accounts/7 || r.Summary.OK != accounts-accounts/7 || len(paths) != 3 {
		t.Fatalf("summary %+v", r.Summary)
	}
	if len(r.Accounts[0].Chart) != 30 {
		t.Fatalf("chart of %d points", len(r.Accounts[0].Chart))
	}
	if took > 60*time.Second {
		t.Fatalf("reconcile took %v", took)
	}
}

func scaleDebug(t *testing.T, e *recEnv) {
	err := e.store.Read(context.Background(), func(rt *store.ReadTx) error {
		st := time.Now()
		ps, err := rt.ReconPositions()
		t.Logf("positions %d %v %v", len(ps), time.Since(st), err)
		var ws []store.CandidateWindow
		for _, p := range ps {
			if p.AccountID%7 == 0 {
				ws = append(ws, store.CandidateWindow{AccountID: p.AccountID, Currency: "USD", From: e.now.Add(-24 * time.Hour), To: e.now})
			}
		}
		st = time.Now()
		cs, err := rt.Candidates(ws)
		t.Logf("candidates %d %v %v", len(cs), time.Since(st), err)
		st = time.Now()
		h, err := rt.ChartHistory(29)
		t.Logf("history %d %v %v", len(h), time.Since(st), err)
		st = time.Now()
		pi, err := rt.PendingItems()
		t.Logf("pending %d %v %v", len(pi), time.Since(st), err)
		st = time.Now()
		vh, err := rt.VanishedHolds(e.now.Add(-30 * 24 * time.Hour))
		t.Logf("vanished %d %v %v", len(vh), time.Since(st), err)
		st = time.Now()
		su, err := rt.Suspense()
		t.Logf("suspense %d %v %v", len(su), time.Since(st), err)
		st = time.Now()
		tb, err := rt.TrialBalance()
		t.Logf("trial %d %v %v", len(tb), time.Since(st), err)
		st = time.Now()
		oc, err := rt.OpeningChecks()
		t.Logf("openings %d %v %v", len(oc), time.Since(st), err)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReconcileQueriesAgreeWithPlainSQL checks the reconcile's tuned
// queries against the plain statements they replace, on a ledger with
// reversals, several currencies, reconciliation history and a journal
// line in a currency no ledger account is kept in.
func TestReconcileQueriesAgreeWithPlainSQL(t *testing.T) {
	e := newRecEnv(t)
	ctx := context.Background()
	chk, ctok := seedChecking(e.env)
	eur, etok := e.srv.AddAccount(plaidfake.Account{ID: "eur", Name: "Euro", ISOCurrency: "EUR", Opening: "10.00"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: eur, Amount: "3.21", Date: "2026-11-01", Name: "Croissant"})
	e.put("biz1", ctok)
	e.put("biz2", etok)
	e.run("all")
	genAccounts(t, e.store, 40, 15)
	genTxns(t, e.store, 3, "q")
	for day := range 4 {
		e.reconcileDate("")
		e.advance(24 * time.Hour)
		// Each day reverses and reposts a transaction: reversals in and out of suspense.
		e.srv.ModifyTxn(e.srv.Txns(chk)[day].ID, func(t *plaidfake.Txn) { t.Amount = fmt.Sprintf("%d.00", 11+day) })
		e.run("all")
	}
	db, err := sql.Open("sqlite3", "file:"+e.store.Path()+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	plain := func(q string, args ...any) []string {
		t.Helper()
		rows, err := db.Query(q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var out []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(vals...))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	check := func(stage string) {
		t.Helper()
		var sus []store.SuspenseLine
		var tb []store.CurrencySum
		var hist map[store.AcctCur][]store.ChartPoint
		err := e.store.Read(ctx, func(rt *store.ReadTx) error {
			var err error
			if sus, err = rt.Suspense(); err != nil {
				return err
			}
			if tb, err = rt.TrialBalance(); err != nil {
				return err
			}
			hist, err = rt.ChartHistory(jobs.ChartPoints - 1)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range sus {
			got = append(got, fmt.Sprint(s.BusinessID, s.Currency, ledger.Expense.Natural(s.Total), s.Entries, s.Oldest))
		}
		want := plain(`SELECT la.business_id, la.currency, COALESCE(SUM(l.amount), 0),
		       COUNT(CASE WHEN e.kind = 'txn' AND x.id IS NULL THEN 1 END),
		       COALESCE(MIN(CASE WHEN e.kind = 'txn' AND x.id IS NULL THEN e.date END), '')
		FROM ledger_accounts la CROSS JOIN journal_lines l ON l.ledger_account_id = la.id JOIN journal_entries e ON e.id = l.entry_id
		LEFT JOIN journal_entries x ON x.reverses = e.id
		WHERE la.code = ? GROUP BY la.business_id, la.currency ORDER BY la.business_id, la.currency`, ledger.Suspense)
		if strings.Join(got, "\n") != strings.Join(want, "\n") || len(want) < 3 {
			t.Errorf("%s: suspense\n got %q\nwant %q", stage, got, want)
		}
		got = nil
		for _, c := range tb {
			got = append(got, fmt.Sprint(c.Currency, c.Sum, c.Lines))
		}
		want = plain(`SELECT currency, SUM(amount), COUNT(*) FROM journal_lines GROUP BY currency ORDER BY currency`)
		if strings.Join(got, "\n") != strings.Join(want, "\n") || len(want) < 2 {
			t.Errorf("%s: trial balance\n got %q\nwant %q", stage, got, want)
		}
		got = nil
		for k, ps := range hist {
			for _, p := range ps {
				rep := any(nil)
				if p.Reported != nil {
					rep = *p.Reported
				}
				got = append(got, fmt.Sprint(k.AccountID, k.Currency, p.ID, p.Expected, rep))
			}
		}
		slices.Sort(got)
		want = plain(`SELECT r.account_id, r.currency, r.id, r.expected, r.reported
		FROM reconciliations r JOIN accounts a ON a.id = r.account_id
		WHERE a.kind IS NOT NULL AND (SELECT COUNT(*) FROM reconciliations n WHERE n.account_id = r.account_id AND n.currency = r.currency AND n.id > r.id) < ?`,
			jobs.ChartPoints-1)
		slices.Sort(want)
		if strings.Join(got, "\n") != strings.Join(want, "\n") || len(want) < 100 {
			t.Errorf("%s: chart history: %d points, want %d", stage, len(got), len(want))
		}
	}
	check("sound ledger")
	// A line in a currency no ledger account is kept in: only a damaged
	// journal has one, and the trial balance must still count it.
	if err := e.store.Exec(ctx, `INSERT INTO journal_lines(entry_id, line_no, ledger_account_id, currency, amount)
		SELECT entry_id, 99, ledger_account_id, 'GBP', 7 FROM journal_lines LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	check("a GBP line")
	r, _, err := e.reconcileDate("")
	if !errors.Is(err, jobs.ErrInvalidReport) || r.Valid {
		t.Fatalf("err = %v, want an invalid report", err)
	}
	if n := len(r.TrialBalance); n != 3 || r.TrialBalance[1].Currency.Code != "GBP" || r.TrialBalance[1].Sum != 7 || r.TrialBalance[1].Lines != 1 {
		t.Errorf("trial balance %+v", r.TrialBalance)
	}
}

// The suspense totals are read beside everything else: when they fail,
// nothing is stored and no file is written.
func TestReconcileSuspenseFailureStoresNothing(t *testing.T) {
	// A suspense account in a currency bankfeed does not know, with a line.
	reconcileFailsStoringNothing(t, "suspense",
		`INSERT INTO ledger_accounts(business_id, code, kind, currency) VALUES ('biz1', 'Suspense:Uncategorized', 'expense', 'Q1Z')`,
		`INSERT INTO journal_entries(id, business_id, kind, date, version, created_at) VALUES ('odd', 'biz1', 'txn', '2026-11-20', 1, '{now}')`,
		`INSERT INTO journal_lines(entry_id, line_no, ledger_account_id, currency, amount)
		 SELECT 'odd', 1, id, 'USD', 0 FROM ledger_accounts WHERE currency = 'Q1Z'`)
}

// The run's rows go into the database while the rest is still being read:
// a read that fails after that (here the trial balance, whose sum
// overflows) still leaves nothing stored and no file written.
func TestReconcileReadFailureAfterRowsStoresNothing(t *testing.T) {
	reconcileFailsStoringNothing(t, "trial balance",
		`INSERT INTO ledger_accounts(business_id, code, kind, currency) VALUES ('biz1', 'Equity:Huge', 'equity', 'USD'), ('biz1', 'Equity:Huger', 'equity', 'USD')`,
		`INSERT INTO journal_entries(id, business_id, kind, date, version, created_at) VALUES ('huge', 'biz1', 'txn', '2026-11-20', 1, '{now}')`,
		// One line on each account: each running balance fits in 64 bits,
		// their sum does not.
		`INSERT INTO journal_lines(entry_id, line_no, ledger_account_id, currency, amount)
		 SELECT 'huge', id, id, 'USD', 9000000000000000000 FROM ledger_accounts WHERE code LIKE 'Equity:Huge%'`)
}

// reconcileFailsStoringNothing reconciles a sound ledger once, damages it
// with the statements ({now} in them is the current time),
// and checks that the next day's reconcile fails naming want, stores no
// run and writes no file.
func reconcileFailsStoringNothing(t *testing.T, want string, damage ...string) {
	t.Helper()
	e := newRecEnv(t)
	ctx := context.Background()
	_, tok := seedChecking(e.env)
	e.put("biz1", tok)
	e.run("all")
	allOK(t, e.reconcile(false))
	before, _ := os.ReadDir(e.dir)
	now := e.now.Format(store.TimeLayout)
	for _, q := range damage {
		if err := e.store.Exec(ctx, strings.ReplaceAll(q, "{now}", now)); err != nil {
			t.Fatal(err)
		}
	}
	e.advance(24 * time.Hour)
	if _, _, err := e.reconcileDate(""); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want the %s failure", err, want)
	}
	after, _ := os.ReadDir(e.dir)
	if len(after) != len(before) {
		t.Errorf("files before %d, after %d", len(before), len(after))
	}
	if _, err := e.store.StoredReportFor(ctx, e.now.Format(time.DateOnly)); !errors.Is(err, store.ErrNoReport) {
		t.Errorf("a run was stored for the failed day: %v", err)
	}
}

// Without a report folder the run is still stored, whole, and a later
// rendering of that date into a folder gives the same files a run with a
// folder writes.
func TestReconcileWithoutFolderStoresTheRun(t *testing.T) {
	e, _, _ := goldenWorld(t)
	ctx := context.Background()
	r, paths, err := jobs.Reconcile(ctx, e.store, jobs.ReconcileOptions{Location: time.UTC,
		Now: func() time.Time { return e.now }, RunID: "no-folder"})
	if err != nil || len(paths) != 0 {
		t.Fatalf("reconcile without a folder: %v %v", err, paths)
	}
	sr, err := e.store.StoredReportFor(ctx, r.Date)
	if err != nil || sr.Run.RunID != "no-folder" || len(sr.Rows) != len(r.Accounts) {
		t.Fatalf("stored run: %v %+v", err, sr.Run)
	}
	// The same report rendered into a folder now, and re-rendered from the
	// stored run the next day: the same bytes.
	want, err := report.Render(r)
	if err != nil {
		t.Fatal(err)
	}
	e.advance(24 * time.Hour)
	again, _, err := e.reconcileDate(r.Date)
	if err != nil {
		t.Fatal(err)
	}
	got, err := report.Render(again)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		ext       string
		got, want []byte
	}{{"json", got.JSON, want.JSON}, {"csv", got.CSV, want.CSV}, {"html", got.HTML, want.HTML}} {
		if !bytes.Equal(f.got, f.want) {
			t.Errorf("%s differs when rendered from the stored run:\n%s", f.ext, firstDiff(f.got, f.want))
		}
	}
}

// A difference escalates only when a newer balance shows it again:
// reconciling again against the same balance, however much later, stays
// timing; the next balance with the same difference is a break.
func TestReconcileSameSnapshotNeverEscalates(t *testing.T) {
	e := newRecEnv(t)
	chk, tok := seedChecking(e.env)
	e.put("biz1", tok)
	e.run("all")
	allOK(t, e.reconcile(false))

	e.advance(time.Hour)
	e.srv.AdjustBalance(chk, "-25.00")
	e.run("all")
	wantStatus(t, e.reconcile(false), chk, ledger.StatusTiming, "-25.00")
	// Again on the same balance: right away, and after more than 24 h.
	for _, wait := range []time.Duration{time.Minute, 30 * time.Hour} {
		e.advance(wait)
		r := e.reconcile(false)
		wantStatus(t, r, chk, ledger.StatusTiming, "-25.00")
		if r.Summary.Break != 0 {
			t.Errorf("after %v on the same balance: summary %+v", wait, r.Summary)
		}
	}
	// A newer balance with the same difference: a break, and the run says so.
	e.advance(time.Hour)
	e.run("all")
	r := e.reconcile(true)
	wantStatus(t, r, chk, ledger.StatusBreak, "-25.00")
	// And reconciling that break again on its own balance keeps it a break.
	e.advance(time.Minute)
	wantStatus(t, e.reconcile(true), chk, ledger.StatusBreak, "-25.00")
}

// Transactions of a million or more in their currency's major unit are
// listed as precision suspects, posted and pending, in natural sign; a
// smaller one, or a removed one, is not.
func TestReconcilePrecisionSuspects(t *testing.T) {
	e := newRecEnv(t)
	chk, ctok := e.srv.AddAccount(plaidfake.Account{ID: "usd", Name: "Checking", Type: "depository", Subtype: "checking", ISOCurrency: "USD", Opening: "5000000.00"})
	e.srv.AddTxn(plaidfake.Txn{ID: "big", AccountID: chk, Amount: "1000000.00", Date: "2026-11-02", Name: "Wire out"})
	e.srv.AddTxn(plaidfake.Txn{ID: "almost", AccountID: chk, Amount: "999999.99", Date: "2026-11-03", Name: "Wire out"})
	e.srv.AddTxn(plaidfake.Txn{ID: "in", AccountID: chk, Amount: "-1200000.00", Date: "2026-11-04", Name: "Wire in", Pending: true})
	gone := e.srv.AddTxn(plaidfake.Txn{ID: "gone", AccountID: chk, Amount: "3000000.00", Date: "2026-11-05", Name: "Wire out"})
	yen, ytok := e.srv.AddAccount(plaidfake.Account{ID: "jpy", Name: "Yen", Type: "depository", Subtype: "checking", ISOCurrency: "JPY", Opening: "9000000"})
	e.srv.AddTxn(plaidfake.Txn{ID: "yen-big", AccountID: yen, Amount: "1000000", Date: "2026-11-02", Name: "Rent"})
	e.srv.AddTxn(plaidfake.Txn{ID: "yen-small", AccountID: yen, Amount: "999999", Date: "2026-11-03", Name: "Rent"})
	e.put("biz1", ctok, ytok)
	e.run("all")
	e.srv.RemoveTxn(gone)
	e.advance(time.Hour)
	e.run("all")
	r := e.reconcile(false)
	var got []string
	for _, s := range r.PrecisionSuspects {
		got = append(got, fmt.Sprintf("%s %s %s %s %s %s %v", s.BusinessID, s.AccountID, s.TransactionID, s.Date, s.Amount, s.Currency, s.Pending))
	}
	want := []string{"biz1 jpy yen-big 2026-11-02 -1000000 JPY false", "biz1 usd big 2026-11-02 -1000000.00 USD false",
		"biz1 usd in 2026-11-04 1200000.00 USD true"}
	slices.Sort(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("precision suspects\n got %q\nwant %q", got, want)
	}
	html, err := os.ReadFile(filepath.Join(e.dir, "reconciliation-"+r.Date+".html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<h3>Precision suspects</h3>", "-1000000.00 USD", "1200000.00 USD", "-1000000 JPY"} {
		if !bytes.Contains(html, []byte(want)) {
			t.Errorf("html lacks %q", want)
		}
	}
}
