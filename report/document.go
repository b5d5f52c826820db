package report

import (
	"encoding/json"
	"time"

	"bankfeed/ledger"
)

// Document is the JSON file: the contract of `bankfeed report reconcile`
// (date, generated_at, accounts, summary, tokens) and the detail after
// it. Amounts are exact decimal strings in the account's natural sign,
// times RFC 3339 UTC.
type Document struct {
	Date        string       `json:"date"`
	GeneratedAt string       `json:"generated_at"`
	Accounts    []DocAccount `json:"accounts"`
	Summary     DocSummary   `json:"summary"`
	Tokens      []DocToken   `json:"tokens"`

	// Headline is the night's worst status and what it means.
	Headline      Headline          `json:"headline"`
	RunID         string            `json:"run_id"`
	Valid         bool              `json:"valid"`
	Problems      []string          `json:"problems"`
	Totals        []DocTotal        `json:"totals"`
	TrialBalance  []DocTrialBalance `json:"trial_balance"`
	OpeningChecks []DocOpeningCheck `json:"opening_checks"`
	VanishedHolds []DocHold         `json:"vanished_holds"`
	Suspense      []DocSuspense     `json:"suspense"`

	PrecisionSuspects []DocSuspect `json:"precision_suspects"`

	Relinks            []Relink            `json:"relinks"`
	PossibleDuplicates []PossibleDuplicate `json:"possible_duplicates"`
}

// DocAccount is one account of the JSON file.
type DocAccount struct {
	BusinessID      string        `json:"business_id"`
	AccountID       string        `json:"account_id"`
	Currency        string        `json:"currency"`
	OpeningBalance  string        `json:"opening_balance"`
	LedgerBalance   string        `json:"ledger_balance"`
	ReportedCurrent *string       `json:"reported_current"`
	Difference      *string       `json:"difference"`
	PendingTotal    string        `json:"pending_total"`
	Status          ledger.Status `json:"status"`

	Name            string         `json:"name"`
	Mask            string         `json:"mask"`
	Kind            string         `json:"kind"`
	TokenStatus     string         `json:"token_status"`
	TokenReason     *string        `json:"token_reason"`
	ReportedAt      *string        `json:"reported_at"`
	RealtimeCurrent *string        `json:"realtime_current"` // newest real-time balance, when newer than the pull
	RealtimeAt      *string        `json:"realtime_at"`
	InFlight        *string        `json:"in_flight"`        // realtime_current - reported_current
	DifferenceSince *string        `json:"difference_since"` // start of the non-zero streak
	CandidatesSince *string        `json:"candidates_since"` // candidates were recorded after this time
	PendingCount    int            `json:"pending_count"`
	Pending         []DocPending   `json:"pending"`
	Candidates      []DocCandidate `json:"candidates"`
}

// DocSummary counts accounts by status (needs_refresh: flagged tokens).
type DocSummary struct {
	Accounts     int `json:"accounts"`
	OK           int `json:"ok"`
	Timing       int `json:"timing"`
	Break        int `json:"break"`
	Stale        int `json:"stale"`
	NoAnchor     int `json:"no_anchor"`
	NeedsRefresh int `json:"needs_refresh"`
}

// DocToken is a token that needs action.
type DocToken struct {
	BusinessID string  `json:"business_id"`
	TokenHint  *string `json:"token_hint"` // null for an Item bankfeed linked
	Status     string  `json:"status"`
	Reason     *string `json:"reason"`
	AccountID  *string `json:"account_id"`
	ItemID     *string `json:"item_id,omitempty"` // an Item bankfeed linked: one entry, whatever its accounts

	AccountName *string `json:"account_name"` // null while the account is unknown
	AccountMask *string `json:"account_mask"`
}

// DocPending is a staged transaction with its age.
type DocPending struct {
	TransactionID   string `json:"transaction_id"`
	Date            string `json:"date"`
	Name            string `json:"name"`
	MerchantName    string `json:"merchant_name"`
	Amount          string `json:"amount"`
	AgeBusinessDays int    `json:"age_business_days"`
	Aged            bool   `json:"aged"`
	Anomaly         bool   `json:"anomaly"`
}

// DocCandidate is a candidate of the JSON file.
type DocCandidate struct {
	Source        string `json:"source"`
	EntryID       string `json:"entry_id"`
	EntryKind     string `json:"entry_kind"`
	TransactionID string `json:"transaction_id"`
	Date          string `json:"date"`
	Name          string `json:"name"`
	MerchantName  string `json:"merchant_name"`
	Amount        string `json:"amount"`
	Pending       bool   `json:"pending"`
	Removed       bool   `json:"removed"`
	RecordedAt    string `json:"recorded_at"`
}

// DocTotal sums the accounts of one currency and kind.
type DocTotal struct {
	Currency        string `json:"currency"`
	Kind            string `json:"kind"`
	Accounts        int    `json:"accounts"`
	LedgerBalance   string `json:"ledger_balance"`
	ReportedCurrent string `json:"reported_current"`
	Difference      string `json:"difference"`
	PendingTotal    string `json:"pending_total"`
}

// DocTrialBalance is one currency's sum of every journal line.
type DocTrialBalance struct {
	Currency string `json:"currency"`
	Lines    int    `json:"lines"`
	Sum      string `json:"sum"`
	OK       bool   `json:"ok"`
}

// DocOpeningCheck says whether an anchored account has exactly one live opening.
type DocOpeningCheck struct {
	BusinessID  string `json:"business_id"`
	AccountID   string `json:"account_id"`
	Version     int    `json:"version"`
	Live        int    `json:"live"`
	Versions    int    `json:"versions"`
	LiveEntryID string `json:"live_entry_id"`
	OK          bool   `json:"ok"`
	AccountName string `json:"account_name"`
	AccountMask string `json:"account_mask"`
}

// DocHold is a pending transaction that vanished.
type DocHold struct {
	BusinessID    string `json:"business_id"`
	AccountID     string `json:"account_id"`
	TransactionID string `json:"transaction_id"`
	Date          string `json:"date"`
	Name          string `json:"name"`
	MerchantName  string `json:"merchant_name"`
	Amount        string `json:"amount"`
	Currency      string `json:"currency"`
	RemovedAt     string `json:"removed_at"`
	AccountName   string `json:"account_name"`
	AccountMask   string `json:"account_mask"`
}

// DocSuspect is a precision suspect: a live transaction of a million or more.
type DocSuspect struct {
	BusinessID    string `json:"business_id"`
	AccountID     string `json:"account_id"`
	TransactionID string `json:"transaction_id"`
	Date          string `json:"date"`
	Amount        string `json:"amount"`
	Currency      string `json:"currency"`
	Pending       bool   `json:"pending"`
	AccountName   string `json:"account_name"`
	AccountMask   string `json:"account_mask"`
}

// DocSuspense is what waits in Suspense:Uncategorized for a business.
type DocSuspense struct {
	BusinessID            string `json:"business_id"`
	Currency              string `json:"currency"`
	Total                 string `json:"total"`
	Entries               int    `json:"entries"`
	OldestDate            string `json:"oldest_date"`
	OldestAgeBusinessDays int    `json:"oldest_age_business_days"`
}

// Document formats the report for the JSON file (and the CSV and HTML,
// which show the same text). Lists are never null.
func (r Report) Document() Document {
	d := Document{Date: r.Date, GeneratedAt: stamp(r.GeneratedAt), Headline: r.Headline(), RunID: r.RunID, Valid: r.Valid,
		Accounts: make([]DocAccount, 0, len(r.Accounts)), Summary: DocSummary(r.Summary), Tokens: []DocToken{},
		Problems: append([]string{}, r.Problems...), Totals: []DocTotal{}, TrialBalance: []DocTrialBalance{},
		OpeningChecks: []DocOpeningCheck{}, VanishedHolds: []DocHold{}, Suspense: []DocSuspense{}, PrecisionSuspects: []DocSuspect{},
		Relinks: append([]Relink{}, r.Relinks...), PossibleDuplicates: append([]PossibleDuplicate{}, r.PossibleDuplicates...)}
	for _, a := range r.Accounts {
		d.Accounts = append(d.Accounts, a.document())
	}
	for _, t := range r.Tokens {
		dt := DocToken{BusinessID: t.BusinessID, TokenHint: &t.TokenHint, Status: t.Status,
			Reason: orNull(t.Reason), AccountID: orNull(t.AccountID), ItemID: orNull(t.ItemID),
			AccountName: orNull(t.AccountName), AccountMask: orNull(t.AccountMask)}
		if t.ItemID != "" {
			dt.TokenHint, dt.AccountID = nil, nil
		}
		d.Tokens = append(d.Tokens, dt)
	}
	for _, t := range r.Totals {
		f := money(t.Currency)
		d.Totals = append(d.Totals, DocTotal{Currency: t.Currency.Code, Kind: string(t.Kind), Accounts: t.Accounts,
			LedgerBalance: f(t.Ledger), ReportedCurrent: f(t.Reported), Difference: f(t.Difference), PendingTotal: f(t.PendingTotal)})
	}
	for _, t := range r.TrialBalance {
		d.TrialBalance = append(d.TrialBalance, DocTrialBalance{Currency: t.Currency.Code, Lines: t.Lines, Sum: money(t.Currency)(t.Sum), OK: t.OK})
	}
	for _, o := range r.OpeningChecks {
		d.OpeningChecks = append(d.OpeningChecks, DocOpeningCheck(o))
	}
	for _, h := range r.VanishedHolds {
		d.VanishedHolds = append(d.VanishedHolds, DocHold{BusinessID: h.BusinessID, AccountID: h.AccountID, TransactionID: h.TransactionID,
			Date: h.Date, Name: h.Name, MerchantName: h.MerchantName, Amount: money(h.Currency)(h.Amount), Currency: h.Currency.Code,
			RemovedAt: deref(stampPtr(h.RemovedAt)), AccountName: h.AccountName, AccountMask: h.AccountMask})
	}
	for _, s := range r.Suspense {
		d.Suspense = append(d.Suspense, DocSuspense{BusinessID: s.BusinessID, Currency: s.Currency.Code, Total: money(s.Currency)(s.Total),
			Entries: s.Entries, OldestDate: s.OldestDate, OldestAgeBusinessDays: s.OldestAgeBusinessDays})
	}
	for _, p := range r.PrecisionSuspects {
		d.PrecisionSuspects = append(d.PrecisionSuspects, DocSuspect{BusinessID: p.BusinessID, AccountID: p.AccountID,
			TransactionID: p.TransactionID, Date: p.Date, Amount: money(p.Currency)(p.Amount), Currency: p.Currency.Code, Pending: p.Pending,
			AccountName: p.AccountName, AccountMask: p.AccountMask})
	}
	return d
}

func (a Account) document() DocAccount {
	f := money(a.Currency)
	d := DocAccount{BusinessID: a.BusinessID, AccountID: a.AccountID, Currency: a.Currency.Code, OpeningBalance: f(a.Opening),
		LedgerBalance: f(a.Ledger), ReportedCurrent: moneyPtr(a.Reported, f), Difference: moneyPtr(a.Difference, f),
		PendingTotal: f(a.PendingTotal), Status: a.Status, Name: a.Name, Mask: a.Mask, Kind: string(a.Kind), TokenStatus: a.TokenStatus,
		TokenReason: orNull(a.TokenReason), ReportedAt: stampPtr(a.ReportedAt),
		RealtimeCurrent: moneyPtr(a.RealtimeCurrent, f), RealtimeAt: stampPtr(a.RealtimeAt), InFlight: moneyPtr(a.InFlight, f), DifferenceSince: stampPtr(a.DifferenceSince),
		CandidatesSince: stampPtr(a.CandidatesSince), PendingCount: a.PendingCount,
		Pending: make([]DocPending, 0, len(a.Pending)), Candidates: make([]DocCandidate, 0, len(a.Candidates))}
	for _, p := range a.Pending {
		d.Pending = append(d.Pending, DocPending{TransactionID: p.TransactionID, Date: p.Date, Name: p.Name, MerchantName: p.MerchantName,
			Amount: f(p.Amount), AgeBusinessDays: p.AgeBusinessDays, Aged: p.Aged, Anomaly: p.Anomaly})
	}
	for _, c := range a.Candidates {
		d.Candidates = append(d.Candidates, DocCandidate{Source: c.Source, EntryID: c.EntryID, EntryKind: c.EntryKind,
			TransactionID: c.TransactionID, Date: c.Date, Name: c.Name, MerchantName: c.MerchantName, Amount: f(c.Amount),
			Pending: c.Pending, Removed: c.Removed, RecordedAt: stamp(c.RecordedAt)})
	}
	return d
}

// JSON is the JSON file's content: indented, with a final newline.
func JSON(r Report) ([]byte, error) { return jsonOf(r.Document()) }

func jsonOf(d Document) ([]byte, error) {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// money formats minor units of c as an exact decimal ("-1234.50").
func money(c ledger.Currency) func(int64) string {
	return func(n int64) string { return ledger.Format(n, c) }
}

func moneyPtr(n *int64, f func(int64) string) *string {
	if n == nil {
		return nil
	}
	s := f(*n)
	return &s
}

// stamp is a time as the report shows it: RFC 3339, UTC, whole seconds.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func stampPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := stamp(*t)
	return &s
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
