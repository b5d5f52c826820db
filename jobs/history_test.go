package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"bankfeed/api"
	"bankfeed/jobs"
	"bankfeed/ledger"
	"bankfeed/plaidapi"
	"bankfeed/plaidfake"
	"bankfeed/report"
	"bankfeed/store"
)

const balanceGet = "/processor/balance/get"

// newClockEnv is an env whose Plaid-compatible server reads the test's
// clock: its 30-day initial window, days_requested window and pull times.
func newClockEnv(t *testing.T, opts ...plaidfake.Option) *env {
	t.Helper()
	var e *env
	e = newEnv(t, append(opts, plaidfake.WithClock(func() time.Time { return e.now }))...)
	return e
}

// day is the date n days before the env's now.
func (e *env) day(n int) string { return e.now.AddDate(0, 0, -n).Format(time.DateOnly) }

// reconcileStatus runs the nightly reconcile and returns each account's status.
func (e *env) reconcileStatus() (report.Report, map[string]ledger.Status) {
	e.t.Helper()
	r, _, err := jobs.Reconcile(context.Background(), e.store, jobs.ReconcileOptions{Location: time.UTC,
		Now: func() time.Time { return e.now }})
	if err != nil {
		e.t.Fatalf("reconcile: %v", err)
	}
	st := map[string]ledger.Status{}
	for _, a := range r.Accounts {
		st[a.AccountID] = ledger.Status(a.Status)
	}
	return r, st
}

func (e *env) wantStatus(id string, want ledger.Status) {
	e.t.Helper()
	r, st := e.reconcileStatus()
	if st[id] != want {
		e.t.Fatalf("account %s: status %q, want %q (report %+v)", id, st[id], want, r.Accounts)
	}
}

// wantLedger asserts the account's ledger balance and opening to the minor unit.
func (e *env) wantLedger(id, balance, opening string) {
	e.t.Helper()
	b, ok := e.balances()[id]
	if !ok {
		e.t.Fatalf("account %s has no ledger balance", id)
	}
	cur := b.Cur()
	if got := ledger.Format(b.Balance, cur); got != balance {
		e.t.Errorf("account %s: ledger %s, want %s", id, got, balance)
	}
	switch {
	case opening == "" && b.Anchored:
		e.t.Errorf("account %s: anchored at %s, want no anchor yet", id, ledger.Format(b.Opening, cur))
	case opening != "" && !b.Anchored:
		e.t.Errorf("account %s: not anchored, want opening %s", id, opening)
	case opening != "" && ledger.Format(b.Opening, cur) != opening:
		e.t.Errorf("account %s: opening %s, want %s", id, ledger.Format(b.Opening, cur), opening)
	}
}

// liveOpenings counts the account's opening entries that no reversal undoes.
func (e *env) liveOpenings(id string) int {
	e.t.Helper()
	entries, err := e.store.Journal(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	reversed := map[string]bool{}
	for _, en := range entries {
		if en.Kind == ledger.KindReversal {
			reversed[en.Reverses] = true
		}
	}
	n := 0
	for _, en := range entries {
		if en.Kind == ledger.KindOpening && en.AccountID == id && !reversed[en.ID] {
			n++
		}
	}
	return n
}

func (e *env) history(business string) []*string {
	e.t.Helper()
	toks, err := api.ListTokens(context.Background(), e.store, business, e.now)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*string
	for _, t := range toks {
		out = append(out, t.History)
	}
	return out
}

func deref1(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

func (e *env) doctorOK() {
	e.t.Helper()
	rep, err := jobs.Doctor(context.Background(), e.store, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	if !rep.OK {
		e.t.Fatalf("doctor findings: %v", rep.Findings)
	}
}

// The false break: the bank posts 40.00 after Plaid's pull, and the
// next pull delivers it. The opening is anchored on the sync's own balances,
// so it is 1,000.00 whatever the bank does between pulls, and every run
// reconciles ok. The default settings make no paid balance call at all.
func TestPullLagNoFalseBreak(t *testing.T) {
	e := newClockEnv(t, plaidfake.WithPulls())
	chk, tok := e.srv.AddAccount(plaidfake.Account{Name: "Checking", Type: "depository", Subtype: "checking", ISOCurrency: "USD", Opening: "1000.00"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "12.50", Date: e.day(5), Name: "Lunch"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "-200.00", Date: e.day(4), Name: "Deposit"})
	e.srv.PullAll()
	e.put("biz1", tok)

	step := func(name, wantLedger string) {
		t.Helper()
		e.run("all")
		e.wantLedger(chk, wantLedger, "1000.00")
		e.wantStatus(chk, ledger.StatusOK)
		if n := e.liveOpenings(chk); n != 1 {
			t.Fatalf("%s: %d live openings", name, n)
		}
		e.now = e.now.Add(4 * time.Hour)
	}
	step("first sync", "1187.50")
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "40.00", Date: e.day(0), Name: "Posted after the pull"})
	step("bank moved, Plaid has not pulled", "1187.50")
	e.srv.Pull(chk)
	step("the pull delivers it", "1147.50")
	step("nothing new", "1147.50")
	if e.srv.PulledCurrent(chk) != "1147.50" {
		t.Fatalf("fake: pulled current %s", e.srv.PulledCurrent(chk))
	}
	if n := e.srv.Calls(tok, balanceGet); n != 0 {
		t.Fatalf("%d paid /processor/balance/get calls with the default settings", n)
	}
	e.doctorOK()
}

// NOT_READY -> INITIAL_UPDATE_COMPLETE -> HISTORICAL_UPDATE_COMPLETE, with
// a transaction the initial update withholds although it is dated inside
// its window: every run exits 0, nothing is anchored until the history is
// complete, and then the ledger is exact with one live opening.
func TestHistoryStates(t *testing.T) {
	e := newClockEnv(t)
	chk, tok := e.srv.AddAccount(plaidfake.Account{Name: "Checking", Type: "depository", Subtype: "checking", ISOCurrency: "USD",
		Opening: "500.00", History: plaidfake.HistoryStaged})
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "100.00", Date: e.day(200), Name: "Old rent"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "-50.00", Date: e.day(90), Name: "Old refund"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "10.00", Date: e.day(10), Name: "Recent"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "7.25", Date: e.day(8), Name: "Withheld", LateHistory: true})
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "3.00", Date: e.day(2), Name: "Newest"})
	e.put("biz1", tok)

	// NOT_READY: not a failure, nothing stored but the state.
	sum := e.run("all")
	if sum.Counts["not_ready"] != 1 || sum.Counts["failed"] != 0 {
		t.Fatalf("not ready run: %v", sum.Counts)
	}
	if h := e.history("biz1"); len(h) != 1 || deref1(h[0]) != "not_ready" {
		t.Fatalf("history %v, want not_ready", deref1(h[0]))
	}
	toks, _ := e.store.Tokens(context.Background(), store.TokenFilter{})
	if toks[0].Status != store.StatusActive || toks[0].Cursor != "" || toks[0].AccountID != 0 {
		t.Fatalf("not ready token %+v", toks[0])
	}
	if j, _ := e.store.Journal(context.Background()); len(j) != 0 {
		t.Fatalf("not ready posted %d entries", len(j))
	}

	// INITIAL_UPDATE_COMPLETE: the recent days post, nothing anchors.
	e.srv.AdvanceHistory(chk)
	for range 2 {
		e.now = e.now.Add(24 * time.Hour)
		e.run("all")
		if h := e.history("biz1"); deref1(h[0]) != "initial" {
			t.Fatalf("history %s, want initial", deref1(h[0]))
		}
		e.wantLedger(chk, "-13.00", "")
		e.wantStatus(chk, ledger.StatusNoAnchor)
	}

	// HISTORICAL_UPDATE_COMPLETE: older history and the withheld one arrive
	// as added; the opening is anchored on this update's balances.
	e.srv.AdvanceHistory(chk)
	sum = e.run("all")
	if a := sum.Results[0].Applied; !a.Anchored || a.Added != 3 {
		t.Fatalf("historical update %+v", a)
	}
	if h := e.history("biz1"); deref1(h[0]) != "complete" {
		t.Fatalf("history %s, want complete", deref1(h[0]))
	}
	e.wantLedger(chk, e.srv.Current(chk), "500.00")
	e.checkExact(chk)
	e.wantStatus(chk, ledger.StatusOK)
	if n := e.liveOpenings(chk); n != 1 {
		t.Fatalf("%d live openings", n)
	}
	before, _ := e.store.Journal(context.Background())
	e.now = e.now.Add(24 * time.Hour)
	e.run("all")
	e.wantStatus(chk, ledger.StatusOK)
	if after, _ := e.store.Journal(context.Background()); len(after) != len(before) {
		t.Fatalf("an idle run posted %d entries", len(after)-len(before))
	}
	e.doctorOK()
}

// An Item stuck at INITIAL_UPDATE_COMPLETE for 3 days is anchored anyway,
// and when the history does come, the opening is re-derived from the
// complete update's balances: one live opening, exact and ok throughout.
func TestHistoryStuckAtInitialAnchorsAfterThreeDays(t *testing.T) {
	e := newClockEnv(t)
	chk, tok := e.srv.AddAccount(plaidfake.Account{Name: "Card", Type: "credit", Subtype: "credit card", ISOCurrency: "USD",
		Opening: "80.00", History: plaidfake.HistoryStaged})
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "300.00", Date: e.day(120), Name: "Old purchase"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "25.00", Date: e.day(12), Name: "Recent"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "-100.00", Date: e.day(6), Name: "Payment, withheld", LateHistory: true})
	e.put("biz1", tok)
	e.srv.AdvanceHistory(chk)
	e.run("all")
	e.wantLedger(chk, "25.00", "")
	e.wantStatus(chk, ledger.StatusNoAnchor)

	e.now = e.now.Add(71 * time.Hour)
	e.run("all")
	e.wantStatus(chk, ledger.StatusNoAnchor)

	e.now = e.now.Add(2 * time.Hour) // 3 days at INITIAL_UPDATE_COMPLETE
	sum := e.run("all")
	if !sum.Results[0].Applied.Anchored {
		t.Fatalf("not anchored after 3 days: %+v", sum.Results[0].Applied)
	}
	// The bank owes 305.00; 25.00 of it is synced, so the provisional
	// opening carries the rest.
	e.wantLedger(chk, "305.00", "280.00")
	e.wantStatus(chk, ledger.StatusOK)

	e.srv.AdvanceHistory(chk)
	sum = e.run("all")
	if a := sum.Results[0].Applied; !a.OpeningRederived {
		t.Fatalf("history did not re-derive the opening: %+v", a)
	}
	e.wantLedger(chk, "305.00", "80.00")
	e.checkExact(chk)
	e.wantStatus(chk, ledger.StatusOK)
	if n := e.liveOpenings(chk); n != 1 {
		t.Fatalf("%d live openings", n)
	}
	e.doctorOK()
}

// A null current balance anchors nothing; the next sync with one does.
func TestNullCurrentDoesNotAnchor(t *testing.T) {
	e := newClockEnv(t)
	chk, tok := e.srv.AddAccount(plaidfake.Account{Name: "Checking", ISOCurrency: "USD", Opening: "10.00", NullCurrent: true})
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "1.00", Date: e.day(3), Name: "x"})
	e.put("biz1", tok)
	e.run("all")
	e.wantLedger(chk, "-1.00", "")
	e.wantStatus(chk, ledger.StatusNoAnchor)
}

// Two years of books: the request carries days_requested (730 by default)
// and include_original_description, so Plaid gathers the whole history and
// the raw bank text is kept.
func TestTwoYearHistory(t *testing.T) {
	e := newClockEnv(t)
	chk, tok := e.srv.AddAccount(plaidfake.Account{Name: "Checking", ISOCurrency: "USD", Opening: "5000.00"})
	n := 0
	for d := 725; d > 0; d -= 25 {
		e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: fmt.Sprintf("%d.%02d", d%97, d%100), Date: e.day(d), Name: fmt.Sprintf("Txn %d", d)})
		n++
	}
	e.put("biz1", tok)
	e.run("all")
	if o := e.srv.LastSyncOptions(tok); !o.Sent || o.DaysRequested != 730 || !o.IncludeOriginalDescription {
		t.Fatalf("sync options %+v", o)
	}
	if d := e.srv.DaysRequested(chk); d != 730 {
		t.Fatalf("the Item was initialised with %d days", d)
	}
	e.checkExact(chk)
	if b := e.balances()[chk]; b.PostedCount != n || n < 29 {
		t.Fatalf("posted %d of %d", b.PostedCount, n)
	}
	e.wantLedger(chk, e.srv.Current(chk), "5000.00")
	oldest := ""
	for _, tx := range e.srv.Txns(chk) {
		if tx.Name == "Txn 725" {
			oldest = tx.ID
		}
	}
	err := e.store.Update(context.Background(), func(tx *store.Tx) error {
		b, ok, err := tx.BankTxn(oldest)
		if err != nil || !ok {
			return fmt.Errorf("transaction %q: ok %v, %v", oldest, ok, err)
		}
		if b.OriginalDescription != "TXN 725" {
			return fmt.Errorf("original description %q, want %q", b.OriginalDescription, "TXN 725")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// concurrency counts the requests in flight at the fake per business.
type concurrency struct {
	mu        sync.Mutex
	business  map[string]string // processor token -> business
	inFlight  map[string]int
	peak      map[string]int
	now, high int
}

func (c *concurrency) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var req struct {
			ProcessorToken string `json:"processor_token"`
		}
		_ = json.Unmarshal(body, &req)
		b := c.business[req.ProcessorToken]
		c.mu.Lock()
		c.inFlight[b]++
		c.now++
		c.peak[b] = max(c.peak[b], c.inFlight[b])
		c.high = max(c.high, c.now)
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			c.inFlight[b]--
			c.now--
			c.mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	})
}

// Plaid's rate limits are per Item, and one business's tokens often share
// one: at most BusinessConcurrency tokens of a business are in flight at
// once, while tokens of other businesses still run beside them.
func TestBusinessConcurrency(t *testing.T) {
	e := newEnv(t, plaidfake.WithLatency(30*time.Millisecond))
	c := &concurrency{business: map[string]string{}, inFlight: map[string]int{}, peak: map[string]int{}}
	for b := range 3 {
		biz := fmt.Sprintf("biz%d", b)
		var toks []string
		for i := range 6 {
			acct, tok := e.srv.AddAccount(plaidfake.Account{Name: fmt.Sprintf("Account %d", i), ISOCurrency: "USD", Opening: "1.00"})
			e.srv.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "0.50", Date: "2026-11-01", Name: "x"})
			c.business[tok] = biz
			toks = append(toks, tok)
		}
		e.put(biz, toks...)
	}
	hs := httptest.NewServer(c.wrap(e.srv))
	t.Cleanup(hs.Close)
	e.runner.Plaid = plaidapi.New(plaidapi.Config{BaseURL: hs.URL, ClientID: "cid", Secret: "sec", Timeout: 5 * time.Second, RetryMax: 2})
	e.runner.Concurrency, e.runner.BusinessConcurrency = 8, 2
	sum := e.run("sync")
	if sum.Counts["synced"] != 18 {
		t.Fatalf("synced %v", sum.Counts)
	}
	for biz, p := range c.peak {
		if p > 2 {
			t.Errorf("%s had %d tokens in flight at once, limit 2", biz, p)
		}
	}
	// The limit is per business: three businesses run side by side.
	if c.high <= 2 {
		t.Errorf("at most %d requests in flight overall: the per-business limit serialised the run", c.high)
	}
}
