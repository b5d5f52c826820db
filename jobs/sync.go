package jobs

import (
	"time"

	"context"
	"errors"
	"fmt"
	"sync"

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
	return r.syncRestarting(ctx, tok, res, r.processorSource(tok, secret))
}

// syncRestarting runs the loop, restarting it from its first cursor when
// Plaid reports a mutation during pagination, as Plaid asks.
func (r *Runner) syncRestarting(ctx context.Context, tok store.Token, res *TokenResult, src syncSource) error {
	for attempt := 1; ; attempt++ {
		err := r.syncOnce(ctx, tok, res, src)
		if !plaidapi.IsMutationDuringPagination(err) || attempt >= maxLoopRestarts {
			return err
		}
		res.LoopRestarts++
	}
}

// fetched is one page of a sync loop, whatever its source.
type fetched struct {
	page any // what the page log keeps: a plaidapi.Page, or a plaidapi.ItemPage
	meta store.PageMeta
}

// syncSource is what differs between a processor token and an Item: how a
// page is fetched, and how a complete update's logged pages are applied.
// The loop around them (page log, abandon, cursor compare-and-set, one
// apply transaction) is syncOnce, the same for both.
type syncSource struct {
	fetch func(ctx context.Context, cursor string, seq int) (fetched, error)
	// prepare, when set, runs once the update is fetched and before it is
	// applied: what the apply needs from Plaid and cannot wait for inside
	// its transaction.
	prepare func(ctx context.Context) error
	apply   func(tx *store.Tx, updateID int64, fullSync bool) (ApplyCounts, error)
}

func (r *Runner) processorSource(tok store.Token, secret string) syncSource {
	institution := ""
	return syncSource{
		fetch: func(ctx context.Context, cursor string, seq int) (fetched, error) {
			p, err := r.Plaid.Sync(ctx, secret, cursor, r.pageSize())
			return fetched{page: p, meta: pageMeta(seq, cursor, p)}, err
		},
		// A token's first sync asks which bank holds its account, once: a
		// re-linked account is recognised by it (see applier.succeed). The
		// page does not carry it, and the apply cannot wait on Plaid. An
		// account synced before bankfeed recorded banks learns it at its
		// next sync, so that its successor can be recognised when it comes.
		prepare: func(ctx context.Context) error {
			if tok.AccountID != 0 && tok.InstitutionKnown {
				return nil
			}
			acct, err := r.Plaid.Account(ctx, secret)
			institution = acct.InstitutionID
			return err
		},
		apply: func(tx *store.Tx, updID int64, fullSync bool) (ApplyCounts, error) {
			a := newApplier(tx, tok.BusinessID, tok.ID, updID, fullSync)
			a.runID = r.runID
			a.institution = institution
			if err := applyLogged(tx, updID, a); err != nil {
				return ApplyCounts{}, err
			}
			if err := a.finish(); err != nil {
				return ApplyCounts{}, err
			}
			return a.counts, nil
		},
	}
}

func (r *Runner) syncOnce(ctx context.Context, tok store.Token, res *TokenResult, src syncSource) error {
	start := tok.Cursor
	// The update is recorded when its first page must be logged on its
	// own (a loop of several pages); a loop of one page records it in the
	// transaction that applies it. Until then there is nothing to abandon:
	// a loop cut off before either leaves no trace, and the next run
	// fetches from the same cursor.
	var updID int64
	// Pages are logged on another goroutine while the next one is fetched:
	// the cursor chain makes fetching serial, but encoding and writing a
	// page need not wait for it. The log is drained before anything else
	// happens to the update, so no page lands after an abandon.
	var log *pageLogger
	begin := func() error {
		if updID != 0 {
			return nil
		}
		id, err := r.Store.BeginUpdate(ctx, tok.ID, r.runID, start)
		if err != nil {
			return err
		}
		updID, log = id, newPageLogger(ctx, r.Store, id)
		return nil
	}
	abandon := func(reason string) {
		if updID == 0 {
			return
		}
		// The update stays in the log as abandoned; a failure to mark it is
		// harmless because open updates are abandoned at the next start.
		_ = r.Store.AbandonUpdate(context.WithoutCancel(ctx), updID, reason)
	}
	closeLog := func() error {
		if log == nil {
			return nil
		}
		return log.close()
	}
	fail := func(reason string, err error) error {
		closeLog()
		abandon(reason)
		return err
	}
	// Progress is told by the wall clock, whatever clock the run dates
	// things with: it measures how long the operator has been waiting.
	changes, told, lastTold := 0, false, time.Now()
	progress := func(msg string) {
		r.log.Info().Str("token_hint", tok.Hint).Str("business_id", tok.BusinessID).Int("pages", res.Pages).
			Int("changes", changes).Msg(msg)
		told, lastTold = true, time.Now()
	}
	cursor, last := start, fetched{}
	for seq := 0; ; seq++ {
		if seq >= r.maxPages() {
			return fail("page cap", fmt.Errorf("%w: more than %d pages in one sync (BANKFEED_MAX_PAGES); refusing to loop", ErrBadPage, r.maxPages()))
		}
		if err := ctx.Err(); err != nil {
			return fail("interrupted", err)
		}
		if log != nil {
			if err := log.err(); err != nil {
				return fail("log", err)
			}
		}
		f, err := src.fetch(ctx, cursor, seq)
		if err != nil {
			return fail(errorReason(err), err)
		}
		res.Pages++
		res.RequestID = f.meta.RequestID
		changes += f.meta.Added + f.meta.Modified + f.meta.Removed
		if time.Since(lastTold) >= r.progressEvery() {
			progress("sync progress: fetching pages")
		}
		last = f
		if !f.meta.HasMore {
			break
		}
		if err := begin(); err != nil {
			return fail("log", err)
		}
		log.add(f.meta, f.page)
		cursor = f.meta.CursorAfter
	}
	// The last page is logged in the transaction that applies the update,
	// saving a commit per token (most updates are one page); a loop that
	// cannot be applied logs it on its own, for the record.
	if last.meta.CursorAfter == "" {
		if err := begin(); err != nil {
			return fail("log", err)
		}
		log.add(last.meta, last.page)
		log.close()
		abandon("not ready")
		return errNotReady
	}
	if err := closeLog(); err != nil {
		abandon("log")
		return err
	}
	lastPayload, err := encodePage(last.page)
	if err != nil {
		abandon("encode")
		return err
	}
	if src.prepare != nil {
		if err := src.prepare(ctx); err != nil {
			abandon(errorReason(err))
			return err
		}
	}
	if told {
		progress("sync progress: all pages fetched, applying them to the ledger")
	}
	err = r.Store.Update(ctx, func(tx *store.Tx) error {
		cur, err := tx.Token(tok.ID)
		if err != nil {
			return err
		}
		if cur.Cursor != start || cur.Status != store.StatusActive || cur.BusinessID != tok.BusinessID {
			return errCursorMoved
		}
		// The id of an update begun here is not kept outside: if this
		// transaction rolls back, another token's update may take it.
		id := updID
		if id == 0 {
			if id, err = tx.BeginUpdate(tok.ID, r.runID, start); err != nil {
				return err
			}
		}
		if err := tx.AppendPage(id, last.meta, lastPayload); err != nil {
			return err
		}
		counts, err := src.apply(tx, id, start == "")
		if err != nil {
			return err
		}
		res.Applied = counts
		return tx.FinishUpdate(id, tok.ID, last.meta.CursorAfter)
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

// pageLogger encodes and appends fetched pages in order on its own
// goroutine. At most one page waits while another is written, so memory
// stays bounded by a few pages.
type pageLogger struct {
	pages chan loggedPage
	done  chan struct{}
	mu    sync.Mutex
	first error
}

type loggedPage struct {
	meta store.PageMeta
	p    any // a plaidapi.Page, or a plaidapi.ItemPage for an Item
}

func pageMeta(seq int, cursorBefore string, p plaidapi.Page) store.PageMeta {
	return store.PageMeta{Seq: seq, CursorBefore: cursorBefore, CursorAfter: p.NextCursor, HasMore: p.HasMore,
		RequestID: p.RequestID, Added: len(p.Added), Modified: len(p.Modified), Removed: len(p.Removed)}
}

func newPageLogger(ctx context.Context, st *store.Store, updateID int64) *pageLogger {
	l := &pageLogger{pages: make(chan loggedPage, 1), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for lp := range l.pages {
			if l.err() != nil {
				continue // drain: the loop stops at its next check
			}
			payload, err := encodePage(lp.p)
			if err == nil {
				err = st.AppendPage(ctx, updateID, lp.meta, payload)
			}
			if err != nil {
				l.mu.Lock()
				l.first = err
				l.mu.Unlock()
			}
		}
	}()
	return l
}

func (l *pageLogger) add(meta store.PageMeta, p any) {
	l.pages <- loggedPage{meta: meta, p: p}
}

func (l *pageLogger) err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first
}

// close waits until every added page is written or refused.
func (l *pageLogger) close() error {
	close(l.pages)
	<-l.done
	return l.err()
}

// applyLogged applies an update's logged pages in order, decoding the next
// page on another core while the current one is applied; the apply itself
// is single-threaded SQLite work. Two pages are held at most.
func applyLogged(tx *store.Tx, updateID int64, a *applier) error {
	type decoded struct {
		p   plaidapi.Page
		err error
	}
	decode := func(payload []byte) <-chan decoded {
		ch := make(chan decoded, 1)
		go func() {
			p, err := readLoggedPage(payload)
			ch <- decoded{p, err}
		}()
		return ch
	}
	apply := func(ch <-chan decoded) error {
		d := <-ch
		if d.err != nil {
			return d.err
		}
		return a.page(d.p)
	}
	var ahead <-chan decoded
	err := tx.Pages(updateID, func(_ store.PageMeta, payload []byte) error {
		next := decode(payload)
		if ahead != nil {
			if err := apply(ahead); err != nil {
				return err
			}
		}
		ahead = next
		return nil
	})
	if err != nil || ahead == nil {
		return err
	}
	return apply(ahead)
}
