package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"bankfeed/plaidapi"
	"bankfeed/store"
)

// maxLoopRestarts bounds how often one run restarts a token's sync loop
// after Plaid reports a mutation during pagination.
const maxLoopRestarts = 4

// errNotReady means Plaid has no transactions for the token yet.
var errNotReady = errors.New("Plaid has no transactions for this token yet")

// errCursorMoved means another run applied an update for the token first.
var errCursorMoved = errors.New("another run advanced this token's cursor first")

// syncToken runs Plaid's cursor loop for one token: each page is logged as
// it arrives, and only when has_more is false is the whole update applied
// together with the new cursor, in one transaction. A loop that fails or is
// cut off is abandoned and never applied, so an abandoned loop cannot leave
// phantoms and a killed run leaves the ledger as it was.
func (r *Runner) syncToken(ctx context.Context, tok store.Token, secret string, res *TokenResult) error {
	if err := r.Store.AbandonStale(ctx, tok.ID); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err := r.syncOnce(ctx, tok, secret, res)
		if !plaidapi.IsMutationDuringPagination(err) || attempt >= maxLoopRestarts {
			return err
		}
		res.LoopRestarts++
	}
}

func (r *Runner) syncOnce(ctx context.Context, tok store.Token, secret string, res *TokenResult) error {
	start := tok.Cursor
	updID, err := r.Store.BeginUpdate(ctx, tok.ID, r.runID, start)
	if err != nil {
		return err
	}
	abandon := func(reason string) {
		// The update stays in the log as abandoned; a failure to mark it is
		// harmless because open updates are abandoned at the next start.
		_ = r.Store.AbandonUpdate(context.WithoutCancel(ctx), updID, reason)
	}
	cursor, last := start, plaidapi.Page{}
	for seq := 0; ; seq++ {
		if seq >= r.maxPages() {
			abandon("page cap")
			return fmt.Errorf("%w: more than %d pages in one sync (BANKFEED_MAX_PAGES); refusing to loop", ErrBadPage, r.maxPages())
		}
		if err := ctx.Err(); err != nil {
			abandon("interrupted")
			return err
		}
		p, err := r.Plaid.Sync(ctx, secret, cursor, r.pageSize())
		if err != nil {
			abandon(errorReason(err))
			return err
		}
		payload, err := json.Marshal(p)
		if err != nil {
			abandon("encode")
			return err
		}
		meta := store.PageMeta{Seq: seq, CursorBefore: cursor, CursorAfter: p.NextCursor, HasMore: p.HasMore, RequestID: p.RequestID,
			Added: len(p.Added), Modified: len(p.Modified), Removed: len(p.Removed)}
		if err := r.Store.AppendPage(ctx, updID, meta, payload); err != nil {
			abandon("log")
			return err
		}
		res.Pages++
		res.RequestID = p.RequestID
		last = p
		if !p.HasMore {
			break
		}
		cursor = p.NextCursor
	}
	if last.NextCursor == "" {
		abandon("not ready")
		return errNotReady
	}
	err = r.Store.Update(ctx, func(tx *store.Tx) error {
		cur, err := tx.Token(tok.ID)
		if err != nil {
			return err
		}
		if cur.Cursor != start || cur.Status != store.StatusActive || cur.BusinessID != tok.BusinessID {
			return errCursorMoved
		}
		a := newApplier(tx, tok.BusinessID, tok.ID, updID, start == "")
		if err := tx.Pages(updID, func(_ store.PageMeta, payload []byte) error { return a.page(payload) }); err != nil {
			return err
		}
		if err := a.finish(); err != nil {
			return err
		}
		res.Applied = a.counts
		return tx.FinishUpdate(updID, tok.ID, last.NextCursor)
	})
	if err != nil {
		abandon(errorReason(err))
		if errors.Is(err, errCursorMoved) {
			return nil
		}
		return err
	}
	return nil
}

func errorReason(err error) string {
	var pe *plaidapi.Error
	if errors.As(err, &pe) && pe.Code != "" {
		return pe.Code
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "interrupted"
	}
	return "error"
}
