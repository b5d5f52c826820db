package ledger

import "time"

// The posting policy: what the journal must do when the bank reports a
// transaction added, modified or removed, and how the opening balance is
// derived and re-derived. These are pure functions over plain values so
// that the rules are table-tested here; the sync job only reads the facts,
// calls them and stores what they return.

// TxnFacts is what the policy needs to know of a bank transaction, as the
// bank reports it: Amount in minor units of Currency (a code), Plaid's sign
// (positive = money leaves the account, or a charge on a card).
type TxnFacts struct {
	ID       string
	Date     string // YYYY-MM-DD
	Amount   int64
	Currency string
	Pending  bool
	Removed  bool
}

// TxnState is a stored transaction's facts with bankfeed's bookkeeping of
// it: whether a journal entry carries it now, whether any version was ever
// posted, and whether it stands in for a predecessor's transaction (a
// re-linked bank's duplicate, which never posts itself).
type TxnState struct {
	Facts     TxnFacts
	Live      bool // a live journal entry carries it
	Posted    bool // some version was posted (the entry version is not 0)
	Duplicate bool // it is a successor's duplicate of a predecessor's transaction
}

// Economic reports whether a change moves money: a different amount,
// currency, date or pending state. Only such changes are re-posted; a
// change of description is a revision of the bank row alone.
func Economic(old, next TxnFacts) bool {
	return old.Amount != next.Amount || old.Currency != next.Currency || old.Date != next.Date || old.Pending != next.Pending
}

// Settled says whether a transaction counts as a posted one on an account of
// kind k (the ledger balances' posted_count), whether or not its amount
// moves money: pending transactions are staged, and accounts of no kind
// (investment and other) are not posted in this version.
func Settled(k Kind, t TxnFacts) bool {
	return !t.Pending && k != ""
}

// Posts says whether a transaction belongs in the journal: settled and of
// a non-zero amount.
func Posts(k Kind, t TxnFacts) bool {
	return Settled(k, t) && t.Amount != 0
}

// Decision is what the journal does for one reported change, in this
// order: Release ends a duplicate's stand-in (the predecessor's entry is
// reversed and its row removed), Reverse undoes the live entry, then
// either Defer (match the transaction against the predecessor's history
// once the whole update is in) or Post a new version. FirstPosting marks a
// Post of a transaction never posted before: it may be late history.
type Decision struct {
	Release      bool
	Reverse      bool
	Defer        bool
	Post         bool
	FirstPosting bool
	// Duplicate says the transaction stays a duplicate after the change.
	Duplicate bool
}

// Change decides what an added or modified transaction posts. old is the
// stored state (nil for a transaction never seen), next the bank's new
// facts, k the account's kind, and matchThrough the date through which a
// successor's transactions are matched against its predecessor's ("" for
// an account that succeeds none, which no valid date is on or before).
//
// A known transaction whose facts are unchanged is a replay: the caller
// skips it before asking.
//
// Re-linked transactions after the match: a duplicate stands for its
// predecessor's posted transaction, whose Item no longer reports anything;
// the successor's Item is the bank's word from then on. A change of
// description only is a revision of the duplicate. An economic change ends
// the stand-in (Release: the predecessor's entry is reversed and its row
// removed) and the transaction becomes an ordinary one of the successor:
// matched again while dated inside the window, else posted with the new
// facts. A removal (Remove) removes the real transaction: the predecessor's
// entry is reversed and both rows are removed. Either way the real
// transaction is carried by exactly one live entry, or by none once removed.
func Change(k Kind, old *TxnState, next TxnFacts, matchThrough string) Decision {
	var d Decision
	var cur TxnState
	if old != nil {
		cur = *old
	}
	live := cur.Live
	if cur.Duplicate && !cur.Facts.Removed {
		d.Duplicate = true
		if Economic(cur.Facts, next) {
			// The bank's word from the successor's Item changes the
			// money: the stand-in ends and it posts as its own.
			d.Release, d.Duplicate = true, false
		}
	}
	if live && (cur.Facts.Removed || Economic(cur.Facts, next) || !Posts(k, next)) {
		d.Reverse, live = true, false
	}
	switch {
	case d.Duplicate:
		// The predecessor's posted transaction carries it.
	case !live && Settled(k, next) && !cur.Posted && next.Date <= matchThrough:
		// A successor's transaction inside its predecessor's history.
		d.Defer = true
	case !live && Posts(k, next):
		d.Post, d.FirstPosting = true, !cur.Posted
	}
	return d
}

// Waiting says whether a transaction Change deferred still waits for the
// match once the whole update is in: the rest of the update may have
// removed, posted or matched it, or moved it out of the match window.
func Waiting(k Kind, s TxnState, matchThrough string) bool {
	return !s.Facts.Removed && !s.Live && !s.Duplicate && Settled(k, s.Facts) && s.Facts.Date <= matchThrough
}

// Remove decides what a removal does: a duplicate's real transaction is
// gone, so its predecessor's entry goes too (Release), and a live entry is
// reversed.
func Remove(s TxnState) Decision {
	return Decision{Release: s.Duplicate, Reverse: s.Live}
}

// OpeningFacts is an account's live opening: its version (0 when none was
// posted), date and natural-sign amount in minor units of Currency.
type OpeningFacts struct {
	Version  int
	Date     string
	Natural  int64
	Currency string
}

// Covers says whether a transaction is dated inside the history an opening
// stands for: on or before its date, in its currency, once one is posted.
func (o OpeningFacts) Covers(t TxnFacts) bool {
	return o.Version != 0 && t.Date <= o.Date && t.Currency == o.Currency
}

// LateHistory collects transactions posted for the first time with a date
// on or before the account's opening date: history the bank delivered
// late, already inside the balance the opening was anchored to.
type LateHistory struct {
	Effect   int64  // natural-sign effect on the account
	Earliest string // the earliest date among them; "" when none
}

// Note adds a first posting t on an account of kind k to the late history
// when it is dated on or before the opening, in the opening's currency,
// unless it settles a hold we staged (hold is that staged transaction, nil
// when t settles none we hold on this account): Plaid's current balance
// leaves pending holds out, so that money was never inside the anchor,
// however early the bank dates the settlement.
func (l *LateHistory) Note(k Kind, open OpeningFacts, t TxnFacts, hold *TxnFacts) {
	if !open.Covers(t) {
		return
	}
	if hold != nil && hold.Pending {
		return
	}
	l.Effect += k.PlaidEffect(t.Amount)
	if l.Earliest == "" || t.Date < l.Earliest {
		l.Earliest = t.Date
	}
}

// OpeningFor derives an account's opening from a balance consistent with
// the transactions posted so far: current (natural sign) minus the
// natural-sign effect of the posted ones (postedSum, in Plaid's sign),
// dated the day before the earliest of them, or before today when none.
func OpeningFor(k Kind, current, postedSum int64, earliest, today string) (natural int64, date string, err error) {
	date = today
	if earliest != "" {
		date = earliest
	}
	if date, err = DayBefore(date); err != nil {
		return 0, "", err
	}
	return current - k.PlaidEffect(postedSum), date, nil
}

// Rederive moves an opening back past late history: that history was
// already inside the anchored balance, so the opening shrinks by its
// effect and is dated the day before the earliest of it.
func Rederive(open OpeningFacts, late LateHistory) (natural int64, date string, err error) {
	date, err = DayBefore(late.Earliest)
	if err != nil {
		return 0, "", err
	}
	return open.Natural - late.Effect, date, nil
}

// History is how much of an account's history the bank has delivered.
type History int

const (
	HistoryNotReady History = iota // nothing to stand an opening on yet
	HistoryInitial                 // recent transactions only (INITIAL_UPDATE_COMPLETE)
	HistoryComplete                // all the history the bank will give
)

// InitialGrace is how long an account may stay at HistoryInitial before it
// is anchored anyway: some Items never complete their history, and their
// books need an opening.
const InitialGrace = 72 * time.Hour

// OpeningStep is what an update does to an account's opening at its end.
type OpeningStep int

const (
	OpeningKeep        OpeningStep = iota
	OpeningAnchor                  // post the first opening from the update's balance
	OpeningProvisional             // the same, marked provisional: the history is not complete
	OpeningReanchor                // compute a provisional opening afresh: the history is complete
	OpeningRederive                // move the opening back past late history
)

// CanAnchor says whether a balance can anchor an account's opening: the
// account posts, and the bank reported a current balance in its currency.
// A missing balance anchors nothing; the next sync tries again.
func CanAnchor(k Kind, accountCurrency string, present bool, balanceCurrency string) bool {
	return k != "" && present && balanceCurrency == accountCurrency
}

// PlanOpening decides what an update does to the opening, given the live
// opening, whether it is provisional, the history delivered, whether the
// update's balance can anchor (CanAnchor), how long the account has been at
// HistoryInitial, and the late history the update posted. The first opening
// waits for the complete history, or for InitialGrace at HistoryInitial; a
// provisional one is computed afresh once the history is complete; any
// other opening is re-derived when late history arrives.
func PlanOpening(open OpeningFacts, provisional bool, h History, canAnchor bool, initialFor time.Duration, late LateHistory) OpeningStep {
	switch {
	case open.Version == 0:
		switch {
		case !canAnchor:
		case h == HistoryComplete:
			return OpeningAnchor
		case h == HistoryInitial && initialFor >= InitialGrace:
			return OpeningProvisional
		}
		return OpeningKeep
	case provisional && h == HistoryComplete && canAnchor:
		return OpeningReanchor
	case late.Earliest != "":
		return OpeningRederive
	}
	return OpeningKeep
}
