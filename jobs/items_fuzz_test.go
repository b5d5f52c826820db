package jobs_test

import (
	"context"
	"fmt"
	"testing"

	"bankfeed/jobs"
	"bankfeed/plaidfake"
)

// FuzzItemSync drives an Item with two accounts through a program of bank
// changes and syncs at varying page sizes (so one update's pages mix both
// accounts in every way): after each sync every account's ledger is the
// bank's, and doctor rebuilds the journal from the Item pages.
func FuzzItemSync(f *testing.F) {
	f.Add([]byte{0, 10, 1, 20, 5, 3, 0, 9, 2, 0, 4, 0, 5, 7, 3, 1, 5, 1})
	f.Add([]byte{1, 1, 1, 2, 1, 3, 5, 2, 4, 0, 4, 1, 4, 2, 5, 5, 2, 2, 2, 3, 5, 1})
	f.Add([]byte{0, 200, 0, 201, 3, 7, 3, 8, 5, 4, 2, 1, 2, 2, 5, 9})
	f.Fuzz(func(t *testing.T, prog []byte) {
		if len(prog) > 64 {
			prog = prog[:64]
		}
		e := newEnv(t)
		_, accts := e.linkItem("biz-fz")
		e.run(jobs.JobSync)
		arg := func(i int) byte {
			if i < len(prog) {
				return prog[i]
			}
			return 0
		}
		live := func(acct string, pending bool) []plaidfake.Txn {
			var out []plaidfake.Txn
			for _, tx := range e.srv.Txns(acct) {
				if tx.Pending == pending {
					out = append(out, tx)
				}
			}
			return out
		}
		for i := 0; i < len(prog); i += 2 {
			op, a := prog[i]%6, arg(i+1)
			acct := accts[int(a)&1]
			amount := fmt.Sprintf("%d.%02d", int(a)%40, int(a)%100)
			switch op {
			case 0, 1:
				e.srv.AddTxn(plaidfake.Txn{AccountID: acct, Amount: amount, Date: fmt.Sprintf("2026-11-%02d", 1+int(a)%25), Name: "fz", Pending: op == 1})
			case 2:
				if l := live(acct, false); len(l) > 0 {
					e.srv.RemoveTxn(l[int(a)%len(l)].ID)
				}
			case 3:
				if l := live(acct, false); len(l) > 0 {
					e.srv.ModifyTxn(l[int(a)%len(l)].ID, func(t *plaidfake.Txn) { t.Amount = amount })
				}
			case 4:
				if l := live(acct, true); len(l) > 0 {
					e.srv.PostPending(l[0].ID, plaidfake.Txn{Date: "2026-11-26", Name: "fz posted", Amount: amount}, a&2 == 0)
				}
			case 5:
				e.runner.PageSize = 1 + int(a)%6
				e.run(jobs.JobSync)
				e.checkExact(accts...)
			}
		}
		e.run(jobs.JobSync)
		e.checkExact(accts...)
		rep, err := jobs.Doctor(context.Background(), e.store, 0)
		if err != nil || !rep.OK {
			t.Fatalf("doctor: %+v %v", rep, err)
		}
	})
}
