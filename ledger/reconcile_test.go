package ledger

import (
	"math"
	"testing"
	"time"
)

func i64(n int64) *int64 { return &n }

func TestReconcileStatus(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	fresh := now.Add(-time.Hour)
	tests := []struct {
		name      string
		in        ReconInput
		want      Status
		wantDiff  *int64
		wantSince time.Time
	}{
		{"ok", ReconInput{Anchored: true, Expected: 100000, Reported: i64(100000), ReportedAt: fresh}, StatusOK, i64(0), time.Time{}},
		{"timing first seen", ReconInput{Anchored: true, Expected: 100000, Reported: i64(97500), ReportedAt: fresh}, StatusTiming, i64(-2500), now},
		{"timing after ok", ReconInput{Anchored: true, Expected: 100000, Reported: i64(97500), ReportedAt: fresh,
			Previous: &PreviousRecon{Difference: i64(0)}}, StatusTiming, i64(-2500), now},
		{"break same difference", ReconInput{Anchored: true, Expected: 100000, Reported: i64(97500), ReportedAt: fresh,
			Previous: &PreviousRecon{Difference: i64(-2500), NonZeroSince: now.Add(-time.Hour)}}, StatusBreak, i64(-2500), now.Add(-time.Hour)},
		{"timing changed difference within 24h", ReconInput{Anchored: true, Expected: 100000, Reported: i64(97000), ReportedAt: fresh,
			Previous: &PreviousRecon{Difference: i64(-2500), NonZeroSince: now.Add(-23 * time.Hour)}}, StatusTiming, i64(-3000), now.Add(-23 * time.Hour)},
		{"break non-zero over 24h", ReconInput{Anchored: true, Expected: 100000, Reported: i64(97000), ReportedAt: fresh,
			Previous: &PreviousRecon{Difference: i64(-2500), NonZeroSince: now.Add(-25 * time.Hour)}}, StatusBreak, i64(-3000), now.Add(-25 * time.Hour)},
		{"exactly 24h is not yet a break", ReconInput{Anchored: true, Expected: 100000, Reported: i64(97000), ReportedAt: fresh,
			Previous: &PreviousRecon{Difference: i64(-2500), NonZeroSince: now.Add(-24 * time.Hour)}}, StatusTiming, i64(-3000), now.Add(-24 * time.Hour)},
		{"back to ok clears the streak", ReconInput{Anchored: true, Expected: 100000, Reported: i64(100000), ReportedAt: fresh,
			Previous: &PreviousRecon{Difference: i64(-2500), NonZeroSince: now.Add(-48 * time.Hour)}}, StatusOK, i64(0), time.Time{}},
		{"stale 8 days", ReconInput{Anchored: true, Expected: 100000, Reported: i64(100000), ReportedAt: now.Add(-8 * 24 * time.Hour)}, StatusStale, i64(0), time.Time{}},
		{"exactly 7 days is fresh", ReconInput{Anchored: true, Expected: 100000, Reported: i64(100000), ReportedAt: now.Add(-7 * 24 * time.Hour)}, StatusOK, i64(0), time.Time{}},
		{"no snapshot is stale", ReconInput{Anchored: true, Expected: 100000}, StatusStale, nil, time.Time{}},
		{"no anchor beats stale", ReconInput{Expected: 0, Reported: i64(5), ReportedAt: now.Add(-30 * 24 * time.Hour)}, StatusNoAnchor, nil, time.Time{}},
		{"needs refresh beats everything", ReconInput{NeedsRefresh: true, Anchored: true, Expected: 1, Reported: i64(2), ReportedAt: fresh,
			Previous: &PreviousRecon{Difference: i64(1), NonZeroSince: now.Add(-time.Hour)}}, StatusNeedsRefresh, i64(1), now.Add(-time.Hour)},
		{"needs refresh without anchor", ReconInput{NeedsRefresh: true}, StatusNeedsRefresh, nil, time.Time{}},
		{"liability owed more", ReconInput{Anchored: true, Expected: 30000, Reported: i64(31999), ReportedAt: fresh}, StatusTiming, i64(1999), now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Now = now
			got := Reconcile(tt.in)
			if got.Status != tt.want {
				t.Errorf("status = %s, want %s", got.Status, tt.want)
			}
			switch {
			case (got.Difference == nil) != (tt.wantDiff == nil):
				t.Errorf("difference = %v, want %v", got.Difference, tt.wantDiff)
			case got.Difference != nil && *got.Difference != *tt.wantDiff:
				t.Errorf("difference = %d, want %d", *got.Difference, *tt.wantDiff)
			}
			if !got.NonZeroSince.Equal(tt.wantSince) {
				t.Errorf("non-zero since = %v, want %v", got.NonZeroSince, tt.wantSince)
			}
		})
	}
}

func TestBusinessDays(t *testing.T) {
	tests := []struct {
		from, to string
		want     int
	}{
		{"2026-11-27", "2026-11-30", 1}, // Fri -> Mon
		{"2026-11-28", "2026-11-30", 1}, // Sat -> Mon
		{"2026-11-23", "2026-11-27", 4}, // Mon -> Fri
		{"2026-11-23", "2026-11-30", 5}, // one week
		{"2026-11-20", "2026-11-30", 6}, // Fri -> Mon a week later: aged
		{"2026-11-02", "2026-11-23", 15},
		{"2026-11-26", "2026-11-26", 0},
		{"2026-11-30", "2026-11-26", 0}, // dated in the future
		{"2026-11-26", "2026-11-28", 1}, // Thu -> Sat
		{"2025-12-31", "2026-01-02", 2}, // across a year, New Year's day counts (no holidays)
	}
	for _, tt := range tests {
		t.Run(tt.from+"_"+tt.to, func(t *testing.T) {
			got, err := BusinessDaysBetween(tt.from, tt.to)
			if err != nil || got != tt.want {
				t.Fatalf("BusinessDaysBetween = %d, %v; want %d", got, err, tt.want)
			}
			// Cross-check with a day-by-day count.
			f, _ := parseDate(tt.from)
			to, _ := parseDate(tt.to)
			n := 0
			for d := f.AddDate(0, 0, 1); !d.After(to); d = d.AddDate(0, 0, 1) {
				if d.Weekday() != time.Saturday && d.Weekday() != time.Sunday {
					n++
				}
			}
			if n != got {
				t.Fatalf("loop count %d != %d", n, got)
			}
		})
	}
	if _, err := BusinessDaysBetween("2026-02-30", "2026-03-01"); err == nil {
		t.Fatal("bad date accepted")
	}
	for _, tt := range []struct {
		days          int
		aged, anomaly bool
	}{{5, false, false}, {6, true, false}, {14, true, false}, {15, true, true}} {
		if a, an := PendingAge(tt.days); a != tt.aged || an != tt.anomaly {
			t.Errorf("PendingAge(%d) = %v,%v", tt.days, a, an)
		}
	}
}

// Zero tolerance: one minor unit either way is a difference, for every
// exponent and both kinds of account, never ok.
func TestReconcileOneMinorUnitIsNotOK(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name     string
		expected int64
		reported int64
		want     Status
	}{
		{"equal", 123456, 123456, StatusOK},
		{"bank one unit higher", 123456, 123457, StatusTiming},
		{"bank one unit lower", 123456, 123455, StatusTiming},
		{"zero vs one", 0, 1, StatusTiming},
		{"zero vs minus one", 0, -1, StatusTiming},
		{"negative balances one apart", -500, -501, StatusTiming},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Reconcile(ReconInput{Now: now, Anchored: true, Expected: tt.expected, Reported: i64(tt.reported), ReportedAt: now})
			if got.Status != tt.want {
				t.Errorf("status = %s, want %s", got.Status, tt.want)
			}
			if d := tt.reported - tt.expected; got.Difference == nil || *got.Difference != d {
				t.Errorf("difference = %v, want %d", got.Difference, d)
			}
			if Disagrees(got.Difference) != (tt.want != StatusOK) {
				t.Errorf("Disagrees(%v) = %v", got.Difference, Disagrees(got.Difference))
			}
		})
	}
}

func TestOpeningSound(t *testing.T) {
	for _, tt := range []struct {
		version, live int
		liveID        string
		want          bool
	}{
		{1, 1, "open:acc:v1", true},
		{2, 1, "open:acc:v2", true},
		{2, 1, "open:acc:v1", false}, // the live one is not the version the account names
		{1, 0, "", false},
		{1, 2, "open:acc:v1", false},
	} {
		if got := OpeningSound("acc", tt.version, tt.live, tt.liveID); got != tt.want {
			t.Errorf("OpeningSound(v%d, live %d, %s) = %v, want %v", tt.version, tt.live, tt.liveID, got, tt.want)
		}
	}
}

// A difference escalates only on a newer balance from the bank.
func TestReconcileEscalatesOnlyOnNewerBalance(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	balance := now.Add(-2 * time.Hour) // the balance this run compares against
	older := balance.Add(-time.Hour)
	prev := func(diff int64, since time.Time, st Status, at time.Time) *PreviousRecon {
		return &PreviousRecon{Difference: i64(diff), NonZeroSince: since, Status: st, ReportedAt: at}
	}
	tests := []struct {
		name string
		prev *PreviousRecon
		diff int64
		want Status
	}{
		{"first seen", nil, -2500, StatusTiming},
		{"same difference, newer balance", prev(-2500, now.Add(-time.Hour), StatusTiming, older), -2500, StatusBreak},
		{"same difference, same balance", prev(-2500, now.Add(-time.Hour), StatusTiming, balance), -2500, StatusTiming},
		{"same difference, same balance, over 24h", prev(-2500, now.Add(-48*time.Hour), StatusTiming, balance), -2500, StatusTiming},
		{"changed difference, same balance, over 24h", prev(-2000, now.Add(-48*time.Hour), StatusTiming, balance), -2500, StatusTiming},
		{"a break on the same balance stays a break", prev(-2500, now.Add(-48*time.Hour), StatusBreak, balance), -2500, StatusBreak},
		{"a break whose difference moved on the same balance is timing", prev(-2000, now.Add(-48*time.Hour), StatusBreak, balance), -2500, StatusTiming},
		{"changed difference, newer balance, within 24h", prev(-2000, now.Add(-23*time.Hour), StatusTiming, older), -2500, StatusTiming},
		{"changed difference, newer balance, over 24h", prev(-2000, now.Add(-25*time.Hour), StatusTiming, older), -2500, StatusBreak},
		{"an older balance than last time does not escalate", prev(-2500, now.Add(-time.Hour), StatusTiming, now.Add(-time.Minute)), -2500, StatusTiming},
		{"previous without a balance, same difference", prev(-2500, now.Add(-time.Hour), StatusStale, time.Time{}), -2500, StatusBreak},
		{"previous ok", prev(0, time.Time{}, StatusOK, older), -2500, StatusTiming},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Reconcile(ReconInput{Now: now, Anchored: true, Expected: 100000, Reported: i64(100000 + tt.diff), ReportedAt: balance, Previous: tt.prev})
			if got.Status != tt.want {
				t.Errorf("status = %s, want %s", got.Status, tt.want)
			}
		})
	}
}

func TestPrecisionSuspect(t *testing.T) {
	usd, jpy, bhd, btc := Currency{Code: "USD", Exponent: 2}, Currency{Code: "JPY"}, Currency{Code: "BHD", Exponent: 3}, Currency{Code: "BTC", Exponent: 8}
	for _, tt := range []struct {
		minor int64
		c     Currency
		want  bool
	}{
		{100_000_000, usd, true}, {-100_000_000, usd, true}, {99_999_999, usd, false}, {-99_999_999, usd, false},
		{1_000_000, jpy, true}, {999_999, jpy, false},
		{1_000_000_000, bhd, true}, {999_999_999, bhd, false},
		{100_000_000_000_000, btc, true}, {99_999_999_999_999, btc, false},
		{math.MaxInt64, Currency{Code: "X", Exponent: 19}, false}, // the limit is beyond int64
		{math.MinInt64 + 1, Currency{Code: "X", Exponent: 12}, true},
	} {
		if got := PrecisionSuspect(tt.minor, tt.c); got != tt.want {
			t.Errorf("PrecisionSuspect(%d %s) = %v, want %v", tt.minor, tt.c.Code, got, tt.want)
		}
	}
}
