package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"bankfeed/ledger"
	"bankfeed/plaidapi"
	"bankfeed/store"
)

// ErrBadPage marks a page that cannot be applied as it stands. Nothing of
// its update is written.
var ErrBadPage = errors.New("sync page rejected")

// ApplyCounts says what an update changed.
type ApplyCounts struct {
	Added, Modified, Removed, Unchanged int
	Posted, Reversed                    int
	PendingStaged                       int
	UnknownRemoved                      int
	Swept                               int // gone from a full resync: removed by absence
	OpeningRederived                    bool
	Anchored                            bool // the update posted the account's first opening
	History                             string
	// Succeeds is the Plaid id of the account this update's new account
	// was recognised to continue ("" when none).
	Succeeds string
	// Duplicates counts a successor's transactions matched to its
	// predecessor's (recorded, never posted); HoldsRetired the
	// predecessor's staged holds the new Item stands in for.
	Duplicates, HoldsRetired int
}

// applier turns one complete sync update into bank-transaction rows and
// journal entries, inside the caller's transaction.
type applier struct {
	tx         *store.Tx
	businessID string
	tokenID    int64
	updateID   int64
	acct       store.Account
	// book is the account whose ledger account and opening acct posts
	// to: acct itself, or for a successor the first of its predecessors.
	book        store.Account
	institution string   // from /processor/account/get on a token's first sync
	deferred    []string // a successor's transactions to match before they may post
	haveAcct    bool
	fullSync    bool            // the update started from an empty cursor
	seen        map[string]bool // transaction ids in a full resync of an account we already knew
	older       ledger.LateHistory
	counts      ApplyCounts
	// known holds the page's rows read in one statement, kept current as
	// the page is applied; a page's worth at most, so memory stays bounded.
	known map[string]store.BankTxn
	paged map[string]bool // ids the page's read looked for
	// last is the account as the update's last page reports it (balances
	// as of Plaid's last pull), status its transactions_update_status.
	last   plaidapi.Account
	status string
	runID  string // recorded on the update's balance snapshot
}

func newApplier(tx *store.Tx, businessID string, tokenID, updateID int64, fullSync bool) *applier {
	return &applier{tx: tx, businessID: businessID, tokenID: tokenID, updateID: updateID, fullSync: fullSync}
}

// decodePage reads a page back from the log.
func decodePage(payload []byte) (plaidapi.Page, error) {
	var p plaidapi.Page
	if err := json.Unmarshal(payload, &p); err != nil {
		return p, fmt.Errorf("%w: logged page does not decode: %v", ErrBadPage, err)
	}
	return p, nil
}

// logged applies one page as the log holds it.
func (a *applier) logged(payload []byte) error {
	p, err := decodePage(payload)
	if err != nil {
		return err
	}
	return a.page(p)
}

// page applies one page. Adds, modifies and removes are applied in
// page order, as Plaid asks.
func (a *applier) page(p plaidapi.Page) error {
	if err := a.account(p.Account); err != nil {
		return err
	}
	if p.Account.ID != "" {
		a.last = p.Account
	}
	a.status = p.UpdateStatus
	if err := a.readPage(p); err != nil {
		return err
	}
	for _, t := range p.Added {
		a.counts.Added++
		if err := a.upsert(t); err != nil {
			return err
		}
	}
	for _, t := range p.Modified {
		a.counts.Modified++
		if err := a.upsert(t); err != nil {
			return err
		}
	}
	for _, r := range p.Removed {
		a.counts.Removed++
		if err := a.remove(r); err != nil {
			return err
		}
	}
	return nil
}

// readPage reads every stored row the page can touch (its transactions and
// the holds they settle) in one statement.
func (a *applier) readPage(p plaidapi.Page) error {
	ids := make([]string, 0, len(p.Added)+len(p.Modified)+len(p.Removed))
	for _, list := range [][]plaidapi.Transaction{p.Added, p.Modified} {
		for _, t := range list {
			ids = append(ids, t.ID)
			if t.PendingTransactionID != "" {
				ids = append(ids, t.PendingTransactionID)
			}
		}
	}
	for _, r := range p.Removed {
		ids = append(ids, r.TransactionID)
	}
	known, err := a.tx.BankTxns(ids)
	if err != nil {
		return err
	}
	a.known, a.paged = known, make(map[string]bool, len(ids))
	for _, id := range ids {
		a.paged[id] = true
	}
	return nil
}

// bankTxn finds a stored transaction, from the page's read when it looked.
func (a *applier) bankTxn(id string) (store.BankTxn, bool, error) {
	if a.paged[id] {
		b, ok := a.known[id]
		return b, ok, nil
	}
	return a.tx.BankTxn(id)
}

// save writes a row and keeps the page's read current.
func (a *applier) save(b *store.BankTxn) error {
	if err := a.tx.SaveBankTxn(b); err != nil {
		return err
	}
	if a.paged[b.TransactionID] {
		a.known[b.TransactionID] = *b
	}
	return nil
}

func (a *applier) account(pa plaidapi.Account) error {
	if a.haveAcct {
		if pa.ID != "" && pa.ID != a.acct.PlaidAccountID {
			return fmt.Errorf("%w: the token's pages name two accounts (%s, %s)", ErrBadPage, a.acct.PlaidAccountID, pa.ID)
		}
		return nil
	}
	if pa.ID == "" {
		return fmt.Errorf("%w: the page names no account", ErrBadPage)
	}
	known, err := a.tx.KnownAccount(pa.ID)
	if err != nil {
		return err
	}
	acct, err := a.tx.EnsureAccount(a.businessID, a.tokenID, store.AccountInfo{
		PlaidAccountID: pa.ID, Name: pa.Name, OfficialName: pa.OfficialName, Mask: pa.Mask,
		Type: pa.Type, Subtype: pa.Subtype, Currency: pa.Currency.Code, CurrencyExponent: pa.Currency.Exponent,
		InstitutionID: a.institution,
	})
	if err != nil {
		return err
	}
	a.acct, a.book, a.haveAcct = acct, acct, true
	switch {
	case !known:
		if err := a.succeed(); err != nil {
			return err
		}
	case acct.BookID != 0:
		if a.book, err = a.tx.AccountByID(acct.BookID); err != nil {
			return err
		}
	}
	if a.fullSync {
		// A full sync of an account we already hold (a rotated or re-linked
		// token) lists every live transaction; anything we hold that it does
		// not list was removed while we were not looking.
		ids, err := a.tx.LiveTxnIDs(acct.ID)
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			a.seen = make(map[string]bool, len(ids))
		}
	}
	return nil
}

// succeed makes a new account the successor of the one account of its
// business that is the same real account (institution, type, subtype,
// mask, currency) and was let go (no active token): a re-linked bank. With
// none, or several, or one still active, it stays a new account and the
// report lists the look-alikes for a person to decide: nothing is merged
// that the rule does not match.
func (a *applier) succeed() error {
	cands, err := a.tx.PredecessorCandidates(a.acct)
	if err != nil || len(cands) != 1 || cands[0].Active || cands[0].Kind != a.acct.Kind {
		return err
	}
	pred, book := cands[0].Account, cands[0].Account
	if pred.BookID != 0 {
		if book, err = a.tx.AccountByID(pred.BookID); err != nil {
			return err
		}
	}
	through, err := a.tx.NewestPosted(book.ID)
	if err != nil {
		return err
	}
	if err := a.tx.SetSuccessor(&a.acct, pred, through); err != nil {
		return err
	}
	n, err := a.tx.RetireHolds(book.ID, a.acct.ID, a.updateID)
	if err != nil {
		return err
	}
	a.book, a.counts.Succeeds, a.counts.HoldsRetired = book, pred.PlaidAccountID, n
	return nil
}

func fromPlaid(t plaidapi.Transaction, accountID int64) store.BankTxn {
	cat := ""
	if len(t.Category) > 0 {
		b, _ := json.Marshal(t.Category)
		cat = string(b)
	}
	return store.BankTxn{
		AccountID: accountID, TransactionID: t.ID, Pending: t.Pending, PendingTransactionID: t.PendingTransactionID,
		Amount: t.Amount.Minor, Currency: t.Amount.Currency.Code, Date: t.Date, AuthorizedDate: t.AuthorizedDate,
		Datetime: t.Datetime, AuthorizedDatetime: t.AuthorizedDatetime, Name: t.Name, MerchantName: t.MerchantName,
		OriginalDescription: t.OriginalDescription, PFCPrimary: t.PFCPrimary, PFCDetailed: t.PFCDetailed,
		PFCConfidence: t.PFCConfidence, Category: cat, CategoryID: t.CategoryID, PaymentChannel: t.PaymentChannel,
		CheckNumber: t.CheckNumber, TransactionCode: t.TransactionCode, MerchantEntityID: t.MerchantEntityID,
		Website: t.Website, LogoURL: t.LogoURL, AccountOwner: t.AccountOwner, City: t.City, Region: t.Region,
		Country: t.Country, PostalCode: t.PostalCode,
	}
}

// sameFacts compares what Plaid said, ignoring bankfeed's bookkeeping.
func sameFacts(a, b store.BankTxn) bool {
	a.ID, a.Removed, a.Revision, a.EntryVersion, a.LiveEntryID, a.FirstUpdateID, a.LastUpdateID, a.DuplicateOf = 0, false, 0, 0, "", 0, 0, ""
	b.ID, b.Removed, b.Revision, b.EntryVersion, b.LiveEntryID, b.FirstUpdateID, b.LastUpdateID, b.DuplicateOf = 0, false, 0, 0, "", 0, 0, ""
	return a == b
}

// facts is what the posting policy knows of a stored transaction.
func facts(b store.BankTxn) ledger.TxnFacts {
	return ledger.TxnFacts{ID: b.TransactionID, Date: b.Date, Amount: b.Amount, Currency: b.Currency, Pending: b.Pending, Removed: b.Removed}
}

// txnState is a stored transaction with its bookkeeping, for the policy.
func txnState(b store.BankTxn) ledger.TxnState {
	return ledger.TxnState{Facts: facts(b), Live: b.LiveEntryID != "", Posted: b.EntryVersion != 0, Duplicate: b.DuplicateOf != ""}
}

// opening is the book's live opening, for the policy.
func (a *applier) opening() ledger.OpeningFacts {
	return ledger.OpeningFacts{Version: a.book.OpeningVersion, Date: a.book.OpeningDate, Natural: a.book.OpeningMinor, Currency: a.book.Currency}
}

func (a *applier) upsert(t plaidapi.Transaction) error {
	if t.AccountID != a.acct.PlaidAccountID {
		return fmt.Errorf("%w: transaction %s belongs to account %s, not this token's account %s", ErrBadPage, t.ID, t.AccountID, a.acct.PlaidAccountID)
	}
	if a.seen != nil {
		a.seen[t.ID] = true
	}
	if err := a.tx.NoteCurrency(t.Amount.Currency); err != nil {
		return fmt.Errorf("transaction %s: %w", t.ID, err)
	}
	old, known, err := a.bankTxn(t.ID)
	if err != nil {
		return err
	}
	if known && old.AccountID != a.acct.ID {
		return fmt.Errorf("%w: transaction %s is already recorded on another account", ErrBadPage, t.ID)
	}
	next := fromPlaid(t, a.acct.ID)
	if known && !old.Removed && sameFacts(old, next) {
		a.counts.Unchanged++ // a replay, or a token rotation re-listing history
		return nil
	}
	next.ID, next.EntryVersion, next.LiveEntryID = old.ID, old.EntryVersion, old.LiveEntryID
	next.FirstUpdateID, next.LastUpdateID, next.Revision = old.FirstUpdateID, a.updateID, old.Revision+1
	if !known {
		next.FirstUpdateID, next.Revision = a.updateID, 1
	}
	var prev *ledger.TxnState
	if known {
		s := txnState(old)
		prev = &s
	}
	d := ledger.Change(a.acct.Kind, prev, facts(next), a.acct.MatchThrough)
	if d.Release {
		if err := a.retirePredecessor(old.DuplicateOf); err != nil {
			return err
		}
	}
	if d.Duplicate {
		next.DuplicateOf = old.DuplicateOf
	}
	if d.Reverse {
		if err := a.reverse(&next); err != nil {
			return err
		}
	}
	switch {
	case d.Defer:
		// Matched with the whole update at finish, then posted or not.
		a.deferred = append(a.deferred, next.TransactionID)
	case d.Post:
		if err := a.post(&next); err != nil {
			return err
		}
		if d.FirstPosting {
			if err := a.noteOlder(next); err != nil {
				return err
			}
		}
	}
	if next.Pending {
		a.counts.PendingStaged++
	}
	return a.save(&next)
}

// posts says whether a transaction belongs in the journal (ledger.Posts).
func (a *applier) posts(b store.BankTxn) bool {
	return ledger.Posts(a.acct.Kind, facts(b))
}

func (a *applier) post(b *store.BankTxn) error {
	// The transaction's own currency with the exponent stored for its
	// code (noted by upsert at ingestion), which may not be the account's.
	cur, err := a.tx.Currency(b.Currency)
	if err != nil {
		return fmt.Errorf("transaction %s: %w", b.TransactionID, err)
	}
	v := b.EntryVersion + 1
	e, err := ledger.PostTransaction(a.book.PlaidAccountID, b.TransactionID, v, b.Date, ledger.Money{Minor: b.Amount, Currency: cur})
	if err != nil {
		return err
	}
	if err := a.tx.PostEntry(a.businessID, a.book.ID, e, a.updateID); err != nil {
		return err
	}
	b.EntryVersion, b.LiveEntryID = v, e.ID
	a.counts.Posted++
	return nil
}

func (a *applier) reverse(b *store.BankTxn) error {
	orig, err := a.tx.Entry(b.LiveEntryID)
	if err != nil {
		return err
	}
	if err := a.tx.PostEntry(a.businessID, a.book.ID, ledger.Reverse(orig), a.updateID); err != nil {
		return err
	}
	b.LiveEntryID = ""
	a.counts.Reversed++
	return nil
}

func (a *applier) remove(r plaidapi.Removed) error {
	old, known, err := a.bankTxn(r.TransactionID)
	if err != nil {
		return err
	}
	if !known || old.Removed {
		a.counts.UnknownRemoved++
		return nil
	}
	if old.AccountID != a.acct.ID {
		return fmt.Errorf("%w: removed transaction %s is recorded on another account", ErrBadPage, r.TransactionID)
	}
	if a.seen != nil {
		delete(a.seen, r.TransactionID)
	}
	return a.retire(&old)
}

func (a *applier) retire(b *store.BankTxn) error {
	d := ledger.Remove(txnState(*b))
	if d.Release {
		if err := a.retirePredecessor(b.DuplicateOf); err != nil {
			return err
		}
	}
	if d.Reverse {
		if err := a.reverse(b); err != nil {
			return err
		}
	}
	b.Removed, b.Revision, b.LastUpdateID = true, b.Revision+1, a.updateID
	return a.save(b)
}

// retirePredecessor reverses a predecessor's transaction and marks it
// removed; after more than one re-link, down the chain of duplicates to
// the row that carries the entry.
func (a *applier) retirePredecessor(id string) error {
	for id != "" {
		p, ok, err := a.tx.BankTxn(id)
		if err != nil || !ok || p.Removed {
			return err
		}
		if p.LiveEntryID != "" {
			if err := a.reverse(&p); err != nil {
				return err
			}
		}
		p.Removed, p.Revision, p.LastUpdateID = true, p.Revision+1, a.updateID
		if err := a.tx.SaveBankTxn(&p); err != nil {
			return err
		}
		id = p.DuplicateOf
	}
	return nil
}

// matchDeferred matches the update's successor transactions dated inside
// the predecessors' history against the predecessors' live posted ones,
// all at once so that the match does not depend on page order: a match is
// recorded as a duplicate, never posted; the rest post (older than the
// opening: late history, re-deriving it).
func (a *applier) matchDeferred() error {
	if len(a.deferred) == 0 {
		return nil
	}
	ids := slices.Compact(slices.Sorted(slices.Values(a.deferred)))
	// Rows are read a chunk at a time, twice: the match needs only each
	// transaction's date, amount and name, so memory holds those for the
	// whole history, and full rows for one chunk.
	var cands []ledger.MatchTxn
	err := a.chunks(ids, func(b store.BankTxn) error {
		// A row the rest of the update removed, posted or matched is done.
		if ledger.Waiting(a.acct.Kind, txnState(b), a.acct.MatchThrough) {
			cands = append(cands, ledger.MatchTxn{ID: b.TransactionID, Date: b.Date, Amount: b.Amount, Currency: b.Currency, Name: b.Name})
		}
		return nil
	})
	if err != nil {
		return err
	}
	pool, err := a.tx.MatchPool(a.book.ID, a.acct.ID, a.acct.MatchThrough)
	if err != nil {
		return err
	}
	dup := make(map[string]string, len(cands))
	for _, m := range ledger.MatchDuplicates(pool, cands) {
		dup[m.New] = m.Old
	}
	isCand := make(map[string]bool, len(cands))
	for _, c := range cands {
		isCand[c.ID] = true
	}
	return a.chunks(ids, func(b store.BankTxn) error {
		if !isCand[b.TransactionID] {
			return nil
		}
		if old, ok := dup[b.TransactionID]; ok {
			b.DuplicateOf = old
			a.counts.Duplicates++
		} else if a.posts(b) {
			if err := a.post(&b); err != nil {
				return err
			}
			if err := a.noteOlder(b); err != nil {
				return err
			}
		}
		return a.save(&b)
	})
}

// chunks reads the rows of sorted transaction ids a bounded chunk at a
// time and calls fn for each, in id order.
func (a *applier) chunks(ids []string, fn func(store.BankTxn) error) error {
	const size = 500
	for len(ids) > 0 {
		n := min(size, len(ids))
		rows, err := a.tx.BankTxns(ids[:n])
		if err != nil {
			return err
		}
		for _, id := range ids[:n] {
			if b, ok := rows[id]; ok {
				if err := fn(b); err != nil {
					return err
				}
			}
		}
		ids = ids[n:]
	}
	return nil
}

// noteOlder gives a first posting to the late history (ledger.LateHistory
// decides), with the hold it settles on this account, read only when the
// posting is dated inside the opening's history.
func (a *applier) noteOlder(b store.BankTxn) error {
	open, f := a.opening(), facts(b)
	var hold *ledger.TxnFacts
	if b.PendingTransactionID != "" && open.Covers(f) {
		h, known, err := a.bankTxn(b.PendingTransactionID)
		if err != nil {
			return err
		}
		if known && h.AccountID == a.acct.ID {
			hf := facts(h)
			hold = &hf
		}
	}
	a.older.Note(a.acct.Kind, open, f, hold)
	return nil
}

// finish runs after the last page: the sweep of a full resync, the
// account's balance snapshot and history state, and the opening balance:
// anchored once the history is complete, re-derived when older history
// arrives after it.
func (a *applier) finish() error {
	if !a.haveAcct {
		return nil
	}
	if err := a.matchDeferred(); err != nil {
		return err
	}
	if a.seen != nil {
		ids, err := a.tx.LiveTxnIDs(a.acct.ID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if a.seen[id] {
				continue
			}
			b, _, err := a.tx.BankTxn(id)
			if err != nil {
				return err
			}
			if err := a.retire(&b); err != nil {
				return err
			}
			a.counts.Swept++
		}
	}
	state := historyState(a.status)
	a.counts.History = state
	if err := a.tx.SetHistory(a.tokenID, state); err != nil {
		return err
	}
	if state == store.HistoryInitial {
		if err := a.tx.MarkInitial(a.book.ID); err != nil {
			return err
		}
	}
	snap, err := a.snapshot()
	if err != nil {
		return err
	}
	// A successor continues its book's opening: it anchors only a book
	// that never was, and re-derives it as the book's own syncs would.
	var initialFor time.Duration
	if a.book.InitialAt != nil {
		initialFor = a.tx.Now().Sub(*a.book.InitialAt)
	}
	canAnchor := ledger.CanAnchor(a.book.Kind, a.book.Currency, snap.Current != nil, snap.Currency)
	switch step := ledger.PlanOpening(a.opening(), a.book.AnchorProvisional, ledgerHistory(state), canAnchor, initialFor, a.older); step {
	case ledger.OpeningAnchor, ledger.OpeningProvisional:
		if step == ledger.OpeningProvisional {
			if err := a.tx.SetProvisional(a.book.ID, true); err != nil {
				return err
			}
		}
		a.counts.Anchored = true
		return postOpening(a.tx, a.businessID, a.book, 1, *snap.Current, snap.ID, a.updateID)
	case ledger.OpeningReanchor:
		return a.reanchor(snap)
	case ledger.OpeningRederive:
		return a.rederiveOpening()
	}
	return nil
}

// ledgerHistory is a stored history state as the ledger's policy knows it.
func ledgerHistory(state string) ledger.History {
	switch state {
	case store.HistoryComplete:
		return ledger.HistoryComplete
	case store.HistoryInitial:
		return ledger.HistoryInitial
	}
	return ledger.HistoryNotReady
}

// historyState maps Plaid's transactions_update_status. An update that
// carries none (pages logged before Plaid sent it) or UNKNOWN is taken as
// complete, as bankfeed always did: late history is still re-derived.
func historyState(status string) string {
	switch status {
	case "INITIAL_UPDATE_COMPLETE":
		return store.HistoryInitial
	case "NOT_READY":
		return store.HistoryNotReady
	}
	return store.HistoryComplete
}

// snapshot keeps the account.balances of the update's last page: as of
// Plaid's last pull, the same pull that produced the transactions, so it
// is consistent with them. It costs no Plaid call.
func (a *applier) snapshot() (store.Snapshot, error) {
	l := a.last
	snap := store.Snapshot{AccountID: a.acct.ID, TokenID: a.tokenID, RunID: a.runID, Currency: l.Currency.Code,
		Current: l.Current, Available: l.Available, Limit: l.Limit, RequestID: l.RequestID, Source: store.SourceSync,
		TakenAt: a.tx.Now()}
	if lu := lastUpdated(l); lu != nil {
		snap.TakenAt, snap.LastUpdated = *lu, lu
	}
	return snap, a.tx.AddSnapshot(&snap)
}

// reanchor replaces a provisional opening once the history is complete:
// the history brings transactions both before the opening and inside the
// window already delivered, so the opening is computed afresh from the
// complete update's snapshot, as the first anchoring would have been.
func (a *applier) reanchor(snap store.Snapshot) error {
	if err := a.tx.SetProvisional(a.book.ID, false); err != nil {
		return err
	}
	minor, date, err := openingFor(a.tx, a.book, *snap.Current)
	if err != nil {
		return err
	}
	if minor == a.book.OpeningMinor && date == a.book.OpeningDate {
		return nil // the history changed nothing the opening stands on
	}
	old, err := a.tx.Entry(ledger.OpeningEntryID(a.book.PlaidAccountID, a.book.OpeningVersion))
	if err != nil {
		return err
	}
	if err := a.tx.PostEntry(a.businessID, a.book.ID, ledger.Reverse(old), a.updateID); err != nil {
		return err
	}
	a.counts.OpeningRederived = true
	return postOpening(a.tx, a.businessID, a.book, a.book.OpeningVersion+1, *snap.Current, snap.ID, a.updateID)
}

// rederiveOpening moves the opening entry back past history that arrived
// after the anchor: that history was already inside the anchored balance,
// so the opening shrinks by its effect. The old entry is reversed and a new
// version posted, leaving exactly one live opening.
func (a *applier) rederiveOpening() error {
	cur := a.book.Cur()
	old, err := a.tx.Entry(ledger.OpeningEntryID(a.book.PlaidAccountID, a.book.OpeningVersion))
	if err != nil {
		return err
	}
	if err := a.tx.PostEntry(a.businessID, a.book.ID, ledger.Reverse(old), a.updateID); err != nil {
		return err
	}
	minor, date, err := ledger.Rederive(a.opening(), a.older)
	if err != nil {
		return err
	}
	v := a.book.OpeningVersion + 1
	e, err := ledger.Opening(a.book.PlaidAccountID, a.book.Kind, v, date, ledger.Money{Minor: minor, Currency: cur})
	if err != nil {
		return err
	}
	if err := a.tx.PostEntry(a.businessID, a.book.ID, e, a.updateID); err != nil {
		return err
	}
	a.counts.OpeningRederived = true
	return a.tx.SetOpening(a.book.ID, v, date, minor, 0)
}

// lastUpdated is balances.last_updated_datetime, nil when Plaid gave none.
func lastUpdated(a plaidapi.Account) *time.Time {
	if a.LastUpdated.IsZero() {
		return nil
	}
	t := a.LastUpdated.UTC()
	return &t
}
