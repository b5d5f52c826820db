package jobs_test

import (
	"context"
	"testing"

	"bankfeed/ledger"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

func seedChecking(e *env) (acct, tok string) {
	acct, tok = e.srv.AddAccount(plaidfake.Account{Name: "Checking", Mask: "0001", Type: "depository", Subtype: "checking", ISOCurrency: "USD", Opening: "1000.00"})
	for i, amt := range []string{"12.34", "-2500.00", "0.29", "99.99", "45.10", "-0.01", "7.00", "310.55", "18.18", "2.50", "1000.00", "-12.00"} {
		e.srv.AddTxn(plaidfake.Txn{AccountID: acct, Amount: amt, Date: "2026-10-" + two(i+1), Name: "txn " + amt})
	}
	return acct, tok
}

func two(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }

func TestInitialSyncMatchesBank(t *testing.T) {
	e := newEnv(t)
	chk, ctok := seedChecking(e)
	card, ktok := e.srv.AddAccount(plaidfake.Account{Name: "Card", Type: "credit", Subtype: "credit card", ISOCurrency: "USD", Opening: "150.00", Limit: "5000"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: card, Amount: "400.00", Date: "2026-10-03", Name: "Office"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: card, Amount: "-250.00", Date: "2026-10-09", Name: "Payment"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: card, Amount: "19.99", Date: "2026-10-10", Name: "Coffee", Pending: true})
	e.put("biz1", ctok, ktok)
	sum := e.run("all")
	if sum.Counts["synced"] != 2 {
		t.Fatalf("synced %v", sum.Counts)
	}
	e.checkExact(chk, card)
	b := e.balances()[card]
	if b.PendingCount != 1 || b.PendingTotal != 1999 {
		t.Fatalf("card pending = %d / %d, want 1 / 1999", b.PendingCount, b.PendingTotal)
	}
	// Opening anchored from the first reported balance: the card owed
	// 300.00 after 400.00 of purchases and a 250.00 payment, so it opened at 150.00.
	if b.Opening != 15000 || !b.Anchored {
		t.Fatalf("card opening = %d anchored=%v, want 15000", b.Opening, b.Anchored)
	}
	// A second run with nothing new changes nothing.
	before, _ := e.store.Journal(context.Background())
	e.run("all")
	after, _ := e.store.Journal(context.Background())
	if len(after) != len(before) {
		t.Fatalf("idle run posted %d entries", len(after)-len(before))
	}
	e.checkExact(chk, card)
}

func TestChangesConverge(t *testing.T) {
	e := newEnv(t)
	chk, tok := seedChecking(e)
	pend := e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "40.00", Date: "2026-10-20", Name: "Diner", Pending: true})
	pend2 := e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "15.00", Date: "2026-10-20", Name: "Gas", Pending: true})
	hold := e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "100.00", Date: "2026-10-20", Name: "Hotel hold", Pending: true})
	e.put("biz1", tok)
	e.run("all")
	e.checkExact(chk)

	txns := e.srv.Txns(chk)
	var posted []string
	for _, tx := range txns {
		if !tx.Pending {
			posted = append(posted, tx.ID)
		}
	}
	e.srv.ModifyTxn(posted[0], func(t *plaidfake.Txn) { t.Amount = "13.34" })         // economic
	e.srv.ModifyTxn(posted[1], func(t *plaidfake.Txn) { t.Name = "Renamed deposit" }) // descriptive only
	e.srv.ModifyTxn(posted[2], func(t *plaidfake.Txn) { t.Date = "2026-10-30" })      // date move
	e.srv.RemoveTxn(posted[3])                                                        // removed
	e.srv.PostPending(pend, plaidfake.Txn{AccountID: chk, Amount: "48.00", Date: "2026-10-22", Name: "Diner + tip"}, true)
	e.srv.PostPending(pend2, plaidfake.Txn{AccountID: chk, Amount: "15.00", Date: "2026-10-22", Name: "Gas"}, false)
	e.srv.RemoveTxn(hold) // a hold that vanished
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "5.55", Date: "2026-10-25", Name: "New"})
	sum := e.run("all")
	e.checkExact(chk)
	a := sum.Results[0].Applied
	if a.Reversed != 3 { // amount change, date move, removal
		t.Errorf("reversed = %d, want 3 (%+v)", a.Reversed, a)
	}
	if a.Posted != 5 { // two re-posts, two posted pendings, one new
		t.Errorf("posted = %d, want 5 (%+v)", a.Posted, a)
	}
	if b := e.balances()[chk]; b.PendingCount != 0 || b.PendingTotal != 0 {
		t.Errorf("pending left: %+v", b)
	}
}

func TestPendingNeverMovesPostedBalance(t *testing.T) {
	e := newEnv(t)
	chk, tok := seedChecking(e)
	e.put("biz1", tok)
	e.run("all")
	before := e.balances()[chk].Balance
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "75.00", Date: "2026-11-01", Name: "Pending", Pending: true})
	e.run("all")
	b := e.balances()[chk]
	if b.Balance != before || b.PendingTotal != -7500 || b.PendingCount != 1 {
		t.Fatalf("pending moved the posted balance: before %d, now %+v", before, b)
	}
	e.checkExact(chk)
}

func TestJournalIsAppendOnly(t *testing.T) {
	e := newEnv(t)
	chk, tok := seedChecking(e)
	e.put("biz1", tok)
	e.run("all")
	e.checkExact(chk)
	err := e.store.Update(context.Background(), func(tx *store.Tx) error {
		return tx.PostEntry("biz1", 0, ledger.Entry{ID: "x", Kind: ledger.KindTxn, Date: "2026-01-01",
			Lines: []ledger.Line{{Account: "a", Currency: "USD", Amount: 1}, {Account: "b", Currency: "USD", Amount: -2}}}, 0)
	})
	if err == nil {
		t.Fatal("unbalanced entry accepted")
	}
	for _, q := range []string{"UPDATE journal_lines SET amount = amount + 1", "DELETE FROM journal_entries", "DELETE FROM journal_lines",
		"UPDATE journal_entries SET date = '2000-01-01'", "DELETE FROM sync_pages", "UPDATE balance_snapshots SET current = 0"} {
		if err := e.store.Exec(context.Background(), q); err == nil {
			t.Errorf("%s: allowed", q)
		}
	}
	e.checkExact(chk)
}

// A hold that settles with a date on or before the opening date is new
// money, not late history: Plaid's current balance never held it, so the
// opening must stay where it was anchored.
func TestSettledHoldDatedBeforeOpeningKeepsOpening(t *testing.T) {
	for _, link := range []bool{true, false} {
		t.Run(map[bool]string{true: "linked", false: "unlinked"}[link], func(t *testing.T) {
			e := newEnv(t)
			chk, tok := e.srv.AddAccount(plaidfake.Account{Name: "Checking", Type: "depository", Subtype: "checking", ISOCurrency: "USD", Opening: "1000.00"})
			e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "1.00", Date: "2026-10-05", Name: "fee"})
			hold := e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "40.00", Date: "2026-10-03", Name: "Diner", Pending: true})
			e.put("biz1", tok)
			e.run("all")
			e.checkExact(chk)
			opening := e.balances()[chk].Opening

			// Banks settle on or after the hold's date; the earliest they can is that day.
			e.srv.PostPending(hold, plaidfake.Txn{AccountID: chk, Amount: "40.00", Date: "2026-10-03", Name: "Diner"}, link)
			sum := e.run("all")
			if a := sum.Results[0].Applied; a.OpeningRederived {
				t.Fatalf("settled hold re-derived the opening: %+v", a)
			}
			if got := e.balances()[chk].Opening; got != opening {
				t.Fatalf("opening moved from %d to %d", opening, got)
			}
			e.checkExact(chk)
		})
	}
}
