package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"bankfeed/ledger"
	"bankfeed/report"
	"bankfeed/store"
)

// ErrBreak means the reconciliation found at least one break; the CLI
// exits with status 3.
var ErrBreak = errors.New("reconciliation found a break")

// ErrInvalidReport means the ledger failed its own checks (a currency whose
// journal does not balance, or an anchored account without exactly one
// live opening entry): the report is written, marked invalid.
var ErrInvalidReport = errors.New("reconciliation report is invalid")

// ErrNoReport means no reconciliation was stored for the date asked for.
var ErrNoReport = store.ErrNoReport

// Reconciliation settings.
const (
	// ChartPoints is how many reconciliations per account the chart reads;
	// it draws the last of each day (report.LastPerDay), so a night with
	// several runs draws one point and the chart spans fewer days.
	ChartPoints = 30
	// VanishedHoldWindow is how far back the report looks for holds that
	// disappeared without a posted successor.
	VanishedHoldWindow = 30 * 24 * time.Hour
)

// ReconcileOptions tune Reconcile.
type ReconcileOptions struct {
	Date     string // YYYY-MM-DD; "" = today in Location
	Dir      string // where the files go; "" = compute and store only
	Now      func() time.Time
	Location *time.Location // the report's calendar; nil = UTC
	RunID    string         // "" = a new id
}

// Reconcile produces the reconciliation report of a date. For today (or
// Date ""), it reconciles every linked account against the ledger as it
// stands, stores one row per account and the run, then writes the files.
// For a past date it does not recompute anything: it renders that date's
// newest stored run again, byte for byte. The error wraps ErrBreak when an
// account is a break and ErrInvalidReport when the ledger fails its checks;
// the report and files are returned in both cases.
func Reconcile(ctx context.Context, st *store.Store, o ReconcileOptions) (report.Report, []string, error) {
	now, loc := time.Now, time.UTC
	if o.Now != nil {
		now = o.Now
	}
	if o.Location != nil {
		loc = o.Location
	}
	at := now().UTC()
	today := at.In(loc).Format(time.DateOnly)
	date := o.Date
	if date == "" {
		date = today
	}
	switch {
	case !ledger.ValidDate(date):
		return report.Report{}, nil, fmt.Errorf("report date %q is not a YYYY-MM-DD date", o.Date)
	case date > today:
		return report.Report{}, nil, fmt.Errorf("report date %s is in the future (today is %s in %s)", date, today, loc)
	case date < today:
		return rerender(ctx, st, date, o.Dir)
	}
	runID := o.RunID
	if runID == "" {
		runID = newReconcileID(at)
	}

	// Read: one transaction, one snapshot of the ledger.
	d, err := st.ReadReconcile(ctx, store.ReconcileQuery{At: at, ChartPoints: ChartPoints - 1, VanishedSince: at.Add(-VanishedHoldWindow)})
	if err != nil {
		return report.Report{}, nil, err
	}

	// Decide: pure functions of what was read.
	r, rows, err := decide(d, at, date, runID)
	if err != nil {
		return report.Report{}, nil, err
	}

	// Write: the run and its rows in one short transaction, then the files.
	detail, err := report.Marshal(r)
	if err != nil {
		return report.Report{}, nil, fmt.Errorf("encode reconciliation: %w", err)
	}
	run := store.ReportRun{RunID: runID, ReportDate: date, GeneratedAt: at, Counts: r.Counts(), Dir: o.Dir, Valid: r.Valid, Detail: detail}
	if o.Dir != "" {
		run.Files = report.FileNames(o.Dir, date)
	}
	if err := st.SaveReconciliation(ctx, run, rows); err != nil {
		return r, nil, fmt.Errorf("store reconciliation: %w", err)
	}
	paths, err := write(o.Dir, r)
	if err != nil {
		return r, paths, err
	}
	return r, paths, outcome(r)
}

// decide builds the report and the rows to store from one read of the
// ledger.
func decide(d store.ReconcileData, at time.Time, date, runID string) (report.Report, []store.Reconciliation, error) {
	r := report.Report{Date: date, GeneratedAt: at, RunID: runID, Valid: true}
	cands := map[store.AcctCur][]store.Candidate{}
	for _, c := range d.Candidates {
		k := store.AcctCur{AccountID: c.AccountID, Currency: c.Currency}
		cands[k] = append(cands[k], c)
	}
	pend := map[store.AcctCur][]store.PendingItem{}
	for _, p := range d.Pending {
		k := store.AcctCur{AccountID: p.AccountID, Currency: p.Currency}
		pend[k] = append(pend[k], p)
	}
	byAcct := map[int64]store.ReconPosition{}
	rows := make([]store.Reconciliation, 0, len(d.Positions))
	for _, p := range d.Positions {
		byAcct[p.AccountID] = p
		k := store.AcctCur{AccountID: p.AccountID, Currency: p.Currency}
		cur, err := d.Currencies.Get(p.Currency)
		if err != nil {
			return r, nil, fmt.Errorf("account %s: %w", p.PlaidAccountID, err)
		}
		res := ledger.Reconcile(reconInput(p, at))
		a := report.Account{BusinessID: p.BusinessID, AccountID: p.PlaidAccountID, Name: p.Name, Mask: p.Mask, Kind: p.Kind,
			Currency: cur, Opening: p.Opening, Ledger: p.Balance, Reported: p.Reported(), Difference: res.Difference,
			PendingTotal: p.PendingTotal, PendingCount: p.PendingCount, Status: res.Status, TokenStatus: p.TokenStatus,
			TokenReason: p.TokenReason}
		if a.Reported != nil {
			a.ReportedAt = &p.Snapshot.TakenAt
		}
		if a.InFlight = p.InFlight(); a.InFlight != nil {
			a.RealtimeCurrent, a.RealtimeAt = &p.Realtime.Current, &p.Realtime.TakenAt
		}
		if !res.NonZeroSince.IsZero() {
			a.DifferenceSince = &res.NonZeroSince
		}
		if w, ok := d.Windows[k]; ok && ledger.Disagrees(res.Difference) {
			a.CandidatesSince = &w.From
			for _, c := range cands[k] {
				effect := p.Kind.Natural(c.Amount) // a journal line on the account
				if c.Source == "bank" {
					effect = p.Kind.PlaidEffect(c.Amount)
				}
				a.Candidates = append(a.Candidates, report.Candidate{Source: c.Source, EntryID: c.EntryID, EntryKind: c.EntryKind,
					TransactionID: c.TransactionID, Date: c.Date, Name: c.Name, MerchantName: c.MerchantName, Amount: effect,
					Pending: c.Pending, Removed: c.Removed, RecordedAt: c.RecordedAt})
			}
		}
		for _, it := range pend[k] {
			age, err := ledger.BusinessDaysBetween(it.Date, date)
			if err != nil {
				return r, nil, fmt.Errorf("pending %s: %w", it.TransactionID, err)
			}
			aged, anomaly := ledger.PendingAge(age)
			a.Pending = append(a.Pending, report.Pending{TransactionID: it.TransactionID, Date: it.Date, Name: it.Name,
				MerchantName: it.MerchantName, Amount: p.Kind.PlaidEffect(it.Amount), AgeBusinessDays: age, Aged: aged, Anomaly: anomaly})
		}
		// The chart: the earlier reconciliations, and this one.
		a.Chart = make([]report.ChartPoint, 0, len(d.History[k])+1)
		for _, h := range d.History[k] {
			a.Chart = append(a.Chart, report.ChartPoint{Date: h.Date, Ledger: h.Expected, Reported: h.Reported})
		}
		a.Chart = report.LastPerDay(append(a.Chart, report.ChartPoint{Date: date, Ledger: a.Ledger, Reported: a.Reported}))
		r.Accounts = append(r.Accounts, a)
		rows = append(rows, reconRow(p, res, at))
	}
	// Names for the lists that carry only an account id: a person reads
	// "Business Checking ••0000", not a 37-character id.
	named := map[string]store.ReconPosition{}
	for _, p := range d.Positions {
		named[p.PlaidAccountID] = p
	}
	for _, t := range d.Tokens {
		n := named[t.PlaidAccountID]
		r.Tokens = append(r.Tokens, report.Token{BusinessID: t.BusinessID, TokenHint: t.Hint, Status: t.Status, Reason: t.Reason,
			AccountID: t.PlaidAccountID, ItemID: t.ItemID, AccountName: n.Name, AccountMask: n.Mask})
	}
	for _, tb := range d.Trial {
		cur, err := d.Currencies.Get(tb.Currency)
		if err != nil {
			// Only a damaged journal has lines in a code never ingested: the
			// trial balance still counts them, in minor units.
			cur = ledger.Currency{Code: tb.Currency}
			r.Valid = false
			r.Problems = append(r.Problems, fmt.Sprintf("the journal has lines in %s, a currency bankfeed never ingested (run bankfeed doctor)", tb.Currency))
		}
		ok := tb.Sum == 0
		r.TrialBalance = append(r.TrialBalance, report.TrialBalance{Currency: cur, Lines: tb.Lines, Sum: tb.Sum, OK: ok})
		if !ok {
			r.Valid = false
			r.Problems = append(r.Problems, fmt.Sprintf("the journal does not balance in %s: debits - credits = %s", tb.Currency, ledger.Format(tb.Sum, cur)))
		}
	}
	for _, oc := range d.Openings {
		ok := ledger.OpeningSound(oc.PlaidAccountID, oc.Version, oc.Live, oc.LiveEntryID)
		n := named[oc.PlaidAccountID]
		r.OpeningChecks = append(r.OpeningChecks, report.OpeningCheck{BusinessID: oc.BusinessID, AccountID: oc.PlaidAccountID,
			Version: oc.Version, Live: oc.Live, Versions: oc.Versions, LiveEntryID: oc.LiveEntryID, OK: ok, AccountName: n.Name, AccountMask: n.Mask})
		if !ok {
			r.Valid = false
			r.Problems = append(r.Problems, fmt.Sprintf("account %s of business %s has %d live opening entries (want exactly one, %s)",
				oc.PlaidAccountID, oc.BusinessID, oc.Live, ledger.OpeningEntryID(oc.PlaidAccountID, oc.Version)))
		}
	}
	for _, h := range d.Vanished {
		p, ok := byAcct[h.AccountID]
		if !ok {
			continue // the account is no longer linked
		}
		cur, err := d.Currencies.Get(h.Currency)
		if err != nil {
			return r, nil, fmt.Errorf("vanished hold %s: %w", h.TransactionID, err)
		}
		r.VanishedHolds = append(r.VanishedHolds, report.Hold{BusinessID: p.BusinessID, AccountID: p.PlaidAccountID,
			TransactionID: h.TransactionID, Date: h.Date, Name: h.Name, MerchantName: h.MerchantName,
			Amount: p.Kind.PlaidEffect(h.Amount), Currency: cur, RemovedAt: h.RemovedAt, AccountName: p.Name, AccountMask: p.Mask})
	}
	for _, s := range d.Suspects {
		p, ok := byAcct[s.AccountID]
		if !ok {
			continue // the account is no longer linked
		}
		cur, err := d.Currencies.Get(s.Currency)
		if err != nil {
			return r, nil, fmt.Errorf("precision suspect %s: %w", s.TransactionID, err)
		}
		if ledger.PrecisionSuspect(s.Amount, cur) {
			r.PrecisionSuspects = append(r.PrecisionSuspects, report.PrecisionSuspect{BusinessID: p.BusinessID, AccountID: p.PlaidAccountID,
				TransactionID: s.TransactionID, Date: s.Date, Amount: p.Kind.PlaidEffect(s.Amount), Currency: cur, Pending: s.Pending,
				AccountName: p.Name, AccountMask: p.Mask})
		}
	}
	for _, s := range d.Suspense {
		cur, err := d.Currencies.Get(s.Currency)
		if err != nil {
			return r, nil, fmt.Errorf("suspense: %w", err)
		}
		line := report.Suspense{BusinessID: s.BusinessID, Currency: cur, Total: s.Total, Entries: s.Entries, OldestDate: s.Oldest}
		if s.Oldest != "" {
			if line.OldestAgeBusinessDays, err = ledger.BusinessDaysBetween(s.Oldest, date); err != nil {
				return r, nil, fmt.Errorf("suspense: %w", err)
			}
		}
		r.Suspense = append(r.Suspense, line)
	}
	for _, l := range d.Relinks {
		r.Relinks = append(r.Relinks, report.Relink(l))
	}
	for _, p := range d.Lookalikes {
		r.PossibleDuplicates = append(r.PossibleDuplicates, report.PossibleDuplicate{BusinessID: p.BusinessID, AccountID: p.AccountID,
			Name: p.Name, OtherID: p.OtherID, OtherName: p.OtherName, Mask: p.Mask})
	}
	r.Finish()
	return r, rows, nil
}

func reconInput(p store.ReconPosition, at time.Time) ledger.ReconInput {
	in := ledger.ReconInput{Now: at, NeedsRefresh: p.TokenStatus == store.StatusNeedsRefresh, Anchored: p.Anchored,
		Expected: p.Balance, Reported: p.Reported()}
	if in.Reported != nil {
		in.ReportedAt = p.Snapshot.TakenAt
	}
	if pr := p.Previous; pr != nil {
		in.Previous = &ledger.PreviousRecon{Difference: pr.Difference, Status: ledger.Status(pr.Status)}
		if pr.NonZeroSince != nil {
			in.Previous.NonZeroSince = *pr.NonZeroSince
		}
		if pr.SnapshotTakenAt != nil {
			in.Previous.ReportedAt = *pr.SnapshotTakenAt
		}
	}
	return in
}

// reconRow is the row a run stores for one account and currency, with the
// clean point its next run starts from: now when the books agree, carried
// forward while they do not.
func reconRow(p store.ReconPosition, res ledger.ReconResult, at time.Time) store.Reconciliation {
	row := store.Reconciliation{AccountID: p.AccountID, Currency: p.Currency, Opening: p.Opening, Expected: p.Balance,
		Reported: p.Reported(), Difference: res.Difference, PendingTotal: p.PendingTotal, Status: string(res.Status), CleanAt: p.CleanSince()}
	if row.Reported != nil {
		row.SnapshotID = p.Snapshot.ID
	}
	if !res.NonZeroSince.IsZero() {
		row.NonZeroSince = &res.NonZeroSince
	}
	if res.Difference != nil && *res.Difference == 0 {
		row.CleanAt = &at
	}
	return row
}

// outcome turns the report's findings into the run's error.
func outcome(r report.Report) error {
	var errs []error
	if r.Summary.Break > 0 {
		errs = append(errs, fmt.Errorf("%w: %d of %d accounts (see reconciliation-%s)", ErrBreak, r.Summary.Break, r.Summary.Accounts, r.Date))
	}
	if !r.Valid {
		errs = append(errs, fmt.Errorf("%w: %v", ErrInvalidReport, r.Problems))
	}
	return errors.Join(errs...)
}

func write(dir string, r report.Report) ([]string, error) {
	if dir == "" {
		return nil, nil
	}
	paths, err := report.WriteFiles(dir, r)
	if err != nil {
		return paths, fmt.Errorf("write reconciliation report: %w", err)
	}
	return paths, nil
}

// rerender renders a past date's newest stored run. The stored rows are
// checked against the stored report, so a report never silently disagrees
// with the table it came from, and the charts are rebuilt from that table.
func rerender(ctx context.Context, st *store.Store, date, dir string) (report.Report, []string, error) {
	sr, err := st.StoredReportFor(ctx, date)
	if errors.Is(err, store.ErrNoReport) {
		return report.Report{}, nil, fmt.Errorf("%w for %s; run `bankfeed report reconcile` on that day or pick another date", ErrNoReport, date)
	}
	if err != nil {
		return report.Report{}, nil, err
	}
	r, err := report.Unmarshal(sr.Run.Detail)
	if err != nil {
		return report.Report{}, nil, fmt.Errorf("reconciliation of %s (run %s) cannot be rendered again (a run stored by an earlier bankfeed?): the files written that day are its record: %w",
			date, sr.Run.RunID, err)
	}
	if err := agree(r, sr); err != nil {
		return r, nil, fmt.Errorf("%w: reconciliation of %s (run %s): %v", store.ErrCorrupt, date, sr.Run.RunID, err)
	}
	charts, err := st.RunCharts(ctx, sr.Run.RunID, ChartPoints)
	if err != nil {
		return r, nil, fmt.Errorf("reconciliation history of run %s: %w", sr.Run.RunID, err)
	}
	for i, rc := range sr.Rows {
		a := &r.Accounts[i]
		h := charts[store.AcctCur{AccountID: rc.AccountID, Currency: rc.Currency}]
		if len(h) == 0 || h[len(h)-1].ID != rc.ID {
			return r, nil, fmt.Errorf("%w: reconciliation of account %s in run %s has no chart point of its own", store.ErrCorrupt, rc.PlaidAccountID, sr.Run.RunID)
		}
		for _, p := range h {
			a.Chart = append(a.Chart, report.ChartPoint{Date: p.Date, Ledger: p.Expected, Reported: p.Reported})
		}
		a.Chart = report.LastPerDay(a.Chart)
	}
	paths, err := write(dir, r)
	if err != nil {
		return r, paths, err
	}
	return r, paths, outcome(r)
}

// agree checks a stored report against its stored rows, in account order.
func agree(r report.Report, sr store.StoredReport) error {
	if len(r.Accounts) != len(sr.Rows) {
		return fmt.Errorf("%d accounts in the report, %d rows stored", len(r.Accounts), len(sr.Rows))
	}
	for i, rc := range sr.Rows {
		a := r.Accounts[i]
		if a.AccountID != rc.PlaidAccountID || a.Currency.Code != rc.Currency || string(a.Status) != rc.Status ||
			a.Ledger != rc.Expected || !sameAmount(a.Difference, rc.Difference) || !sameAmount(a.Reported, rc.Reported) {
			return fmt.Errorf("account %s: stored row and report differ", rc.PlaidAccountID)
		}
	}
	return nil
}

func sameAmount(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func newReconcileID(at time.Time) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "reconcile-" + at.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// ReconcileFunc adapts Reconcile to Runner.Reconcile: the runner's run id
// names the reconcile run, and the summary counts (plus invalid, 0 or 1)
// are what the runner logs.
func ReconcileFunc(st *store.Store, dir string, loc *time.Location, now func() time.Time) func(ctx context.Context, runID string) (map[string]int, error) {
	return func(ctx context.Context, runID string) (map[string]int, error) {
		r, _, err := Reconcile(ctx, st, ReconcileOptions{Dir: dir, Now: now, Location: loc, RunID: runID})
		if r.Date == "" && err != nil {
			return nil, err
		}
		return r.Counts(), err
	}
}
