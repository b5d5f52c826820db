package jobs_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"bankfeed/jobs"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

// TestHostileResponsesWriteNothing: each broken answer from Plaid fails
// only its token, with an error naming the token's database id; its cursor
// does not move, nothing of the update is written, the other token syncs,
// and the next run converges once the server behaves.
func TestHostileResponsesWriteNothing(t *testing.T) {
	kinds := map[string]plaidfake.FaultKind{
		"truncated": plaidfake.FaultTruncated, "wrong types": plaidfake.FaultWrongTypes,
		"missing fields": plaidfake.FaultMissingFields, "both currencies": plaidfake.FaultBothCurrencies,
		"no currency": plaidfake.FaultNoCurrency, "unknown currency": plaidfake.FaultUnknownCurrency,
		"too precise": plaidfake.FaultTooPrecise, "foreign account": plaidfake.FaultForeignAccount,
		"has_more stuck": plaidfake.FaultHasMoreStuck, "has_more empty cursor": plaidfake.FaultHasMoreEmptyCursor,
		"endless": plaidfake.FaultEndless,
	}
	for name, kind := range kinds {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.runner.MaxPages = 50
			chk, bad := seedChecking(e)
			card, good := e.srv.AddAccount(plaidfake.Account{Type: "credit", Subtype: "credit card", Opening: "10.00"})
			e.srv.AddTxn(plaidfake.Txn{AccountID: card, Amount: "5.00", Date: "2026-10-01", Name: "ok"})
			e.put("biz1", bad, good)
			e.srv.Inject(bad, plaidfake.Fault{Endpoint: syncPath, Kind: kind}, -1)
			sum, err := e.runner.Run(context.Background(), "all")
			if !errors.Is(err, jobs.ErrTokensFailed) || !strings.Contains(err.Error(), "first token …"+bad[len(bad)-4:]+" of business biz1:") {
				t.Fatalf("run error = %v", err)
			}
			if strings.Contains(err.Error(), bad) {
				t.Fatal("run error contains the token")
			}
			var failed *jobs.TokenResult
			for i, r := range sum.Results {
				if r.Outcome == "failed" {
					failed = &sum.Results[i]
				}
			}
			if failed == nil || sum.Counts["synced"] != 1 || sum.Counts["failed"] != 1 {
				t.Fatalf("counts %v", sum.Counts)
			}
			if msg := failed.Err.Error(); strings.Contains(msg, bad) || msg == "" {
				t.Fatalf("error %q", msg)
			}
			toks, _ := e.store.Tokens(context.Background(), store.TokenFilter{})
			for _, tk := range toks {
				if tk.ID == failed.TokenID && (tk.Cursor != "" || tk.Status != store.StatusActive || tk.LastErrorAt == nil) {
					t.Fatalf("failed token moved: %+v", tk)
				}
			}
			if _, ok := e.balances()[chk]; ok {
				t.Fatal("something of the rejected update was written")
			}
			e.checkExact(card)
			e.srv.ClearFaults()
			e.run("all")
			e.checkExact(chk, card)
		})
	}
}
