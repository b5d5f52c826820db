package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"bankfeed/ledger"
	"bankfeed/plaidapi"
	"bankfeed/store"
)

// Real-time balance modes (BANKFEED_REALTIME_BALANCES).
const (
	RealtimeOff   = "off"
	RealtimeDaily = "daily"
)

// realtimeWindow is how fresh a real-time balance must be: Plaid requires
// min_last_updated_datetime for Capital One non-depository accounts, and
// a day-old balance is what a daily call can promise.
const realtimeWindow = 24 * time.Hour

// codeOutOfRange is Plaid's answer when the institution has no balance as
// fresh as min_last_updated_datetime: no real-time balance today, not a
// fault of the token.
const codeOutOfRange = "LAST_UPDATED_DATETIME_OUT_OF_RANGE"

// balanceDue says whether a token gets its paid real-time balance call in
// this run: only with BANKFEED_REALTIME_BALANCES=daily, and only for a token
// whose first sync completed in an earlier run (Plaid warns that a balance
// call on a young Item can trigger ITEM_LOGIN_REQUIRED).
func (r *Runner) balanceDue(before store.Token) bool {
	return r.RealtimeBalances == RealtimeDaily && before.Cursor != "" &&
		(before.History == store.HistoryInitial || before.History == store.HistoryComplete)
}

// balanceToken takes a real-time balance snapshot, at most one per token
// per UTC day. It is shown beside the ledger as money in flight; it never
// anchors an opening and never drives a status: it may already include
// transactions that sync delivers only after Plaid's next pull.
func (r *Runner) balanceToken(ctx context.Context, tok store.Token, secret string, res *TokenResult) error {
	now := r.now()
	claimed, err := r.Store.ClaimRealtime(ctx, tok.ID, now)
	if err != nil || !claimed {
		return err
	}
	res.BalanceCalls++
	acct, err := r.Plaid.Balance(ctx, secret, now.Add(-realtimeWindow))
	var pe *plaidapi.Error
	if errors.As(err, &pe) && pe.Code == codeOutOfRange {
		res.Code, res.RequestID = pe.Code, pe.RequestID
		return nil
	}
	if err != nil {
		return err
	}
	res.RequestID = acct.RequestID
	return r.Store.Update(ctx, func(tx *store.Tx) error {
		cur, err := tx.Token(tok.ID)
		if err != nil {
			return err
		}
		if cur.Status != store.StatusActive || cur.AccountID == 0 {
			return nil // flagged or removed meanwhile: not ours to record
		}
		a, err := tx.AccountByID(cur.AccountID)
		if err != nil {
			return err
		}
		if acct.ID != a.PlaidAccountID {
			return fmt.Errorf("balance for token %d names account %s, but the token syncs %s", tok.ID, acct.ID, a.PlaidAccountID)
		}
		snap := store.Snapshot{AccountID: a.ID, TokenID: tok.ID, RunID: r.runID, Currency: acct.Currency.Code,
			Current: acct.Current, Available: acct.Available, Limit: acct.Limit, RequestID: acct.RequestID,
			Source: store.SourceRealtime, TakenAt: tx.Now()}
		if lu := lastUpdated(acct); lu != nil {
			snap.TakenAt, snap.LastUpdated = *lu, lu
		}
		if err := tx.AddSnapshot(&snap); err != nil {
			return err
		}
		res.Snapshot = true
		return nil
	})
}

// anchor posts the first opening outside a sync update: how the balances
// job anchored before openings moved into the sync; the doctor replays
// such openings of older databases with it.
func anchor(tx *store.Tx, businessID string, a store.Account, current, snapshotID int64) error {
	return postOpening(tx, businessID, a, 1, current, snapshotID, 0)
}

// openingFor derives an opening from a balance consistent with the
// transactions synced so far: that balance minus the natural-sign effect of
// the posted ones, dated the day before the earliest.
func openingFor(tx *store.Tx, a store.Account, current int64) (minor int64, date string, err error) {
	sum, earliest, _, err := tx.PostedStats(a.ID, a.Currency)
	if err != nil {
		return 0, "", err
	}
	return ledger.OpeningFor(a.Kind, current, sum, earliest, tx.Now().Format("2006-01-02"))
}

// postOpening posts version v of the account's opening, derived from
// current, and records it as the live one.
func postOpening(tx *store.Tx, businessID string, a store.Account, v int, current, snapshotID, updateID int64) error {
	opening, date, err := openingFor(tx, a, current)
	if err != nil {
		return err
	}
	e, err := ledger.Opening(a.PlaidAccountID, a.Kind, v, date, ledger.Money{Minor: opening, Currency: a.Cur()})
	if err != nil {
		return fmt.Errorf("opening for %s: %w", a.PlaidAccountID, err)
	}
	if err := tx.PostEntry(businessID, a.ID, e, updateID); err != nil {
		return err
	}
	return tx.SetOpening(a.ID, v, date, opening, snapshotID)
}
