// Package report renders bankfeed's nightly reconciliation: one JSON
// document (the contract of `bankfeed report reconcile`), a CSV with one row
// per account, and one self-contained HTML page. It holds no logic about
// money beyond formatting and charting: the statuses come from ledger and
// the numbers from the caller. A Report round-trips through its JSON
// unchanged, so a stored report renders to the same bytes on any later day.
package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"bankfeed/ledger"
)

// Report is one reconciliation run. Amounts are exact decimal strings in
// each account's natural sign (ledger.Format); times are RFC 3339 UTC.
type Report struct {
	// Contract fields.
	Date        string    `json:"date"`
	GeneratedAt string    `json:"generated_at"`
	Accounts    []Account `json:"accounts"`
	Summary     Summary   `json:"summary"`

	// Detail.
	RunID         string         `json:"run_id"`
	Valid         bool           `json:"valid"`
	Problems      []string       `json:"problems"`
	Totals        []Total        `json:"totals"`
	TrialBalance  []TrialBalance `json:"trial_balance"`
	OpeningChecks []OpeningCheck `json:"opening_checks"`
	VanishedHolds []Hold         `json:"vanished_holds"`
	Suspense      []Suspense     `json:"suspense"`

	// Currencies are the stored currencies of the accounts (see
	// ledger.Currencies): totals and charts read amounts with them, never
	// with a currency resolved again from its code.
	Currencies ledger.Currencies `json:"-"`
}

// Account is one account (in one currency) of the report.
type Account struct {
	// Contract fields.
	BusinessID      string        `json:"business_id"`
	AccountID       string        `json:"account_id"`
	Currency        string        `json:"currency"`
	OpeningBalance  string        `json:"opening_balance"`
	LedgerBalance   string        `json:"ledger_balance"`
	ReportedCurrent *string       `json:"reported_current"`
	Difference      *string       `json:"difference"`
	PendingTotal    string        `json:"pending_total"`
	Status          ledger.Status `json:"status"`

	// Detail.
	Name            string      `json:"name"`
	Mask            string      `json:"mask"`
	Kind            string      `json:"kind"`
	TokenStatus     string      `json:"token_status"`
	TokenReason     *string     `json:"token_reason"`
	ReportedAt      *string     `json:"reported_at"`
	DifferenceSince *string     `json:"difference_since"` // start of the non-zero streak
	CandidatesSince *string     `json:"candidates_since"` // candidates were recorded after this time
	PendingCount    int         `json:"pending_count"`
	Pending         []Pending   `json:"pending"`
	Candidates      []Candidate `json:"candidates"`
	Chart           []Point     `json:"chart"` // up to 30 points, oldest first, this run last
}

// Summary counts accounts by status.
type Summary struct {
	Accounts     int `json:"accounts"`
	OK           int `json:"ok"`
	Timing       int `json:"timing"`
	Break        int `json:"break"`
	Stale        int `json:"stale"`
	NoAnchor     int `json:"no_anchor"`
	NeedsRefresh int `json:"needs_refresh"`
}

// Pending is a staged transaction with its age.
type Pending struct {
	TransactionID   string `json:"transaction_id"`
	Date            string `json:"date"`
	Name            string `json:"name"`
	MerchantName    string `json:"merchant_name"`
	Amount          string `json:"amount"` // natural-sign effect on the account once posted
	AgeBusinessDays int    `json:"age_business_days"`
	Aged            bool   `json:"aged"`
	Anomaly         bool   `json:"anomaly"`
}

// Candidate is something recorded on the account since the ledger last
// agreed with the bank: where to look for the difference.
type Candidate struct {
	Source        string `json:"source"` // journal | bank
	EntryID       string `json:"entry_id"`
	EntryKind     string `json:"entry_kind"`
	TransactionID string `json:"transaction_id"`
	Date          string `json:"date"`
	Name          string `json:"name"`
	MerchantName  string `json:"merchant_name"`
	Amount        string `json:"amount"` // natural-sign effect on the account
	Pending       bool   `json:"pending"`
	Removed       bool   `json:"removed"`
	RecordedAt    string `json:"recorded_at"`
}

// Point is one reconciliation of the account, for the chart.
type Point struct {
	Date        string  `json:"date"`
	GeneratedAt string  `json:"generated_at"`
	Reported    *string `json:"reported"`
	Ledger      string  `json:"ledger"`
	Status      string  `json:"status"`
}

// Mismatch reports whether the point's reported balance differs from the ledger.
func (p Point) Mismatch() bool { return p.Reported != nil && *p.Reported != p.Ledger }

// Total sums the accounts of one currency and kind.
type Total struct {
	Currency        string `json:"currency"`
	Kind            string `json:"kind"`
	Accounts        int    `json:"accounts"`
	LedgerBalance   string `json:"ledger_balance"`
	ReportedCurrent string `json:"reported_current"` // of the accounts with a reported balance
	Difference      string `json:"difference"`
	PendingTotal    string `json:"pending_total"`
}

// TrialBalance is one currency's sum of every journal line: zero when sound.
type TrialBalance struct {
	Currency string `json:"currency"`
	Lines    int    `json:"lines"`
	Sum      string `json:"sum"`
	OK       bool   `json:"ok"`
}

// OpeningCheck says whether an anchored account has exactly one live opening.
type OpeningCheck struct {
	BusinessID  string `json:"business_id"`
	AccountID   string `json:"account_id"`
	Version     int    `json:"version"`
	Live        int    `json:"live"`
	Versions    int    `json:"versions"`
	LiveEntryID string `json:"live_entry_id"`
	OK          bool   `json:"ok"`
}

// Hold is a pending transaction that disappeared without a posted successor.
type Hold struct {
	BusinessID    string `json:"business_id"`
	AccountID     string `json:"account_id"`
	TransactionID string `json:"transaction_id"`
	Date          string `json:"date"`
	Name          string `json:"name"`
	MerchantName  string `json:"merchant_name"`
	Amount        string `json:"amount"`
	Currency      string `json:"currency"`
	RemovedAt     string `json:"removed_at"`
}

// Suspense is what waits in Suspense:Uncategorized for a business.
type Suspense struct {
	BusinessID            string `json:"business_id"`
	Currency              string `json:"currency"`
	Total                 string `json:"total"`
	Entries               int    `json:"entries"`
	OldestDate            string `json:"oldest_date"`
	OldestAgeBusinessDays int    `json:"oldest_age_business_days"`
}

// Finish sorts the report into its canonical order, fills the summary and
// the totals, and turns nil lists into empty ones so that the JSON always
// has arrays. Call it once the fields are set, before storing or writing.
func (r *Report) Finish() error {
	less := func(i, j int) bool {
		a, b := &r.Accounts[i], &r.Accounts[j]
		if a.BusinessID != b.BusinessID {
			return a.BusinessID < b.BusinessID
		}
		if a.AccountID != b.AccountID {
			return a.AccountID < b.AccountID
		}
		return a.Currency < b.Currency
	}
	// Accounts usually come in order already; then nothing is moved.
	if !sort.SliceIsSorted(r.Accounts, less) {
		sort.SliceStable(r.Accounts, less)
	}
	r.Summary = Summarize(r.Accounts)
	totals, err := totalsOf(r.Accounts, r.Currencies)
	if err != nil {
		return err
	}
	r.Totals = totals
	r.normalize()
	return nil
}

func (r *Report) normalize() {
	for i := range r.Accounts {
		a := &r.Accounts[i]
		orEmpty(&a.Pending)
		orEmpty(&a.Candidates)
		orEmpty(&a.Chart)
	}
	orEmpty(&r.Accounts)
	orEmpty(&r.Problems)
	orEmpty(&r.Totals)
	orEmpty(&r.TrialBalance)
	orEmpty(&r.OpeningChecks)
	orEmpty(&r.VanishedHolds)
	orEmpty(&r.Suspense)
}

// orEmpty makes a nil list empty. It writes only a nil one, so a report
// already normalized can be encoded and rendered by several goroutines at
// once.
func orEmpty[T any](s *[]T) {
	if *s == nil {
		*s = []T{}
	}
}

// Summarize counts accounts by status.
func Summarize(accts []Account) Summary {
	s := Summary{Accounts: len(accts)}
	for _, a := range accts {
		switch a.Status {
		case ledger.StatusOK:
			s.OK++
		case ledger.StatusTiming:
			s.Timing++
		case ledger.StatusBreak:
			s.Break++
		case ledger.StatusStale:
			s.Stale++
		case ledger.StatusNoAnchor:
			s.NoAnchor++
		case ledger.StatusNeedsRefresh:
			s.NeedsRefresh++
		}
	}
	return s
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

// totalsOf sums accounts per currency and kind with integer minor units.
func totalsOf(accts []Account, cs ledger.Currencies) ([]Total, error) {
	type key struct{ cur, kind string }
	type sums struct {
		n                               int
		ledger, reported, diff, pending int64
	}
	m := map[key]*sums{}
	var keys []key
	for _, a := range accts {
		c, err := cs.Get(a.Currency)
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", a.AccountID, err)
		}
		k := key{a.Currency, a.Kind}
		s := m[k]
		if s == nil {
			s = &sums{}
			m[k] = s
			keys = append(keys, k)
		}
		s.n++
		for _, f := range []struct {
			dst *int64
			v   *string
		}{{&s.ledger, &a.LedgerBalance}, {&s.reported, a.ReportedCurrent}, {&s.diff, a.Difference}, {&s.pending, &a.PendingTotal}} {
			if f.v == nil {
				continue
			}
			n, err := parseAmount(*f.v, c)
			if err != nil {
				return nil, fmt.Errorf("account %s: %w", a.AccountID, err)
			}
			*f.dst += n
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].cur != keys[j].cur {
			return keys[i].cur < keys[j].cur
		}
		return keys[i].kind < keys[j].kind
	})
	out := make([]Total, 0, len(keys))
	for _, k := range keys {
		c, _ := cs.Get(k.cur)
		s := m[k]
		out = append(out, Total{Currency: k.cur, Kind: k.kind, Accounts: s.n, LedgerBalance: ledger.Format(s.ledger, c),
			ReportedCurrent: ledger.Format(s.reported, c), Difference: ledger.Format(s.diff, c), PendingTotal: ledger.Format(s.pending, c)})
	}
	return out, nil
}

// encodeJSON is the JSON file: indented, with a final newline.
func encodeJSON(r Report) ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// indent turns Marshal's output into the JSON file's bytes: what
// json.Indent(dst, compact, "", "  ") writes, plus the final newline, which
// is what MarshalIndent writes for the same report. json.Indent runs its
// validating scanner on every byte; Marshal's output is valid JSON with no
// space outside strings, so this copies strings whole and only lays out
// the punctuation between them (TestIndentMatchesEncodingJSON).
func indent(compact []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(compact) * 7 / 4)
	indentTo(&out, compact) // a bytes.Buffer does not fail
	return out.Bytes()
}

// indentTo writes indent(compact) to w a megabyte at a time, so the file
// (68 MB at 10,000 accounts) is never held whole.
func indentTo(w io.Writer, compact []byte) error {
	const flushAt = 1 << 20
	dst := make([]byte, 0, flushAt+4096)
	depth, open := 0, false // open: a { or [ whose first member is not laid out yet
	for i := 0; i < len(compact); i++ {
		if len(dst) >= flushAt {
			if _, err := w.Write(dst); err != nil {
				return err
			}
			dst = dst[:0]
		}
		c := compact[i]
		if open && c != '}' && c != ']' {
			open = false
			depth++
			dst = newline(dst, depth)
		}
		switch c {
		case '"':
			end := stringEnd(compact, i)
			dst = append(dst, compact[i:end]...)
			i = end - 1
		case '{', '[':
			open = true
			dst = append(dst, c)
		case ',':
			dst = newline(append(dst, c), depth)
		case ':':
			dst = append(dst, ':', ' ')
		case '}', ']':
			if open {
				open = false // empty: {} and []
			} else {
				depth--
				dst = newline(dst, depth)
			}
			dst = append(dst, c)
		default:
			dst = append(dst, c)
		}
	}
	_, err := w.Write(append(dst, '\n'))
	return err
}

// stringEnd returns the index just past the JSON string that starts at
// b[start] (a quote). Inside a string a backslash always escapes the byte
// after it, so a quote after an escaping backslash does not end it.
func stringEnd(b []byte, start int) int {
	for i := start + 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

func newline(dst []byte, depth int) []byte {
	if depth < len(newlines) {
		return append(dst, newlines[depth]...)
	}
	dst = append(dst, newlines[len(newlines)-1]...)
	for range depth - len(newlines) + 1 {
		dst = append(dst, ' ', ' ')
	}
	return dst
}

// newlines[d] is a newline and the indentation of depth d.
var newlines = func() []string {
	out := make([]string, 16)
	for d := range out {
		out[d] = "\n" + strings.Repeat("  ", d)
	}
	return out
}()

// Decode reads a report stored as JSON, indented or compact.
func Decode(b []byte) (Report, error) {
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return Report{}, fmt.Errorf("stored report does not decode: %w", err)
	}
	r.normalize()
	return r, nil
}

// Encode returns the report's JSON file content.
func Encode(r Report) ([]byte, error) {
	r.normalize()
	return encodeJSON(r)
}

// Marshal returns the report as compact JSON, the form it is stored in:
// it decodes to the same report as the file, in about half the bytes.
func Marshal(r Report) ([]byte, error) {
	r.normalize()
	acc := MarshalAccounts(r.Date, r.GeneratedAt, r.Accounts)
	return MarshalWith(r, &acc)
}

// EncodedAccounts is a report's JSON up to the end of its accounts,
// encoded ahead of the rest of it.
type EncodedAccounts struct {
	b    []byte
	head int // where the accounts begin
}

// MarshalAccounts encodes a finished (normalized) report's accounts ahead
// of the rest of it: it reads only the date, time and accounts given, so it
// can run while the rest of the report is being put together. MarshalWith
// completes the JSON.
//
// Marshal is json.Marshal's output put together from parts: the accounts,
// written by appendAccount (two halves at once when there are many), then
// the rest of the report after them, in the same buffer.
func MarshalAccounts(date, generatedAt string, accounts []Account) EncodedAccounts {
	b := make([]byte, 0, 64<<10+len(accounts)*4096)
	b = append(b, `{"date":`...)
	b = appendString(b, date)
	b = append(b, `,"generated_at":`...)
	b = appendString(b, generatedAt)
	b = append(b, `,"accounts":[`...)
	acc := EncodedAccounts{head: len(b)}
	if len(accounts) < 1000 {
		acc.b = appendAccounts(b, accounts)
		return acc
	}
	half := len(accounts) / 2
	var second []byte
	done := make(chan struct{})
	go func() {
		defer close(done)
		second = appendAccounts(make([]byte, 0, (len(accounts)-half)*4096), accounts[half:])
	}()
	b = appendAccounts(b, accounts[:half])
	<-done
	acc.b = append(append(b, ','), second...)
	return acc
}

func appendAccounts(b []byte, accounts []Account) []byte {
	for k := range accounts {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendAccount(b, &accounts[k])
	}
	return b
}

// MarshalWith is Marshal with the accounts already encoded by
// MarshalAccounts(r.Date, r.GeneratedAt, r.Accounts). It completes the
// JSON in acc's buffer, which it uses up.
func MarshalWith(r Report, acc *EncodedAccounts) ([]byte, error) {
	r.normalize()
	r.Accounts = []Account{}
	rest, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	// Date and GeneratedAt come first and are strings, in which a quote is
	// always escaped: the first "accounts":[] is the field.
	i := bytes.Index(rest, []byte(`"accounts":[]`))
	if i < 0 {
		return nil, fmt.Errorf("report JSON has no accounts field")
	}
	i += len(`"accounts":[`)
	if acc.b == nil {
		return nil, fmt.Errorf("report accounts already used")
	}
	out := acc.b
	acc.b = nil
	if !bytes.Equal(out[:acc.head], rest[:i]) {
		return nil, fmt.Errorf("report accounts were encoded for another report")
	}
	return append(out, rest[i:]...), nil
}
