package jobs_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"bankfeed/jobs"
	"bankfeed/ledger"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

// journal reads the whole journal.
func (e *env) journal() []ledger.Entry {
	e.t.Helper()
	entries, err := e.store.Journal(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return entries
}

// describe renders entries one a line, kind and what they touch, so that
// a case can state exactly what a change must post.
func describe(entries []ledger.Entry) string {
	var lines []string
	for _, en := range entries {
		s := string(en.Kind) + " " + en.Date
		switch en.Kind {
		case ledger.KindReversal:
			s += " of " + en.Reverses
		case ledger.KindTxn:
			s += " " + en.ID
		}
		for _, l := range en.Lines {
			if strings.HasPrefix(l.Account, "Bank:") {
				s += fmt.Sprintf(" %d %s", l.Amount, l.Currency)
			}
		}
		lines = append(lines, s)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// TestApplierRules gives each rule of the applier for a change to a
// synced transaction its own case: what the sync counts, and exactly
// which journal entries it posts.
func TestApplierRules(t *testing.T) {
	type world struct {
		chk, posted, hold string // account, a posted transaction, a pending hold
	}
	cases := []struct {
		name   string
		change func(e *env, w world)
		counts func(a jobs.ApplyCounts) bool
		// posts lists the new entries, given the posted transaction's id.
		posts string
		exact bool // the account's ledger still equals the bank's current
	}{
		{
			name: "description only posts nothing",
			change: func(e *env, w world) {
				e.srv.ModifyTxn(w.posted, func(t *plaidfake.Txn) { t.Name = "Renamed"; t.MerchantName = "Shop" })
			},
			counts: func(a jobs.ApplyCounts) bool { return a.Modified == 1 && a.Posted == 0 && a.Reversed == 0 },
			posts:  "",
			exact:  true,
		},
		{
			name:   "amount change reverses and reposts",
			change: func(e *env, w world) { e.srv.ModifyTxn(w.posted, func(t *plaidfake.Txn) { t.Amount = "12.35" }) },
			counts: func(a jobs.ApplyCounts) bool { return a.Modified == 1 && a.Posted == 1 && a.Reversed == 1 },
			posts:  "reversal 2026-10-05 of txn:{id}:v1 1234 USD\ntxn 2026-10-05 txn:{id}:v2 -1235 USD",
			exact:  true,
		},
		{
			name:   "date change reverses and reposts",
			change: func(e *env, w world) { e.srv.ModifyTxn(w.posted, func(t *plaidfake.Txn) { t.Date = "2026-10-09" }) },
			counts: func(a jobs.ApplyCounts) bool { return a.Modified == 1 && a.Posted == 1 && a.Reversed == 1 },
			posts:  "reversal 2026-10-05 of txn:{id}:v1 1234 USD\ntxn 2026-10-09 txn:{id}:v2 -1234 USD",
			exact:  true,
		},
		{
			// The bank's current balance mixes currencies in this fake, so
			// only the journal is checked.
			name:   "currency change reverses and reposts",
			change: func(e *env, w world) { e.srv.ModifyTxn(w.posted, func(t *plaidfake.Txn) { t.ISOCurrency = "CAD" }) },
			counts: func(a jobs.ApplyCounts) bool { return a.Modified == 1 && a.Posted == 1 && a.Reversed == 1 },
			posts:  "reversal 2026-10-05 of txn:{id}:v1 1234 USD\ntxn 2026-10-05 txn:{id}:v2 -1234 CAD",
		},
		{
			name:   "removal reverses",
			change: func(e *env, w world) { e.srv.RemoveTxn(w.posted) },
			counts: func(a jobs.ApplyCounts) bool { return a.Removed == 1 && a.Posted == 0 && a.Reversed == 1 },
			posts:  "reversal 2026-10-05 of txn:{id}:v1 1234 USD",
			exact:  true,
		},
		{
			name:   "vanished hold posts nothing",
			change: func(e *env, w world) { e.srv.RemoveTxn(w.hold) },
			counts: func(a jobs.ApplyCounts) bool { return a.Removed == 1 && a.Posted == 0 && a.Reversed == 0 },
			posts:  "",
			exact:  true,
		},
		{
			name: "hold settled with another amount posts the settlement once",
			change: func(e *env, w world) {
				e.srv.PostPending(w.hold, plaidfake.Txn{ID: "settled", AccountID: w.chk, Amount: "48.00", Date: "2026-10-22", Name: "Diner + tip"}, true)
			},
			counts: func(a jobs.ApplyCounts) bool {
				return a.Added == 1 && a.Removed == 1 && a.Posted == 1 && a.Reversed == 0
			},
			posts: "txn 2026-10-22 txn:settled:v1 -4800 USD",
			exact: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			chk, tok := e.srv.AddAccount(plaidfake.Account{Name: "Checking", Type: "depository", Subtype: "checking", ISOCurrency: "USD", Opening: "1000.00"})
			posted := e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "12.34", Date: "2026-10-05", Name: "Shop"})
			e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "-500.00", Date: "2026-10-06", Name: "Deposit"})
			hold := e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "40.00", Date: "2026-10-20", Name: "Diner", Pending: true})
			e.put("biz1", tok)
			e.run("all")
			e.checkExact(chk)
			before := len(e.journal())

			c.change(e, world{chk, posted, hold})
			sum := e.run("sync")
			a := result(t, sum, e.token(tok).ID).Applied
			if !c.counts(a) {
				t.Errorf("counts %+v", a)
			}
			if a.OpeningRederived {
				t.Error("the opening was re-derived")
			}
			want := strings.ReplaceAll(c.posts, "{id}", posted)
			if got := describe(e.journal()[before:]); got != want {
				t.Errorf("posted:\n%s\nwant:\n%s", got, want)
			}
			if c.exact {
				e.checkExact(chk)
			} else {
				e.checkExact()
			}
			// Applied once: the next sync changes nothing.
			before = len(e.journal())
			if a := result(t, e.run("sync"), e.token(tok).ID).Applied; a != (jobs.ApplyCounts{History: store.HistoryComplete}) || len(e.journal()) != before {
				t.Errorf("second sync applied %+v", a)
			}
		})
	}
}

// openings lists an account's opening entries and the reversals of them.
func openings(entries []ledger.Entry, plaidAccountID string) (all []ledger.Entry, live int) {
	reversed := map[string]bool{}
	for _, en := range entries {
		if en.Kind == ledger.KindReversal {
			reversed[en.Reverses] = true
		}
	}
	for _, en := range entries {
		if en.Kind == ledger.KindOpening && en.AccountID == plaidAccountID {
			all = append(all, en)
			if !reversed[en.ID] {
				live++
			}
		}
	}
	return all, live
}

// History delivered after the anchor (first postings dated on or before
// the opening date) was already inside the anchored balance: one update
// carrying two such transactions re-derives the opening once, dated the
// day before the earlier of them and smaller by both, and leaves exactly
// one live opening. A later sync with nothing new does not touch it.
func TestLateHistoryRederivesOpeningOnce(t *testing.T) {
	e := newEnv(t)
	chk, tok := e.srv.AddAccount(plaidfake.Account{Name: "Checking", Type: "depository", Subtype: "checking", ISOCurrency: "USD", Opening: "1000.00"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "12.34", Date: "2026-10-05", Name: "Shop"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "-500.00", Date: "2026-10-06", Name: "Deposit"})
	e.put("biz1", tok)
	e.run("all")
	e.checkExact(chk)
	first, live := openings(e.journal(), chk)
	if len(first) != 1 || live != 1 || first[0].Date != "2026-10-04" {
		t.Fatalf("anchored openings %s (live %d), want one dated 2026-10-04", describe(first), live)
	}
	opening := e.balances()[chk].Opening

	// Dated on the opening date and before it; the bank's current already
	// held both.
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "30.00", Date: "2026-10-04", Name: "On the opening date"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "5.00", Date: "2026-09-20", Name: "Older"})
	e.srv.AdjustBalance(chk, "35.00")
	a := result(t, e.run("sync"), e.token(tok).ID).Applied
	if !a.OpeningRederived || a.Posted != 2 {
		t.Fatalf("late history applied %+v, want two postings and the opening re-derived", a)
	}
	all, live := openings(e.journal(), chk)
	if len(all) != 2 || live != 1 || all[1].Date != "2026-09-19" {
		t.Fatalf("openings after late history:\n%s\nlive %d; want two versions, one live, the new one dated 2026-09-19", describe(all), live)
	}
	if got := e.balances()[chk].Opening; got != opening+3500 {
		t.Fatalf("opening %d, want %d: the late history's effect taken back out of it", got, opening+3500)
	}
	e.checkExact(chk)

	before := len(e.journal())
	if a := result(t, e.run("all"), e.token(tok).ID).Applied; a.OpeningRederived || len(e.journal()) != before {
		t.Fatalf("an idle run re-derived the opening: %+v", a)
	}
	e.checkExact(chk)
}

// A hold staged before the anchor and settled (linked by
// pending_transaction_id) with a date before the opening is money the
// anchored balance never held: the settlement posts, the opening stays.
// The opening is dated before staged holds, so only such a back-dated
// settlement reaches this rule.
func TestSettlementDatedBeforeOpeningKeepsOpening(t *testing.T) {
	e := newEnv(t)
	chk, tok := e.srv.AddAccount(plaidfake.Account{Name: "Checking", Type: "depository", Subtype: "checking", ISOCurrency: "USD", Opening: "1000.00"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "1.00", Date: "2026-10-05", Name: "fee"})
	hold := e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "40.00", Date: "2026-10-03", Name: "Diner", Pending: true})
	e.put("biz1", tok)
	e.run("all")
	e.checkExact(chk)
	all, _ := openings(e.journal(), chk)
	if len(all) != 1 || all[0].Date != "2026-10-02" {
		t.Fatalf("anchored openings %s, want one dated 2026-10-02 (before the hold)", describe(all))
	}
	opening := e.balances()[chk].Opening

	e.srv.PostPending(hold, plaidfake.Txn{AccountID: chk, Amount: "40.00", Date: "2026-10-01", Name: "Diner"}, true)
	a := result(t, e.run("sync"), e.token(tok).ID).Applied
	if a.OpeningRederived || a.Posted != 1 {
		t.Fatalf("settlement applied %+v, want one posting and the opening kept", a)
	}
	if got := e.balances()[chk].Opening; got != opening {
		t.Fatalf("opening moved from %d to %d", opening, got)
	}
	if all, live := openings(e.journal(), chk); len(all) != 1 || live != 1 {
		t.Fatalf("openings after the settlement:\n%s", describe(all))
	}
	e.checkExact(chk)
}

// Plaid can report the removal of a transaction that is not live here: a
// token put back after a rotation resumes from its old cursor and reports
// a removal the rotation's full resync already swept. It is counted and
// changes nothing.
func TestRemovalOfTransactionNotLiveIsHarmless(t *testing.T) {
	e := newEnv(t)
	chk, a := seedChecking(e)
	e.put("biz1", a)
	e.run("all")
	e.checkExact(chk)
	gone := e.srv.Txns(chk)[0].ID
	e.srv.RemoveTxn(gone)

	b := e.srv.NewToken(chk)
	e.put("biz1", b) // a dropped
	if got := result(t, e.run("sync"), e.token(b).ID).Applied; got.Swept != 1 || got.Reversed != 1 {
		t.Fatalf("full resync of the rotated token applied %+v, want the removed transaction swept", got)
	}
	e.checkExact(chk)
	before := len(e.journal())

	e.put("biz1", a) // back to the old token, and its old cursor
	got := result(t, e.run("sync"), e.token(a).ID).Applied
	if got.Removed != 1 || got.UnknownRemoved != 1 || got.Reversed != 0 || got.Posted != 0 {
		t.Fatalf("old token's sync applied %+v, want one removal of a transaction not live here, and nothing posted", got)
	}
	if n := len(e.journal()) - before; n != 0 {
		t.Fatalf("%d entries posted for a removal of a transaction not live here", n)
	}
	e.checkExact(chk)
}
