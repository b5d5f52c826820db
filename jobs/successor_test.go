package jobs_test

import (
	"context"
	"slices"
	"strings"
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

// checkingAcct is the demo-like checking account every re-link test starts from.
var checkingAcct = plaidfake.Account{Name: "Business Checking", Mask: "0000", Type: "depository", Subtype: "checking",
	ISOCurrency: "USD", Opening: "5000.00"}

// relinkWorld is a business whose checking account bankfeed has synced
// and anchored, with history spread over the last 60 days.
func relinkWorld(t *testing.T) (e *env, old, oldTok string) {
	t.Helper()
	e = newClockEnv(t)
	old, oldTok = e.srv.AddAccount(checkingAcct)
	for i, d := range []int{58, 45, 31, 20, 12, 6, 2} {
		e.srv.AddTxn(plaidfake.Txn{AccountID: old, Amount: []string{"12.50", "-1500.00", "89.99", "230.00", "4.50", "-75.25", "19.00"}[i],
			Date: e.day(d), Name: []string{"Lunch", "Stripe payout", "Office supplies", "Rent share", "Coffee", "Refund", "Parking"}[i]})
	}
	e.put("biz", oldTok)
	e.run(jobs.JobSync)
	e.checkExact(old)
	return e, old, oldTok
}

// relinkRun puts the new token with replace semantics (the old one is
// removed) and runs a sync, returning the new token's counts.
func (e *env) relinkRun(newTok string) jobs.ApplyCounts {
	e.t.Helper()
	e.put("biz", newTok)
	sum := e.run(jobs.JobSync)
	for _, r := range sum.Results {
		if r.Err != nil {
			e.t.Fatalf("token %d: %v", r.TokenID, r.Err)
		}
	}
	if len(sum.Results) != 1 {
		e.t.Fatalf("%d tokens synced, want the new one only", len(sum.Results))
	}
	return sum.Results[0].Applied
}

// wantPair asserts the one ledger row of a re-linked pair: under the
// successor's id, equal to the bank, posting each real transaction once.
func (e *env) wantPair(succ, pred string, posted int) {
	e.t.Helper()
	e.checkExact() // trial balance, journal, one live entry per transaction
	bal := e.balances()
	if _, ok := bal[pred]; ok {
		e.t.Errorf("the predecessor %s still has a ledger row of its own", pred)
	}
	b, ok := bal[succ]
	if !ok {
		e.t.Fatalf("the successor %s has no ledger row", succ)
	}
	want, err := ledger.ParseAmount(e.srv.Current(succ), b.Cur())
	if err != nil {
		e.t.Fatal(err)
	}
	if b.Balance != want {
		e.t.Errorf("pair ledger %s, bank %s", ledger.Format(b.Balance, b.Cur()), e.srv.Current(succ))
	}
	if b.PostedCount != posted {
		e.t.Errorf("posted count %d, want %d real transactions", b.PostedCount, posted)
	}
	if n := e.liveOpenings(pred); n != 1 {
		e.t.Errorf("%d live openings on the pair's ledger account, want 1", n)
	}
	if n := e.liveOpenings(succ); n != 0 {
		e.t.Errorf("the successor anchored %d openings of its own", n)
	}
	e.doctorOK()
}

func (e *env) accountsByID() map[string]api.AccountOut {
	e.t.Helper()
	list, err := api.ListAccounts(context.Background(), e.store, "")
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]api.AccountOut{}
	for _, a := range list {
		out[a.AccountID] = a
	}
	return out
}

// The case: the customer links the bank again and the new Item
// delivers the same history under new ids. One ledger account, equal to
// the bank; every real transaction posted once; reconciled ok; the pair
// shown as replaced/replaces.
func TestRelinkOverlappingHistory(t *testing.T) {
	e, old, _ := relinkWorld(t)
	succ, tok := e.srv.Relink(old, 0)
	e.srv.AddTxn(plaidfake.Txn{AccountID: succ, Amount: "42.00", Date: e.day(0), Name: "New activity"})

	got := e.relinkRun(tok)
	if got.Succeeds != old || got.Duplicates != 7 || got.Posted != 1 || got.Anchored || got.OpeningRederived {
		t.Fatalf("counts %+v, want succeeds %s, 7 duplicates, 1 posted, no anchor", got, old)
	}
	e.wantPair(succ, old, 8)
	e.wantStatus(succ, ledger.StatusOK)
	r, st := e.reconcileStatus()
	if _, ok := st[old]; ok || len(r.Accounts) != 1 {
		t.Fatalf("the predecessor is reconciled on its own: %+v", r.Accounts)
	}
	accts := e.accountsByID()
	if a := accts[old]; a.TokenStatus != "replaced" || deref(a.ReplacedBy) != succ || a.Replaces != nil {
		t.Errorf("predecessor listed as %s replaced_by %q replaces %q", a.TokenStatus, deref(a.ReplacedBy), deref(a.Replaces))
	}
	if a := accts[succ]; a.TokenStatus != "active" || deref(a.Replaces) != old || a.ReplacedBy != nil {
		t.Errorf("successor listed as %s replaces %q replaced_by %q", a.TokenStatus, deref(a.Replaces), deref(a.ReplacedBy))
	}

	// Later runs change nothing: the duplicates stay unposted.
	e.srv.AddTxn(plaidfake.Txn{AccountID: succ, Amount: "3.00", Date: e.day(0), Name: "Later"})
	e.run(jobs.JobSync)
	e.wantPair(succ, old, 9)
	e.wantStatus(succ, ledger.StatusOK)

	// A difference on the pair lists what the pair's ledger account
	// recorded since it last agreed, the successor's postings included.
	e.now = e.now.Add(time.Hour)
	e.srv.AdjustBalance(succ, "10.00")
	later := e.srv.AddTxn(plaidfake.Txn{AccountID: succ, Amount: "5.00", Date: e.day(0), Name: "Candidate"})
	e.run(jobs.JobSync)
	r, st = e.reconcileStatus()
	if st[succ] != ledger.StatusTiming {
		t.Fatalf("status %s after the bank moved alone", st[succ])
	}
	var journal, bank bool
	for _, c := range r.Accounts[0].Candidates {
		journal = journal || c.Source == "journal" && c.TransactionID == later
		bank = bank || c.Source == "bank" && c.TransactionID == later
	}
	if !journal || bank {
		t.Fatalf("candidates %+v: want the successor's posting of %s, once", r.Accounts[0].Candidates, later)
	}
}

// The new Item reaches further back than the old one delivered: the
// older transactions post once and the opening moves back past them, as
// for late history; the overlap is matched.
func TestRelinkLongerHistory(t *testing.T) {
	e := newClockEnv(t)
	e.runner.Plaid = plaidapi.New(plaidapi.Config{BaseURL: e.http.URL, ClientID: "cid", Secret: "sec", Timeout: 5 * time.Second,
		RetryMax: 4, Sleep: func(context.Context, time.Duration) error { return nil }, DaysRequested: 30})
	old, oldTok := e.srv.AddAccount(checkingAcct)
	for _, d := range []int{200, 100, 45, 20, 5} {
		e.srv.AddTxn(plaidfake.Txn{AccountID: old, Amount: "10.00", Date: e.day(d), Name: "Day -" + e.day(d)})
	}
	e.put("biz", oldTok)
	e.run(jobs.JobSync)
	if b := e.balances()[old]; b.PostedCount != 2 || !b.Anchored {
		t.Fatalf("the old Item's 30 days: %+v", b)
	}
	opening := e.balances()[old].Opening

	e.runner.Plaid = plaidapi.New(plaidapi.Config{BaseURL: e.http.URL, ClientID: "cid", Secret: "sec", Timeout: 5 * time.Second,
		RetryMax: 4, Sleep: func(context.Context, time.Duration) error { return nil }, DaysRequested: 730})
	succ, tok := e.srv.Relink(old, 0)
	got := e.relinkRun(tok)
	if got.Duplicates != 2 || got.Posted != 3 || !got.OpeningRederived || got.Anchored {
		t.Fatalf("counts %+v, want 2 duplicates, 3 older posted, the opening re-derived", got)
	}
	e.wantPair(succ, old, 5)
	if b := e.balances()[succ]; b.Opening != opening+3000 {
		t.Errorf("opening %d, want %d: the anchored one less three older 10.00 purchases", b.Opening, opening+3000)
	}
	e.wantStatus(succ, ledger.StatusOK)
}

// Same-day identical amounts match one to one; a transaction only the
// old Item holds stays posted; one only the new Item holds is posted.
func TestRelinkMatchesOneToOne(t *testing.T) {
	e := newClockEnv(t)
	old, oldTok := e.srv.AddAccount(checkingAcct)
	coffee := plaidfake.Txn{AccountID: old, Amount: "4.50", Date: e.day(3), Name: "Blue Bottle"}
	e.srv.AddTxn(coffee)
	e.srv.AddTxn(coffee)
	e.srv.AddTxn(plaidfake.Txn{AccountID: old, Amount: "4.50", Date: e.day(3), Name: "Arco Fuel"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: old, Amount: "800.00", Date: e.day(50), Name: "Old only"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: old, Amount: "4.51", Date: e.day(10), Name: "A cent apart"})
	e.put("biz", oldTok)
	e.run(jobs.JobSync)

	// The copy holds the last 30 days: "Old only" is the old Item's alone.
	succ, tok := e.srv.Relink(old, 30)
	coffee.AccountID = succ
	e.srv.AddTxn(coffee) // a third coffee the old Item never delivered
	e.srv.AddTxn(plaidfake.Txn{AccountID: succ, Amount: "4.50", Date: e.day(10), Name: "A cent apart"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: succ, Amount: "60.00", Date: e.day(20), Name: "New only"})

	got := e.relinkRun(tok)
	if got.Duplicates != 4 || got.Posted != 3 {
		t.Fatalf("counts %+v, want the 2 coffees, the fuel and the 4.51 matched, 3 posted", got)
	}
	e.wantPair(succ, old, 5+3)
	dups := e.duplicates(succ)
	// The 4.51 copy matched its original; the new 4.50 of that name did not.
	if len(dups) != 3 || dups["Blue Bottle"] != 2 || dups["Arco Fuel"] != 1 || dups["A cent apart"] != 1 {
		t.Fatalf("duplicates by name %v", dups)
	}
	e.wantStatus(succ, ledger.StatusOK)
}

// duplicates counts the successor's live duplicates by name, and checks
// each stands for a live posted predecessor transaction of the same facts.
func (e *env) duplicates(succ string) map[string]int {
	e.t.Helper()
	out := map[string]int{}
	err := e.store.Update(context.Background(), func(tx *store.Tx) error {
		for _, t := range e.srv.Txns(succ) {
			b, ok, err := tx.BankTxn(t.ID)
			if err != nil || !ok {
				return err
			}
			if b.DuplicateOf == "" {
				continue
			}
			p, _, err := tx.BankTxn(b.DuplicateOf)
			if err != nil {
				return err
			}
			if b.LiveEntryID != "" || p.LiveEntryID == "" || p.Removed || p.Amount != b.Amount || p.Date != b.Date {
				e.t.Errorf("duplicate %+v of %+v", b, p)
			}
			out[b.Name]++
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// Two accounts of the business look like the re-linked one: nothing is
// merged, the new account stands alone, and the possible duplicates name
// both candidates. One look-alike whose token is still active: no merge
// either.
func TestRelinkTwoCandidatesNoMerge(t *testing.T) {
	e := newClockEnv(t)
	a1, tok1 := e.srv.AddAccount(checkingAcct)
	a2, tok2 := e.srv.AddAccount(checkingAcct)
	e.srv.AddTxn(plaidfake.Txn{AccountID: a1, Amount: "10.00", Date: e.day(4), Name: "One"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: a2, Amount: "20.00", Date: e.day(4), Name: "Two"})
	e.put("biz", tok1, tok2)
	e.run(jobs.JobSync)

	succ, tok := e.srv.Relink(a1, 0)
	got := e.relinkRun(tok)
	if got.Succeeds != "" || got.Duplicates != 0 || !got.Anchored {
		t.Fatalf("counts %+v, want a new account anchored on its own", got)
	}
	bal := e.balances()
	if len(bal) != 3 {
		t.Fatalf("%d ledger rows, want 3 accounts unmerged", len(bal))
	}
	e.checkExact(succ, a1, a2)
	dups, err := e.store.PossibleDuplicates(context.Background(), "biz")
	if err != nil {
		t.Fatal(err)
	}
	var named []string
	for _, d := range dups {
		if d.AccountID == succ {
			named = append(named, d.OtherID)
		}
	}
	slices.Sort(named)
	if want := slices.Sorted(slices.Values([]string{a1, a2})); !slices.Equal(named, want) {
		t.Fatalf("possible duplicates of %s name %v, want %v (all: %+v)", succ, named, want, dups)
	}
	r, _ := e.reconcileStatus()
	if n := len(r.PossibleDuplicates); n < 2 {
		t.Fatalf("the report lists %d possible duplicates: %+v", n, r.PossibleDuplicates)
	}
	page, err := report.HTML(r)
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(page), "Possible duplicate accounts")
	for _, id := range []string{succ, a1, a2} {
		if !strings.Contains(section, id) {
			t.Errorf("the report's possible duplicates do not name %s", id)
		}
	}

	t.Run("one look-alike still active", func(t *testing.T) {
		e := newClockEnv(t)
		old, oldTok := e.srv.AddAccount(checkingAcct)
		e.srv.AddTxn(plaidfake.Txn{AccountID: old, Amount: "10.00", Date: e.day(4), Name: "One"})
		e.put("biz", oldTok)
		e.run(jobs.JobSync)
		e.srv.SetItemError(oldTok, "") // the old Item keeps working
		succ, tok := e.srv.Relink(old, 0)
		e.srv.SetItemError(oldTok, "")
		e.put("biz", oldTok, tok)
		e.run(jobs.JobSync)
		if a := e.accountsByID()[succ]; a.Replaces != nil {
			t.Fatalf("merged with an account whose token is active: %+v", a)
		}
		if len(e.balances()) != 2 {
			t.Fatalf("want two ledger rows")
		}
	})
}

// After the match the new Item is the bank's word: a duplicate's change of
// amount moves the real transaction's entry from the predecessor's row to
// the successor's; a removal takes it out; a new description only posts
// nothing. Always one live entry per real transaction, ledger exact.
func TestRelinkDuplicateChangesLater(t *testing.T) {
	e, old, _ := relinkWorld(t)
	succ, tok := e.srv.Relink(old, 0)
	e.relinkRun(tok)
	e.wantPair(succ, old, 7)

	byName := map[string]string{}
	for _, t := range e.srv.Txns(succ) {
		byName[t.Name] = t.ID
	}
	e.srv.ModifyTxn(byName["Office supplies"], func(t *plaidfake.Txn) { t.Amount = "91.99" })
	e.srv.RemoveTxn(byName["Parking"])
	e.srv.ModifyTxn(byName["Coffee"], func(t *plaidfake.Txn) { t.Name = "COFFEE SHOP #12" })
	sum := e.run(jobs.JobSync)
	got := sum.Results[0].Applied
	// Office supplies: the predecessor's entry reversed, the successor's
	// posted; Parking: the predecessor's entry reversed; Coffee: nothing.
	if got.Posted != 1 || got.Reversed != 2 {
		t.Fatalf("counts %+v, want 1 posted, 2 reversed", got)
	}
	e.wantPair(succ, old, 6)
	if dups := e.duplicates(succ); len(dups) != 5 || dups["COFFEE SHOP #12"] != 1 || dups["Parking"] != 0 || dups["Office supplies"] != 0 {
		t.Fatalf("duplicates %v, want 5 with the renamed coffee", dups)
	}
	e.wantStatus(succ, ledger.StatusOK)

	// The same again is a no-op.
	if got := e.run(jobs.JobSync).Results[0].Applied; got.Posted != 0 || got.Reversed != 0 {
		t.Fatalf("replay posted %+v", got)
	}
	e.wantPair(succ, old, 6)
}

// The old token flagged by Plaid (not removed by the platform) lets its
// account go just as well. The platform's list keeps the old token, which
// re-putting re-activates; the run syncs tokens of known accounts first,
// so Plaid flags it again before the new token's account looks for its
// predecessor.
func TestRelinkAfterFlag(t *testing.T) {
	e, old, oldTok := relinkWorld(t)
	succ, tok := e.srv.Relink(old, 0)
	e.put("biz", oldTok, tok)
	e.run(jobs.JobSync)
	e.wantPair(succ, old, 7)
	if a := e.accountsByID()[old]; a.TokenStatus != "replaced" {
		t.Fatalf("predecessor %+v", a)
	}

	// The customer repairs the old login as well, and the platform keeps
	// the old token: the old Item reports the same activity as the new
	// one, and is not synced again.
	e.srv.SetItemError(oldTok, "")
	e.srv.AddTxn(plaidfake.Txn{AccountID: old, Amount: "8.00", Date: e.day(0), Name: "Seen by the old Item"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: succ, Amount: "8.00", Date: e.day(0), Name: "Seen by the old Item"})
	e.put("biz", oldTok, tok)
	sum := e.run(jobs.JobSync)
	if sum.Counts["replaced"] != 1 || len(sum.Results) != 1 {
		t.Fatalf("run counts %v with %d tokens synced: the replaced token must be left alone", sum.Counts, len(sum.Results))
	}
	e.wantPair(succ, old, 8)
}

// The doctor finds a real transaction carried twice, or not at all,
// across a re-linked pair.
func TestDoctorFindsDuplicateDamage(t *testing.T) {
	successorFindings := func(e *env) []string {
		t.Helper()
		rep, err := jobs.Doctor(context.Background(), e.store, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range rep.Findings {
			if strings.HasPrefix(f, "successors:") {
				out = append(out, f)
			}
		}
		return out
	}
	setup := func(t *testing.T) (*env, string, string) {
		t.Helper()
		e, old, _ := relinkWorld(t)
		succ, tok := e.srv.Relink(old, 0)
		e.srv.RemoveTxn(e.srv.Txns(succ)[0].ID) // one the new Item lacks: stays posted on the old account
		e.srv.AddTxn(plaidfake.Txn{AccountID: succ, Amount: "7.00", Date: e.day(1), Name: "New only"})
		e.relinkRun(tok)
		e.doctorOK()
		return e, old, succ
	}
	t.Run("the predecessor's transaction removed under a duplicate", func(t *testing.T) {
		e, _, _ := setup(t)
		if err := e.store.Exec(context.Background(), `UPDATE bank_transactions SET removed = 1 WHERE transaction_id =
			(SELECT duplicate_of FROM bank_transactions WHERE duplicate_of IS NOT NULL ORDER BY id LIMIT 1)`); err != nil {
			t.Fatal(err)
		}
		if got := successorFindings(e); len(got) != 1 || !strings.Contains(got[0], "missing from the ledger") {
			t.Fatalf("findings %q", got)
		}
	})
	t.Run("a posted transaction marked as a duplicate of a posted one", func(t *testing.T) {
		e, _, succ := setup(t)
		var newOnly string
		for _, tx := range e.srv.Txns(succ) {
			if tx.Name == "New only" {
				newOnly = tx.ID
			}
		}
		// The one old transaction no duplicate claims: the new Item lacks it.
		if err := e.store.Exec(context.Background(), `UPDATE bank_transactions SET duplicate_of = (
			SELECT b.transaction_id FROM bank_transactions b JOIN bank_transactions n ON n.transaction_id = ?
			WHERE b.account_id != n.account_id AND b.live_entry_id IS NOT NULL
			  AND NOT EXISTS (SELECT 1 FROM bank_transactions d WHERE d.duplicate_of = b.transaction_id))
			WHERE transaction_id = ?`, newOnly, newOnly); err != nil {
			t.Fatal(err)
		}
		if got := successorFindings(e); len(got) != 1 || !strings.Contains(got[0], "counted twice") {
			t.Fatalf("findings %q", got)
		}
	})
}

// A predecessor that was never anchored (its history stayed at
// INITIAL_UPDATE_COMPLETE) is anchored by its successor's complete
// history, on the successor's balance: one opening for the pair.
func TestRelinkAnchorsAnUnanchoredPredecessor(t *testing.T) {
	e := newClockEnv(t)
	acct := checkingAcct
	acct.History = plaidfake.HistoryStaged
	old, oldTok := e.srv.AddAccount(acct)
	for _, d := range []int{90, 40, 10, 3} {
		e.srv.AddTxn(plaidfake.Txn{AccountID: old, Amount: "25.00", Date: e.day(d), Name: "Day " + e.day(d)})
	}
	e.srv.AdvanceHistory(old)
	e.put("biz", oldTok)
	e.run(jobs.JobSync)
	if b := e.balances()[old]; b.Anchored || b.PostedCount != 2 {
		t.Fatalf("the old Item at its initial history: %+v", b)
	}

	succ, tok := e.srv.Relink(old, 0)
	e.srv.AdvanceHistory(succ)
	e.srv.AdvanceHistory(succ)
	got := e.relinkRun(tok)
	if got.Succeeds != old || got.Duplicates != 2 || got.Posted != 2 || !got.Anchored {
		t.Fatalf("counts %+v, want the recent two matched, the older two posted, the pair anchored", got)
	}
	e.wantPair(succ, old, 4)
	e.wantStatus(succ, ledger.StatusOK)
}

// The new Item stages its history as a new Item does: not ready, then
// the recent days, then the rest. The match holds across its updates: the
// older history matched at the historical update is not posted twice.
func TestRelinkStagedNewItem(t *testing.T) {
	e := newClockEnv(t)
	acct := checkingAcct
	acct.History = plaidfake.HistoryStaged
	old, oldTok := e.srv.AddAccount(acct)
	for _, d := range []int{200, 90, 40, 10, 3} {
		e.srv.AddTxn(plaidfake.Txn{AccountID: old, Amount: "25.00", Date: e.day(d), Name: "Day " + e.day(d)})
	}
	e.srv.AdvanceHistory(old)
	e.srv.AdvanceHistory(old)
	e.put("biz", oldTok)
	e.run(jobs.JobSync)
	e.checkExact(old)

	succ, tok := e.srv.Relink(old, 0)
	e.put("biz", tok)
	if got := e.run(jobs.JobSync).Results[0]; got.Outcome != "not_ready" {
		t.Fatalf("the new Item's first sync: %+v", got)
	}
	e.srv.AdvanceHistory(succ)
	if got := e.run(jobs.JobSync).Results[0].Applied; got.Succeeds != old || got.Duplicates != 2 || got.Posted != 0 {
		t.Fatalf("initial update: %+v, want the recent two matched", got)
	}
	e.wantPair(succ, old, 5)
	e.srv.AdvanceHistory(succ)
	if got := e.run(jobs.JobSync).Results[0].Applied; got.Duplicates != 3 || got.Posted != 0 || got.OpeningRederived {
		t.Fatalf("historical update: %+v, want the older three matched", got)
	}
	e.wantPair(succ, old, 5)
	e.wantStatus(succ, ledger.StatusOK)
}

// An account synced before bankfeed recorded banks has no institution and
// can be nobody's predecessor; its next sync asks for it once, and then a
// re-link is recognised.
func TestRelinkAccountFromBeforeInstitutions(t *testing.T) {
	e, old, oldTok := relinkWorld(t)
	if err := e.store.Exec(context.Background(), `UPDATE accounts SET institution_id = NULL`); err != nil {
		t.Fatal(err)
	}
	calls := e.srv.Calls(oldTok, "/processor/account/get")
	e.run(jobs.JobSync)
	e.run(jobs.JobSync)
	if n := e.srv.Calls(oldTok, "/processor/account/get") - calls; n != 1 {
		t.Fatalf("%d account/get calls over two syncs, want 1", n)
	}
	succ, tok := e.srv.Relink(old, 0)
	if got := e.relinkRun(tok); got.Succeeds != old {
		t.Fatalf("counts %+v: not recognised as the successor", got)
	}
	e.wantPair(succ, old, 7)
}

// A precision suspect of the old account is the pair's, listed once.
func TestRelinkPrecisionSuspectListedOnce(t *testing.T) {
	e, old, _ := relinkWorld(t)
	e.srv.AddTxn(plaidfake.Txn{AccountID: old, Amount: "-1250000.00", Date: e.day(1), Name: "Building sale"})
	e.run(jobs.JobSync)
	succ, tok := e.srv.Relink(old, 0)
	e.relinkRun(tok)
	r, _ := e.reconcileStatus()
	if len(r.PrecisionSuspects) != 1 || r.PrecisionSuspects[0].AccountID != succ {
		t.Fatalf("precision suspects %+v, want the sale once, under %s", r.PrecisionSuspects, succ)
	}
}
