package ledger

import (
	"fmt"
	"math"
	"time"
)

// Status is the outcome of reconciling one account in one run.
type Status string

// Reconciliation statuses, in the order of precedence Reconcile applies.
const (
	StatusNeedsRefresh Status = "needs_refresh" // the account's token is flagged
	StatusNoAnchor     Status = "no_anchor"     // no opening balance anchored yet
	StatusStale        Status = "stale"         // no reported current balance in StaleAfter
	StatusOK           Status = "ok"            // the ledger equals the bank to the minor unit
	StatusBreak        Status = "break"         // a difference that persists
	StatusTiming       Status = "timing"        // a difference seen for the first time
)

// Statuses lists every status in the order reports count them.
var Statuses = []Status{StatusOK, StatusTiming, StatusBreak, StatusStale, StatusNoAnchor, StatusNeedsRefresh}

// Reconciliation thresholds.
const (
	// StaleAfter is how old the newest reported balance may be.
	StaleAfter = 7 * 24 * time.Hour
	// BreakAfter is how long a non-zero difference may last before it is a
	// break even when its amount keeps changing.
	BreakAfter = 24 * time.Hour
	// AgedAfter and AnomalyAfter are business-day ages of a pending item:
	// older than AgedAfter it is aged, older than AnomalyAfter an anomaly.
	AgedAfter    = 5
	AnomalyAfter = 14
)

// PreviousRecon is what the account's previous reconciliation found.
type PreviousRecon struct {
	Difference   *int64    // nil when it could not be computed
	NonZeroSince time.Time // start of the non-zero streak it was part of; zero when none
	Status       Status
	ReportedAt   time.Time // when the balance it compared against was taken; zero when none
}

// ReconInput is everything the status of one account depends on.
type ReconInput struct {
	Now          time.Time // the report time
	NeedsRefresh bool      // the account's token is flagged
	Anchored     bool      // the opening balance has been anchored
	Expected     int64     // opening + natural-sign sum of live posted entries
	Reported     *int64    // the newest reported current balance, natural sign; nil when none
	ReportedAt   time.Time // when Reported was taken
	Previous     *PreviousRecon
}

// ReconResult is the outcome for one account.
type ReconResult struct {
	Status Status
	// Difference is reported current - expected in minor units; nil when
	// there is no reported balance or no anchor to compare against.
	Difference *int64
	// NonZeroSince is when the current run of non-zero differences began;
	// zero when the difference is zero or unknown.
	NonZeroSince time.Time
}

// Reconcile applies the status rules, with zero tolerance. Precedence:
// needs_refresh > no_anchor > stale > ok > break > timing.
//
// A difference escalates only on news from the bank: it is a break when a
// newer balance (taken after the one the previous reconciliation compared
// against) shows the very same non-zero difference, or when the difference
// has been non-zero without interruption for more than BreakAfter across
// at least two balances. Reconciling again against the same balance learns
// nothing new and never escalates: the status stands (a break stays a
// break while its difference does not change, anything else is timing).
// Otherwise a new non-zero difference is timing, to be rechecked after the
// bank's next balance.
//
// The difference and its streak are tracked even when a higher-precedence
// status hides them, so that a break is not reset by a day of staleness.
func Reconcile(in ReconInput) ReconResult {
	var res ReconResult
	if d := Difference(in.Anchored, in.Expected, in.Reported); d != nil {
		res.Difference = d
		if *d != 0 {
			res.NonZeroSince = in.Now
			if p := in.Previous; p != nil && p.Difference != nil && *p.Difference != 0 && !p.NonZeroSince.IsZero() {
				res.NonZeroSince = p.NonZeroSince
			}
		}
	}
	switch {
	case in.NeedsRefresh:
		res.Status = StatusNeedsRefresh
	case !in.Anchored:
		res.Status = StatusNoAnchor
	case in.Reported == nil || in.ReportedAt.IsZero() || in.Now.Sub(in.ReportedAt) > StaleAfter:
		res.Status = StatusStale
	case *res.Difference == 0:
		res.Status = StatusOK
	default:
		res.Status = escalate(in, *res.Difference, res.NonZeroSince)
	}
	return res
}

// escalate decides between timing and break for a non-zero difference d.
func escalate(in ReconInput, d int64, since time.Time) Status {
	p := in.Previous
	if p == nil || p.Difference == nil || *p.Difference == 0 {
		return StatusTiming // first seen
	}
	same := *p.Difference == d
	if !in.ReportedAt.After(p.ReportedAt) {
		// The same balance as last time: nothing new from the bank.
		if same && p.Status == StatusBreak {
			return StatusBreak
		}
		return StatusTiming
	}
	if same || in.Now.Sub(since) > BreakAfter {
		return StatusBreak
	}
	return StatusTiming
}

// Difference is the bank's reported current balance minus the ledger's
// expected one, in minor units, with zero tolerance: nil when there is
// nothing to compare (no anchored opening, or no reported balance).
func Difference(anchored bool, expected int64, reported *int64) *int64 {
	if !anchored || reported == nil {
		return nil
	}
	d := *reported - expected
	return &d
}

// Disagrees reports whether a difference is known and not zero: the
// accounts whose recent records the report lists as candidates.
func Disagrees(difference *int64) bool { return difference != nil && *difference != 0 }

// OpeningSound reports whether an anchored account's opening entries are
// as the ledger requires: exactly one live (not reversed) opening entry,
// and it is the version the account names.
func OpeningSound(plaidAccountID string, version, live int, liveEntryID string) bool {
	return live == 1 && liveEntryID == OpeningEntryID(plaidAccountID, version)
}

// BusinessDaysBetween counts the business days after from up to and
// including to, both YYYY-MM-DD: an item dated Friday is 1 business day old
// on Monday. Business days are Monday to Friday; bankfeed knows no bank
// holidays, so around a holiday an item looks a day older than a banker
// would count it (it errs towards flagging early, never late). Zero when to
// is not after from.
func BusinessDaysBetween(from, to string) (int, error) {
	f, err := parseDate(from)
	if err != nil {
		return 0, err
	}
	t, err := parseDate(to)
	if err != nil {
		return 0, err
	}
	days := int(t.Sub(f).Hours() / 24)
	if days <= 0 {
		return 0, nil
	}
	n := days / 7 * 5
	wd := f.Weekday()
	for i := 0; i < days%7; i++ {
		wd = (wd + 1) % 7
		if wd != time.Saturday && wd != time.Sunday {
			n++
		}
	}
	return n, nil
}

// PrecisionSuspectAt is the amount, in major units of any currency, from
// which a transaction is listed as a precision suspect: Plaid has delivered
// amounts this large rounded (plaid-node issue 637), and plaid-go decodes
// them through a float64.
const PrecisionSuspectAt = 1_000_000

// PrecisionSuspect reports whether an amount of minor units of c is at or
// above PrecisionSuspectAt major units, either sign.
func PrecisionSuspect(minor int64, c Currency) bool {
	limit := int64(PrecisionSuspectAt)
	for range c.Exponent {
		if limit > math.MaxInt64/10 {
			return false // no int64 amount reaches it
		}
		limit *= 10
	}
	return minor >= limit || minor <= -limit
}

// PendingAge classifies a pending item by its business-day age.
func PendingAge(businessDays int) (aged, anomaly bool) {
	return businessDays > AgedAfter, businessDays > AnomalyAfter
}

// ValidStatus reports whether s is one of the statuses.
func ValidStatus(s string) bool {
	for _, v := range Statuses {
		if string(v) == s {
			return true
		}
	}
	return false
}

// ParseDate parses a YYYY-MM-DD date as midnight UTC.
func ParseDate(s string) (time.Time, error) {
	t, err := parseDate(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("date: %w", err)
	}
	return t, nil
}
