package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
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
}

// applier turns one complete sync update into bank-transaction rows and
// journal entries, inside the caller's transaction.
type applier struct {
	tx         *store.Tx
	businessID string
	tokenID    int64
	updateID   int64
	acct       store.Account
	haveAcct   bool
	fullSync   bool            // the update started from an empty cursor
	seen       map[string]bool // transaction ids in a full resync of an account we already knew
	older      olderHistory
	counts     ApplyCounts
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

// olderHistory collects transactions posted for the first time with a date
// on or before the account's opening date: history Plaid delivered late,
// already inside the balance the opening was anchored to.
type olderHistory struct {
	effect   int64 // natural-sign effect on the account
	earliest string
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
	acct, err := a.tx.EnsureAccount(a.businessID, a.tokenID, store.AccountInfo{
		PlaidAccountID: pa.ID, Name: pa.Name, OfficialName: pa.OfficialName, Mask: pa.Mask,
		Type: pa.Type, Subtype: pa.Subtype, Currency: pa.Currency.Code, CurrencyExponent: pa.Currency.Exponent,
	})
	if err != nil {
		return err
	}
	a.acct, a.haveAcct = acct, true
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
	a.ID, a.Removed, a.Revision, a.EntryVersion, a.LiveEntryID, a.FirstUpdateID, a.LastUpdateID = 0, false, 0, 0, "", 0, 0
	b.ID, b.Removed, b.Revision, b.EntryVersion, b.LiveEntryID, b.FirstUpdateID, b.LastUpdateID = 0, false, 0, 0, "", 0, 0
	return a == b
}

// economic reports whether a change moves money: only these changes post.
func economic(a, b store.BankTxn) bool {
	return a.Amount != b.Amount || a.Currency != b.Currency || a.Date != b.Date || a.AccountID != b.AccountID || a.Pending != b.Pending
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
	if next.LiveEntryID != "" && (old.Removed || economic(old, next) || !a.posts(next)) {
		if err := a.reverse(&next); err != nil {
			return err
		}
	}
	if next.LiveEntryID == "" && a.posts(next) {
		firstPosting := next.EntryVersion == 0
		if err := a.post(&next); err != nil {
			return err
		}
		if firstPosting {
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

// posts says whether a transaction belongs in the journal: pending
// transactions are staged, never posted, and investment accounts are not
// posted in this version.
func (a *applier) posts(b store.BankTxn) bool {
	return !b.Pending && b.Amount != 0 && a.acct.Kind != ""
}

func (a *applier) post(b *store.BankTxn) error {
	// The transaction's own currency with the exponent stored for its
	// code (noted by upsert at ingestion), which may not be the account's.
	cur, err := a.tx.Currency(b.Currency)
	if err != nil {
		return fmt.Errorf("transaction %s: %w", b.TransactionID, err)
	}
	v := b.EntryVersion + 1
	e, err := ledger.PostTransaction(a.acct.PlaidAccountID, b.TransactionID, v, b.Date, ledger.Money{Minor: b.Amount, Currency: cur})
	if err != nil {
		return err
	}
	if err := a.tx.PostEntry(a.businessID, a.acct.ID, e, a.updateID); err != nil {
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
	if err := a.tx.PostEntry(a.businessID, a.acct.ID, ledger.Reverse(orig), a.updateID); err != nil {
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
	if b.LiveEntryID != "" {
		if err := a.reverse(b); err != nil {
			return err
		}
	}
	b.Removed, b.Revision, b.LastUpdateID = true, b.Revision+1, a.updateID
	return a.save(b)
}

// noteOlder counts a first posting dated on or before the opening as late
// history, unless it settles a hold we staged: Plaid's current balance
// leaves pending holds out, so that money was never inside the anchor,
// however early the bank dates the settlement.
func (a *applier) noteOlder(b store.BankTxn) error {
	if a.acct.OpeningVersion == 0 || b.Date > a.acct.OpeningDate || b.Currency != a.acct.Currency {
		return nil
	}
	if b.PendingTransactionID != "" {
		hold, known, err := a.bankTxn(b.PendingTransactionID)
		if err != nil {
			return err
		}
		if known && hold.Pending && hold.AccountID == a.acct.ID {
			return nil
		}
	}
	a.older.effect += a.acct.Kind.Natural(-b.Amount)
	if a.older.earliest == "" || b.Date < a.older.earliest {
		a.older.earliest = b.Date
	}
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
		if err := a.tx.MarkInitial(a.acct.ID); err != nil {
			return err
		}
	}
	snap, err := a.snapshot()
	if err != nil {
		return err
	}
	switch {
	case a.acct.OpeningVersion == 0:
		return a.anchorIfDue(state, snap)
	case a.acct.AnchorProvisional && state == store.HistoryComplete && a.consistent(snap):
		return a.reanchor(snap)
	case a.older.earliest != "":
		return a.rederiveOpening()
	}
	return nil
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

// initialGrace is how long an account may stay at INITIAL_UPDATE_COMPLETE
// before it is anchored anyway: some Items never reach
// HISTORICAL_UPDATE_COMPLETE, and their books need an opening.
const initialGrace = 72 * time.Hour

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

// consistent says whether a snapshot can anchor the account: it reports a
// current balance, in the account's currency, for an account that posts.
func (a *applier) consistent(snap store.Snapshot) bool {
	return a.acct.Kind != "" && snap.Current != nil && snap.Currency == a.acct.Currency
}

// anchorIfDue posts the account's first opening once its history is
// complete, or provisionally after initialGrace at INITIAL_UPDATE_COMPLETE.
// A null current balance anchors nothing: the next sync tries again.
func (a *applier) anchorIfDue(state string, snap store.Snapshot) error {
	if !a.consistent(snap) {
		return nil
	}
	switch state {
	case store.HistoryComplete:
	case store.HistoryInitial:
		since := a.tx.Now()
		if a.acct.InitialAt != nil {
			since = *a.acct.InitialAt
		}
		if a.tx.Now().Sub(since) < initialGrace {
			return nil
		}
		if err := a.tx.SetProvisional(a.acct.ID, true); err != nil {
			return err
		}
	default:
		return nil
	}
	a.counts.Anchored = true
	return postOpening(a.tx, a.businessID, a.acct, 1, *snap.Current, snap.ID, a.updateID)
}

// reanchor replaces a provisional opening once the history is complete:
// the history brings transactions both before the opening and inside the
// window already delivered, so the opening is computed afresh from the
// complete update's snapshot, as the first anchoring would have been.
func (a *applier) reanchor(snap store.Snapshot) error {
	if err := a.tx.SetProvisional(a.acct.ID, false); err != nil {
		return err
	}
	minor, date, err := openingFor(a.tx, a.acct, *snap.Current)
	if err != nil {
		return err
	}
	if minor == a.acct.OpeningMinor && date == a.acct.OpeningDate {
		return nil // the history changed nothing the opening stands on
	}
	old, err := a.tx.Entry(ledger.OpeningEntryID(a.acct.PlaidAccountID, a.acct.OpeningVersion))
	if err != nil {
		return err
	}
	if err := a.tx.PostEntry(a.businessID, a.acct.ID, ledger.Reverse(old), a.updateID); err != nil {
		return err
	}
	a.counts.OpeningRederived = true
	return postOpening(a.tx, a.businessID, a.acct, a.acct.OpeningVersion+1, *snap.Current, snap.ID, a.updateID)
}

// rederiveOpening moves the opening entry back past history that arrived
// after the anchor: that history was already inside the anchored balance,
// so the opening shrinks by its effect. The old entry is reversed and a new
// version posted, leaving exactly one live opening.
func (a *applier) rederiveOpening() error {
	cur := a.acct.Cur()
	old, err := a.tx.Entry(ledger.OpeningEntryID(a.acct.PlaidAccountID, a.acct.OpeningVersion))
	if err != nil {
		return err
	}
	if err := a.tx.PostEntry(a.businessID, a.acct.ID, ledger.Reverse(old), a.updateID); err != nil {
		return err
	}
	date, err := ledger.DayBefore(a.older.earliest)
	if err != nil {
		return err
	}
	minor := a.acct.OpeningMinor - a.older.effect
	v := a.acct.OpeningVersion + 1
	e, err := ledger.Opening(a.acct.PlaidAccountID, a.acct.Kind, v, date, ledger.Money{Minor: minor, Currency: cur})
	if err != nil {
		return err
	}
	if err := a.tx.PostEntry(a.businessID, a.acct.ID, e, a.updateID); err != nil {
		return err
	}
	a.counts.OpeningRederived = true
	return a.tx.SetOpening(a.acct.ID, v, date, minor, 0)
}

// lastUpdated is balances.last_updated_datetime, nil when Plaid gave none.
func lastUpdated(a plaidapi.Account) *time.Time {
	if a.LastUpdated.IsZero() {
		return nil
	}
	t := a.LastUpdated.UTC()
	return &t
}
