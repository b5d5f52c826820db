package ledger

import (
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
