// Package report renders bankfeed's nightly reconciliation: one JSON
// document (the contract of `bankfeed report reconcile`), a CSV with one row
// per account, and one self-contained HTML page.
//
// The model (Report) carries money as int64 minor units beside their
// ledger.Currency and times as time.Time; amounts become decimal strings
// only at the edge, when a file is rendered. A stored Report (Marshal)
// renders to the same bytes on any later day.
package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"bankfeed/ledger"
)

// Report is one reconciliation run.
type Report struct {
	Date        string // YYYY-MM-DD, in the report's time zone
	GeneratedAt time.Time
	RunID       string
	Accounts    []Account
	Summary     Summary
	Tokens      []Token // every token that needs action

	Valid         bool
	Problems      []string
	Totals        []Total
	TrialBalance  []TrialBalance
	OpeningChecks []OpeningCheck
	VanishedHolds []Hold
	Suspense      []Suspense
	// PrecisionSuspects are live transactions of a million or more: Plaid
	// has delivered such amounts rounded, so a break may be theirs.
	PrecisionSuspects []PrecisionSuspect
	// Relinks are the re-linked accounts and the accounts they continue;
	// PossibleDuplicates the look-alikes bankfeed did not join.
	Relinks            []Relink
	PossibleDuplicates []PossibleDuplicate
}

// Relink is an account that continues the ledger account of the one it
// replaces: the same real account, linked again.
type Relink struct {
	BusinessID string `json:"business_id"`
	AccountID  string `json:"account_id"` // the successor
	Replaces   string `json:"replaces"`
	Name       string `json:"name"`
	Mask       string `json:"mask"`
	// Duplicates counts the transactions the new link delivered again,
	// matched to the ones already posted and not posted twice.
	Duplicates int `json:"duplicates"`
}

// PossibleDuplicate is two accounts of a business that look like one real
// account (institution, type, subtype, mask, currency) but were not
// joined: more than one candidate, or one still linked. A person decides.
type PossibleDuplicate struct {
	BusinessID string `json:"business_id"`
	AccountID  string `json:"account_id"`
	Name       string `json:"name"`
	OtherID    string `json:"other_account_id"`
	OtherName  string `json:"other_name"`
	Mask       string `json:"mask"`
}

// Account is one account, in one currency, of the report. Amounts are in
// the account's natural sign.
type Account struct {
	BusinessID string
	AccountID  string // Plaid's account_id
	Name       string
	Mask       string
	Kind       ledger.Kind
	Currency   ledger.Currency
	Opening    int64
	Ledger     int64 // opening + live posted entries
	Reported   *int64
	ReportedAt *time.Time
	Difference *int64 // Reported - Ledger; nil when not computable
	// InFlight is the newest real-time balance minus Reported: money the
	// bank has moved that Plaid's next pull will deliver. Shown, never
	// reconciled; nil without a newer real-time balance.
	RealtimeCurrent *int64
	RealtimeAt      *time.Time
	InFlight        *int64
	DifferenceSince *time.Time
	PendingTotal    int64
	PendingCount    int
	Status          ledger.Status
	TokenStatus     string
	TokenReason     string // Plaid's error code; "" when none
	CandidatesSince *time.Time
	Pending         []Pending
	Candidates      []Candidate
	// Chart is this account's last reconciliations, oldest first, this
	// run last. It is drawn in the HTML only, and not stored with the
	// report: its points are rows of the reconciliations table.
	Chart []ChartPoint `json:"-"`
}

// ChartPoint is one reconciliation of an account as its chart draws it.
type ChartPoint struct {
	Date     string // the report date of the reconciliation
	Ledger   int64
	Reported *int64
}

// Pending is a staged transaction with its age.
type Pending struct {
	TransactionID   string
	Date            string
	Name            string
	MerchantName    string
	Amount          int64 // natural-sign effect on the account once posted
	AgeBusinessDays int
	Aged            bool
	Anomaly         bool
}

// Candidate is something recorded on the account since the ledger last
// agreed with the bank: where to look for the difference.
type Candidate struct {
	Source        string // journal | bank
	EntryID       string
	EntryKind     string
	TransactionID string
	Date          string
	Name          string
	MerchantName  string
	Amount        int64 // natural-sign effect on the account
	Pending       bool
	Removed       bool
	RecordedAt    time.Time
}

// Token is a token that needs action.
type Token struct {
	BusinessID string
	TokenHint  string
	Status     string
	Reason     string // "" when none
	AccountID  string // "" when the token never synced
	ItemID     string // an Item bankfeed linked (then TokenHint and AccountID mean nothing)
	// AccountName and AccountMask name the account, when it is known.
	AccountName string
	AccountMask string
}

// Summary counts accounts by status; NeedsRefresh counts flagged tokens,
// whether or not their account is known.
type Summary struct {
	Accounts     int
	OK           int
	Timing       int
	Break        int
	Stale        int
	NoAnchor     int
	NeedsRefresh int
}

// Total sums the accounts of one currency and kind.
type Total struct {
	Currency     ledger.Currency
	Kind         ledger.Kind
	Accounts     int
	Ledger       int64
	Reported     int64 // of the accounts with a reported balance
	Difference   int64
	PendingTotal int64
}

// TrialBalance is one currency's sum of every journal line: zero when sound.
type TrialBalance struct {
	Currency ledger.Currency
	Lines    int
	Sum      int64
	OK       bool
}

// OpeningCheck says whether an anchored account has exactly one live opening.
type OpeningCheck struct {
	BusinessID  string
	AccountID   string
	Version     int
	Live        int
	Versions    int
	LiveEntryID string
	OK          bool
	AccountName string
	AccountMask string
}

// Hold is a pending transaction that disappeared without a posted successor.
type Hold struct {
	BusinessID    string
	AccountID     string
	TransactionID string
	Date          string
	Name          string
	MerchantName  string
	Amount        int64 // natural sign
	Currency      ledger.Currency
	RemovedAt     *time.Time
	AccountName   string
	AccountMask   string
}

// PrecisionSuspect is a live transaction of at least
// ledger.PrecisionSuspectAt major units.
type PrecisionSuspect struct {
	BusinessID    string
	AccountID     string
	TransactionID string
	Date          string
	Amount        int64 // natural-sign effect on the account
	Currency      ledger.Currency
	Pending       bool
	AccountName   string
	AccountMask   string
}

// Suspense is what waits in Suspense:Uncategorized for a business.
type Suspense struct {
	BusinessID            string
	Currency              ledger.Currency
	Total                 int64
	Entries               int
	OldestDate            string
	OldestAgeBusinessDays int
}

// Finish sorts the accounts into their canonical order and fills the
// summary and the totals. Call it once the other fields are set.
func (r *Report) Finish() {
	slices.SortStableFunc(r.Accounts, func(a, b Account) int {
		return cmp.Or(cmp.Compare(a.BusinessID, b.BusinessID), cmp.Compare(a.AccountID, b.AccountID),
			cmp.Compare(a.Currency.Code, b.Currency.Code))
	})
	r.Summary = Summary{Accounts: len(r.Accounts), NeedsRefresh: len(r.Tokens)}
	for _, a := range r.Accounts {
		switch a.Status {
		case ledger.StatusOK:
			r.Summary.OK++
		case ledger.StatusTiming:
			r.Summary.Timing++
		case ledger.StatusBreak:
			r.Summary.Break++
		case ledger.StatusStale:
			r.Summary.Stale++
		case ledger.StatusNoAnchor:
			r.Summary.NoAnchor++
		}
	}
	r.Totals = totalsOf(r.Accounts)
}

// totalsOf sums accounts per currency and kind.
func totalsOf(accts []Account) []Total {
	var out []Total
	for _, a := range accts {
		i := slices.IndexFunc(out, func(t Total) bool { return t.Currency == a.Currency && t.Kind == a.Kind })
		if i < 0 {
			out = append(out, Total{Currency: a.Currency, Kind: a.Kind})
			i = len(out) - 1
		}
		t := &out[i]
		t.Accounts++
		t.Ledger += a.Ledger
		t.PendingTotal += a.PendingTotal
		if a.Reported != nil {
			t.Reported += *a.Reported
		}
		if a.Difference != nil {
			t.Difference += *a.Difference
		}
	}
	slices.SortFunc(out, func(a, b Total) int {
		return cmp.Or(cmp.Compare(a.Currency.Code, b.Currency.Code), cmp.Compare(a.Kind, b.Kind))
	})
	return out
}

// Counts is the summary as the runner logs it, with invalid as 0 or 1.
func (r Report) Counts() map[string]int {
	s := r.Summary
	invalid := 0
	if !r.Valid {
		invalid = 1
	}
	return map[string]int{"accounts": s.Accounts, "ok": s.OK, "timing": s.Timing, "break": s.Break, "stale": s.Stale,
		"no_anchor": s.NoAnchor, "needs_refresh": s.NeedsRefresh, "invalid": invalid}
}

// String is the one-line summary a person reads.
func (s Summary) String() string {
	return fmt.Sprintf("%d accounts: %d ok, %d timing, %d break, %d stale, %d no_anchor, %d needs_refresh",
		s.Accounts, s.OK, s.Timing, s.Break, s.Stale, s.NoAnchor, s.NeedsRefresh)
}

// Marshal is the form a report is stored in: the typed model as JSON,
// without the charts.
func Marshal(r Report) ([]byte, error) { return json.Marshal(r) }

// Unmarshal reads a report stored by Marshal. A report stored in another
// form (by an earlier bankfeed, which stored the JSON file's shape) is
// refused rather than rendered with parts missing.
func Unmarshal(b []byte) (Report, error) {
	var r Report
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Report{}, fmt.Errorf("stored report does not decode: %w", err)
	}
	return r, nil
}
