package jobs

import (
	"context"
	"fmt"
	"time"

	"bankfeed/ledger"
	"bankfeed/plaidapi"
	"bankfeed/store"
)

// balanceToken takes a real-time balance snapshot and, the first time an
// account has both a complete sync and a reported current balance, anchors
// its opening balance to it.
func (r *Runner) balanceToken(ctx context.Context, tok store.Token, secret string, res *TokenResult) error {
	acct, err := r.Plaid.Balance(ctx, secret, time.Time{})
	if err != nil {
		return err
	}
	res.RequestID = acct.RequestID
	return r.Store.Update(ctx, func(tx *store.Tx) error {
		cur, err := tx.Token(tok.ID)
		if err != nil {
			return err
		}
		if cur.Status != store.StatusActive {
			return nil // flagged or removed meanwhile: not ours to record
		}
		a, err := tx.EnsureAccount(tok.BusinessID, tok.ID, accountInfo(acct))
		if err != nil {
			return err
		}
		snap := store.Snapshot{AccountID: a.ID, TokenID: tok.ID, RunID: r.runID, Currency: acct.Currency.Code,
			Current: acct.Current, Available: acct.Available, Limit: acct.Limit, RequestID: acct.RequestID, TakenAt: tx.Now()}
		if err := tx.AddSnapshot(&snap); err != nil {
			return err
		}
		res.Snapshot = true
		// Anchor only after a complete sync (the cursor moved), never after
		// a failed or partial one, and only once: re-anchoring would hide
		// every later difference.
		if a.OpeningVersion > 0 || a.Kind == "" || cur.Cursor == "" || acct.Current == nil || acct.Currency.Code != a.Currency {
			return nil
		}
		return anchor(tx, tok.BusinessID, a, *acct.Current, snap.ID)
	})
}

func anchor(tx *store.Tx, businessID string, a store.Account, current, snapshotID int64) error {
	cur := a.Cur()
	sum, earliest, _, err := tx.PostedStats(a.ID, a.Currency)
	if err != nil {
		return err
	}
	opening := current - a.Kind.Natural(-sum)
	date := tx.Now().Format("2006-01-02")
	if earliest != "" {
		date = earliest
	}
	if date, err = ledger.DayBefore(date); err != nil {
		return err
	}
	e, err := ledger.Opening(a.PlaidAccountID, a.Kind, 1, date, ledger.Money{Minor: opening, Currency: cur})
	if err != nil {
		return fmt.Errorf("opening for %s: %w", a.PlaidAccountID, err)
	}
	if err := tx.PostEntry(businessID, a.ID, e, 0); err != nil {
		return err
	}
	return tx.SetOpening(a.ID, 1, date, opening, snapshotID)
}

func accountInfo(a plaidapi.Account) store.AccountInfo {
	return store.AccountInfo{PlaidAccountID: a.ID, Name: a.Name, OfficialName: a.OfficialName, Mask: a.Mask,
		Type: a.Type, Subtype: a.Subtype, Currency: a.Currency.Code, CurrencyExponent: a.Currency.Exponent}
}
