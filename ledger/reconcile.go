package ledger

import (
	"fmt"
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
// needs_refresh > no_anchor > stale > ok > break > timing. A difference is
// a break when the previous reconciliation of the account found the very
// same non-zero amount, or when the difference has been non-zero without
// interruption for more than BreakAfter; otherwise a new non-zero
// difference is timing, to be rechecked next run.
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
	case in.Previous != nil && in.Previous.Difference != nil && *in.Previous.Difference == *res.Difference:
		res.Status = StatusBreak
	case in.Now.Sub(res.NonZeroSince) > BreakAfter:
		res.Status = StatusBreak
	default:
		res.Status = StatusTiming
	}
	return res
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
