package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"bankfeed/plaidapi"
	"bankfeed/store"
)

// Items bankfeed links itself sync with /transactions/sync: one access
// token, one cursor, every account of the Item in one stream. The loop is
// the processor loop's (page log, abandon, mutation restart, cursor CAS,
// apply in one transaction); only the apply differs: each logged Item
// page is split into one page per account, and each account's pages go
// to that account's own applier, all inside the one transaction that
// then advances the Item's cursor.

// runItem is runToken for an Item.
func (r *Runner) runItem(ctx context.Context, job string, t store.Token, secret string) TokenResult {
	res := TokenResult{TokenID: t.ID, BusinessID: t.BusinessID, ItemID: t.ItemID}
	if t.Status == store.StatusNeedsRefresh {
		// /accounts/get answers once the owner has repaired the login.
		if _, _, err := r.Plaid.ItemAccounts(ctx, secret); err != nil {
			r.handleErr(ctx, t, err, &res)
			if res.Outcome == "flagged" {
				res.Outcome = "still_flagged"
			}
			return res
		}
		if err := r.Store.Reactivate(ctx, t.ID); err != nil {
			res.Outcome, res.Err = "failed", err
			return res
		}
		if job == JobProbe {
			res.Outcome = "reactivated"
			return res
		}
		t.Status = store.StatusActive
	}
	if job != JobSync && job != JobAll {
		// Real-time balances are a processor-token option; an Item's
		// pull-consistent balances come with every sync.
		res.Outcome = "skipped"
		return res
	}
	if r.WebhookURL != "" && t.WebhookURL != r.WebhookURL {
		if err := r.pointWebhook(ctx, t, secret); err != nil {
			r.handleErr(ctx, t, err, &res)
			return res
		}
	}
	err := r.syncItem(ctx, t, secret, &res)
	switch {
	case errors.Is(err, errNotReady):
		if err := r.Store.SetNotReady(ctx, t.ID); err != nil {
			res.Outcome, res.Err = "failed", err
			return res
		}
		res.Outcome = "not_ready"
	case err != nil:
		r.handleErr(ctx, t, err, &res)
	default:
		res.Outcome = "synced"
	}
	return res
}

// syncItem runs the processor loop (syncOnce) over the Item's source.
func (r *Runner) syncItem(ctx context.Context, t store.Token, secret string, res *TokenResult) error {
	known, err := r.Store.ItemAccountIDs(ctx, t.ID)
	if err != nil {
		return err
	}
	return r.syncRestarting(ctx, t, res, syncSource{
		fetch: func(ctx context.Context, cursor string, seq int) (fetched, error) {
			p, err := r.Plaid.ItemSync(ctx, secret, cursor, r.pageSize(), known...)
			return fetched{page: p, meta: itemPageMeta(seq, cursor, p)}, err
		},
		apply: func(tx *store.Tx, updID int64, fullSync bool) (ApplyCounts, error) {
			return applyItemPages(tx, t.BusinessID, t.ID, updID, fullSync, r.runID, t.InstitutionID,
				func(fn func(store.PageMeta, []byte) error) error { return tx.Pages(updID, fn) })
		},
	})
}

func itemPageMeta(seq int, cursorBefore string, p plaidapi.ItemPage) store.PageMeta {
	return store.PageMeta{Seq: seq, CursorBefore: cursorBefore, CursorAfter: p.NextCursor, HasMore: p.HasMore,
		RequestID: p.RequestID, Added: len(p.Added), Modified: len(p.Modified), Removed: len(p.Removed)}
}

// applyItemPages feeds an Item update's logged pages (from pages: the
// log of this store, or of the original when doctor rebuilds), split per
// account, to one applier per account, and finishes each.
// institution is the Item's bank, by which a re-linked account is
// recognised ("" when rebuilding: the rebuild copies who succeeds whom).
func applyItemPages(tx *store.Tx, businessID string, tokenID, updID int64, fullSync bool, runID, institution string,
	pages func(func(store.PageMeta, []byte) error) error) (ApplyCounts, error) {
	appliers := map[string]*applier{}
	var order []string
	err := pages(func(_ store.PageMeta, payload []byte) error {
		var ip plaidapi.ItemPage
		if err := json.Unmarshal(payload, &ip); err != nil {
			return fmt.Errorf("%w: logged Item page does not decode: %v", ErrBadPage, err)
		}
		split, err := splitItemPage(tx, ip)
		if err != nil {
			return err
		}
		for _, p := range split {
			a := appliers[p.Account.ID]
			if a == nil {
				a = newApplier(tx, businessID, tokenID, updID, fullSync)
				a.runID, a.institution = runID, institution
				appliers[p.Account.ID] = a
				order = append(order, p.Account.ID)
			}
			if err := a.page(p); err != nil {
				return fmt.Errorf("account %s: %w", p.Account.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return ApplyCounts{}, err
	}
	var total ApplyCounts
	for _, id := range order {
		a := appliers[id]
		if err := a.finish(); err != nil {
			return ApplyCounts{}, fmt.Errorf("account %s: %w", id, err)
		}
		total = total.plus(a.counts)
	}
	return total, nil
}

// splitItemPage makes one processor-shaped page per account of an Item
// page, keeping the order of added, modified and removed within each. A
// removal that names no account goes to the account holding it.
func splitItemPage(tx *store.Tx, ip plaidapi.ItemPage) ([]plaidapi.Page, error) {
	if len(ip.Accounts) == 0 {
		return nil, fmt.Errorf("%w: the Item page names no account", ErrBadPage)
	}
	pages := make([]plaidapi.Page, len(ip.Accounts))
	at := make(map[string]int, len(ip.Accounts))
	for i, a := range ip.Accounts {
		at[a.ID] = i
		pages[i] = plaidapi.Page{Account: a, Added: []plaidapi.Transaction{}, Modified: []plaidapi.Transaction{}, Removed: []plaidapi.Removed{},
			NextCursor: ip.NextCursor, HasMore: ip.HasMore, RequestID: ip.RequestID, UpdateStatus: ip.UpdateStatus}
	}
	index := func(accountID, what, txnID string) (int, error) {
		i, ok := at[accountID]
		if !ok {
			return 0, fmt.Errorf("%w: %s transaction %s belongs to account %q, which the page does not list", ErrBadPage, what, txnID, accountID)
		}
		return i, nil
	}
	for _, t := range ip.Added {
		i, err := index(t.AccountID, "added", t.ID)
		if err != nil {
			return nil, err
		}
		pages[i].Added = append(pages[i].Added, t)
	}
	for _, t := range ip.Modified {
		i, err := index(t.AccountID, "modified", t.ID)
		if err != nil {
			return nil, err
		}
		pages[i].Modified = append(pages[i].Modified, t)
	}
	for _, rm := range ip.Removed {
		acct := rm.AccountID
		if acct == "" {
			id, err := tx.TxnPlaidAccount(rm.TransactionID)
			if err != nil {
				return nil, err
			}
			acct = id
		}
		i, ok := at[acct]
		if !ok {
			i = 0 // unknown to us and to the page: the applier counts it as an unknown removal
		}
		pages[i].Removed = append(pages[i].Removed, rm)
	}
	return pages, nil
}

func (c ApplyCounts) plus(o ApplyCounts) ApplyCounts {
	c.Added += o.Added
	c.Modified += o.Modified
	c.Removed += o.Removed
	c.Unchanged += o.Unchanged
	c.Posted += o.Posted
	c.Reversed += o.Reversed
	c.PendingStaged += o.PendingStaged
	c.UnknownRemoved += o.UnknownRemoved
	c.Swept += o.Swept
	c.OpeningRederived = c.OpeningRederived || o.OpeningRederived
	c.Anchored = c.Anchored || o.Anchored
	if o.History != "" {
		c.History = o.History
	}
	return c
}
