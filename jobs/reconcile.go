package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
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
	// ChartPoints is how many reconciliations per account the chart shows.
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
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	at := now().UTC()
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	today := at.In(loc).Format(time.DateOnly)
	date := o.Date
	if date == "" {
		date = today
	}
	if !ledger.ValidDate(date) {
		return report.Report{}, nil, fmt.Errorf("report date %q is not a YYYY-MM-DD date", o.Date)
	}
	switch {
	case date > today:
		return report.Report{}, nil, fmt.Errorf("report date %s is in the future (today is %s in %s)", date, today, loc)
	case date < today:
		return rerender(ctx, st, date, o.Dir)
	}
	runID := o.RunID
	if runID == "" {
		runID = newReconcileID(at)
	}
	// From here everything runs at once. The run's rows go into the
	// database as soon as the ledger positions are read, and the run waits
	// there, in its transaction, for the rest. The report is built once
	// the positions and the chart history are read. When files are
	// written, its accounts, nearly all of the JSON file, are encoded while
	// the suspense totals are still being read, and the rest around them
	// (compact, indented on its way to the file). The run's detail is
	// encoded apart, without the charts. The files are rendered and staged
	// beside their names once the report is complete, and put in place
	// only once the run is stored. All of them only read the report but
	// the one that completes it.
	head := store.ReportRun{RunID: runID, ReportDate: date, GeneratedAt: at}
	completed := make(chan struct{}) // complete may be called
	var complete func() (store.ReportRun, error)
	saved := make(chan error, 1)
	var saving atomic.Bool
	startSave := func(rows []store.Reconciliation) {
		saving.Store(true)
		go func() {
			saved <- st.SaveReconciliationWith(ctx, head, rows, func() (store.ReportRun, error) {
				<-completed
				return complete()
			})
		}()
	}
	// abandon ends a save that was started, with err.
	abandon := func(err error) {
		if saving.Load() {
			complete = func() (store.ReportRun, error) { return store.ReportRun{}, err }
			close(completed)
			<-saved
		}
	}
	rec, err := startCompute(ctx, st, at, date, runID, startSave)
	if err != nil {
		abandon(err)
		return report.Report{}, nil, err
	}
	if !saving.Load() {
		// The positions are read before anything else can succeed.
		return report.Report{}, nil, errors.New("reconcile: the run's rows were never handed over")
	}
	r := rec.report
	accounts := sync.OnceValue(func() report.EncodedAccounts { return report.MarshalAccounts(r.Date, r.GeneratedAt, r.Accounts) })
	if o.Dir != "" {
		go accounts()
	}
	encode := sync.OnceValues(func() ([]byte, error) {
		if err := rec.wait(); err != nil {
			return nil, err
		}
		acc := accounts()
		return report.MarshalWith(*r, &acc)
	})
	// The run's detail is stored without the charts: their points are rows
	// of the reconciliations table already, and rebuilt from it when a past
	// date is rendered again (fillCharts).
	stored := sync.OnceValues(func() ([]byte, error) {
		if err := rec.wait(); err != nil {
			return nil, err
		}
		bare := slices.Clone(r.Accounts)
		for i := range bare {
			bare[i].Chart = []report.Point{}
		}
		acc := report.MarshalAccounts(r.Date, r.GeneratedAt, bare)
		return report.MarshalWith(*r, &acc)
	})
	var files []string
	if o.Dir != "" {
		files = report.FileNames(o.Dir, date)
	}
	complete = func() (store.ReportRun, error) {
		detail, err := stored() // after rec.wait: the report is complete
		if err != nil {
			return store.ReportRun{}, err
		}
		return store.ReportRun{RunID: runID, ReportDate: date, GeneratedAt: at, Counts: r.Counts(), Dir: o.Dir,
			Files: files, Valid: r.Valid, Detail: detail}, nil
	}
	close(completed)
	if err := rec.wait(); err != nil {
		<-saved
		return report.Report{}, nil, err
	}
	go stored()
	var staged *report.Staged
	var fileErr error
	if o.Dir != "" {
		staged, fileErr = report.RenderStaged(*r, encode, o.Dir)
	}
	if err := <-saved; err != nil {
		staged.Abort()
		return *r, nil, fmt.Errorf("store reconciliation: %w", err)
	}
	if fileErr != nil {
		return *r, nil, fmt.Errorf("write reconciliation report: %w", fileErr)
	}
	if staged == nil {
		return *r, nil, outcome(*r)
	}
	paths, err := staged.Commit()
	if err != nil {
		return *r, paths, fmt.Errorf("write reconciliation report: %w", err)
	}
	return *r, paths, outcome(*r)
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

// rerender renders a past date's newest stored run. The stored rows are
// checked against the stored detail, so a report never silently disagrees
// with the table it came from.
func rerender(ctx context.Context, st *store.Store, date, dir string) (report.Report, []string, error) {
	sr, err := st.StoredReportFor(ctx, date)
	if errors.Is(err, store.ErrNoReport) {
		return report.Report{}, nil, fmt.Errorf("%w for %s; run `bankfeed report reconcile` on that day or pick another date", ErrNoReport, date)
	}
	if err != nil {
		return report.Report{}, nil, err
	}
	r, err := report.Decode(sr.Run.Detail)
	if err != nil {
		return report.Report{}, nil, fmt.Errorf("reconciliation of %s (run %s): %w", date, sr.Run.RunID, err)
	}
	if r.Currencies, err = st.Currencies(ctx); err != nil {
		return report.Report{}, nil, err
	}
	if err := agree(r, sr); err != nil {
		return r, nil, fmt.Errorf("%w: reconciliation of %s (run %s): %v", store.ErrCorrupt, date, sr.Run.RunID, err)
	}
	if err := fillCharts(ctx, st, &r, sr); err != nil {
		return r, nil, err
	}
	paths, err := write(dir, r)
	if err != nil {
		return r, paths, err
	}
	return r, paths, outcome(r)
}

func agree(r report.Report, sr store.StoredReport) error {
	if len(r.Accounts) != len(sr.Rows) {
		return fmt.Errorf("%d accounts in the report, %d rows stored", len(r.Accounts), len(sr.Rows))
	}
	for i, rc := range sr.Rows {
		a := r.Accounts[i]
		cur, err := r.Currencies.Get(rc.Currency)
		if err != nil {
			return err
		}
		if a.AccountID != rc.PlaidAccountID || a.Currency != rc.Currency || string(a.Status) != rc.Status ||
			a.LedgerBalance != ledger.Format(rc.Expected, cur) || !sameAmount(a.Difference, rc.Difference, cur) ||
			!sameAmount(a.ReportedCurrent, rc.Reported, cur) {
			return fmt.Errorf("account %s: stored row and report differ", rc.PlaidAccountID)
		}
	}
	return nil
}

func sameAmount(s *string, n *int64, c ledger.Currency) bool {
	if s == nil || n == nil {
		return s == nil && n == nil
	}
	return *s == ledger.Format(*n, c)
}

// reconData is what one consistent read of the database gives the reconcile.
type reconData struct {
	positions  []store.ReconPosition
	history    map[store.AcctCur][]store.ChartPoint
	candidates []store.Candidate
	pending    []store.PendingItem
	vanished   []store.PendingItem
	trial      []store.CurrencySum
	curs       ledger.Currencies // stored exponents: amounts are formatted with these only
}

// computation is a reconcile whose report is all there but for its
// opening checks and suspense totals, which are still being read: wait
// completes it.
type computation struct {
	report *report.Report
	done   chan struct{} // closed once the checks are in the report, or failed
	err    error         // set before done is closed
}

func (c *computation) wait() error {
	<-c.done
	return c.err
}

// startCompute reads everything a reconcile needs, on one snapshot, in
// three read transactions at once, each a pass over a large table: the
// bank accounts' journal lines (with the candidates and the opening
// checks), the chart history (with the pending items, vanished holds and
// the trial balance), and the suspense lines, the longest. It returns once
// the first two are read and the report is built from them, so the
// caller can start on it while the suspense is still being read.
func startCompute(ctx context.Context, st *store.Store, at time.Time, date, runID string,
	onRows func([]store.Reconciliation)) (*computation, error) {
	var d reconData
	results := map[store.AcctCur]ledger.ReconResult{}
	windows := map[store.AcctCur]store.CandidateWindow{}
	var aErr, bErr error
	var pending atomic.Int32
	pending.Store(2)
	abDone := make(chan struct{}) // closed when the first two groups are read
	doneOne := func() {
		if pending.Add(-1) == 0 {
			close(abDone)
		}
	}
	readDone := make(chan struct{})
	var readErr error
	// Read by the third group, beside the report being built.
	var suspense []store.SuspenseLine
	var openings []store.OpeningCheck
	// Each group writes only its own fields of d.
	go func() {
		defer close(readDone)
		readErr = st.ReadTogether(ctx, func(rt *store.ReadTx) error {
			defer doneOne()
			aErr = readAccounts(rt, &d, results, windows, at, date, runID, onRows)
			return aErr
		}, func(rt *store.ReadTx) error {
			defer doneOne()
			bErr = readHistory(rt, &d, at)
			return bErr
		}, func(rt *store.ReadTx) error {
			var err error
			if suspense, err = rt.Suspense(); err != nil {
				return fmt.Errorf("suspense: %w", err)
			}
			if openings, err = rt.OpeningChecks(); err != nil {
				return fmt.Errorf("opening checks: %w", err)
			}
			return nil
		})
	}()
	// Read one after another (a read-only store), a failed group stops the
	// rest, and the first two may never both be done.
	select {
	case <-abDone:
	case <-readDone:
	}
	if aErr != nil || bErr != nil {
		<-readDone
		return nil, readErr
	}
	r, err := build(&d, results, windows, at, date, runID)
	if err != nil {
		<-readDone
		return nil, err
	}
	c := &computation{report: &r, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		<-readDone
		if c.err = readErr; c.err == nil {
			c.err = addChecks(c.report, suspense, openings, date)
		}
	}()
	return c, nil
}

func readAccounts(rt *store.ReadTx, d *reconData, results map[store.AcctCur]ledger.ReconResult,
	windows map[store.AcctCur]store.CandidateWindow, at time.Time, date, runID string, onRows func([]store.Reconciliation)) error {
	var err error
	if d.curs, err = rt.Currencies(); err != nil {
		return fmt.Errorf("currencies: %w", err)
	}
	if d.positions, err = rt.ReconPositions(); err != nil {
		return fmt.Errorf("ledger positions: %w", err)
	}
	var ws []store.CandidateWindow
	for _, p := range d.positions {
		k := store.AcctCur{AccountID: p.AccountID, Currency: p.Currency}
		res := ledger.Reconcile(reconInput(p, at))
		results[k] = res
		if res.Difference == nil || *res.Difference == 0 {
			continue
		}
		if from := cleanSince(p); from != nil {
			w := store.CandidateWindow{AccountID: p.AccountID, Currency: p.Currency, From: *from, To: at}
			windows[k] = w
			ws = append(ws, w)
		}
	}
	onRows(reconRows(d.positions, results, at, date, runID))
	if d.candidates, err = rt.Candidates(ws); err != nil {
		return fmt.Errorf("candidates: %w", err)
	}
	return nil
}

func readHistory(rt *store.ReadTx, d *reconData, at time.Time) error {
	var err error
	if d.history, err = rt.ChartHistory(ChartPoints - 1); err != nil {
		return fmt.Errorf("reconciliation history: %w", err)
	}
	if d.pending, err = rt.PendingItems(); err != nil {
		return fmt.Errorf("pending items: %w", err)
	}
	if d.vanished, err = rt.VanishedHolds(at.Add(-VanishedHoldWindow)); err != nil {
		return fmt.Errorf("vanished holds: %w", err)
	}
	if d.trial, err = rt.TrialBalance(); err != nil {
		return fmt.Errorf("trial balance: %w", err)
	}
	return nil
}

func reconInput(p store.ReconPosition, at time.Time) ledger.ReconInput {
	in := ledger.ReconInput{Now: at, NeedsRefresh: p.TokenStatus == store.StatusNeedsRefresh, Anchored: p.Anchored, Expected: p.Balance}
	if s := p.Snapshot; s != nil && s.Currency == p.Currency {
		cur := s.Current
		in.Reported, in.ReportedAt = &cur, s.TakenAt
	}
	if pr := p.Previous; pr != nil {
		in.Previous = &ledger.PreviousRecon{Difference: pr.Difference}
		if pr.NonZeroSince != nil {
			in.Previous.NonZeroSince = *pr.NonZeroSince
		}
	}
	return in
}

// cleanSince is when the ledger last agreed with the bank: the previous
// reconciliation's clean point (carried forward while the difference is
// non-zero), or the anchoring, which agrees by construction. Anything
// recorded on the account after it and up to now is a candidate: wider
// than "since the previous snapshot", so a break still lists what opened
// it on every run until it is fixed.
func cleanSince(p store.ReconPosition) *time.Time {
	if p.Previous != nil && p.Previous.CleanAt != nil {
		return p.Previous.CleanAt
	}
	return p.AnchorTakenAt
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// stampCache turns stored RFC 3339 times into the report's form (UTC,
// whole seconds) once per distinct text: the charts repeat the same few
// run times on every account. Text that does not parse becomes the zero
// time, as a stored row that does not parse always has.
type stampCache map[string]string

func (c stampCache) rfc(s string) string {
	if v, ok := c[s]; ok {
		return v
	}
	var t time.Time
	if p, err := time.Parse(time.RFC3339Nano, s); err == nil {
		t = p
	}
	v := rfc(t)
	c[s] = v
	return v
}

// formatMinor is ledger.Format without the arbitrary-precision detour:
// the report formats a few hundred thousand amounts a night. It must agree
// with ledger.Format for every int64 and exponent (TestFormatMinor).
func formatMinor(n int64, c ledger.Currency) string {
	exp := int(c.Exponent)
	if exp == 0 {
		return strconv.FormatInt(n, 10)
	}
	if exp < 0 || exp > 19 {
		return ledger.Format(n, c)
	}
	u := uint64(n)
	if n < 0 {
		u = -u // two's complement: right for math.MinInt64 too
	}
	var buf [48]byte
	i := len(buf)
	for range exp {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
	}
	i--
	buf[i] = '.'
	for {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	if n < 0 {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}

func strp(s string) *string { return &s }

// amountCache keeps the last two amounts formatted (a chart's ledger and
// reported balances), each as one string that the points share.
type amountCache struct {
	n     [2]int64
	s     [2]*string
	older int
}

func (c *amountCache) format(n int64, f func(int64) string) *string {
	for i, s := range c.s {
		if s != nil && c.n[i] == n {
			return s
		}
	}
	i := c.older
	c.n[i], c.s[i], c.older = n, strp(f(n)), 1-i
	return c.s[i]
}

// chartPoints appends stored reconciliations to a chart. A balance seldom
// moves every day: a point's amounts are formatted once and shared with
// the points after it while they stay the same.
func chartPoints(dst []report.Point, hist []store.ChartPoint, f func(int64) string, stamps stampCache) []report.Point {
	var amounts amountCache
	for _, h := range hist {
		pt := report.Point{Date: h.ReportDate, GeneratedAt: stamps.rfc(h.GeneratedAt), Status: h.Status}
		pt.Ledger = *amounts.format(h.Expected, f)
		if h.HasReported {
			pt.Reported = amounts.format(h.Reported, f)
		}
		dst = append(dst, pt)
	}
	return dst
}

// fillCharts gives a stored report back its charts, which a run does not
// store in its detail (they are three quarters of it, and every point is
// a row of the reconciliations table): each account's chart is rebuilt
// from the last reconciliations up to the run's own row, exactly the
// points the run drew. A run stored with its charts keeps them.
func fillCharts(ctx context.Context, st *store.Store, r *report.Report, sr store.StoredReport) error {
	if !slices.ContainsFunc(r.Accounts, func(a report.Account) bool { return len(a.Chart) == 0 }) {
		return nil
	}
	hist, err := st.RunCharts(ctx, sr.Run.RunID, ChartPoints)
	if err != nil {
		return fmt.Errorf("reconciliation history of run %s: %w", sr.Run.RunID, err)
	}
	stamps := stampCache{}
	for i := range r.Accounts {
		a, rc := &r.Accounts[i], sr.Rows[i]
		if len(a.Chart) > 0 {
			continue
		}
		cur, err := r.Currencies.Get(rc.Currency)
		if err != nil {
			return err
		}
		h := hist[store.AcctCur{AccountID: rc.AccountID, Currency: rc.Currency}]
		if len(h) == 0 || h[len(h)-1].ID != rc.ID {
			return fmt.Errorf("%w: reconciliation of account %s in run %s has no chart point of its own", store.ErrCorrupt, rc.PlaidAccountID, sr.Run.RunID)
		}
		a.Chart = chartPoints(make([]report.Point, 0, len(h)), h, func(n int64) string { return formatMinor(n, cur) }, stamps)
	}
	return nil
}

func build(d *reconData, results map[store.AcctCur]ledger.ReconResult, windows map[store.AcctCur]store.CandidateWindow,
	at time.Time, date, runID string) (report.Report, error) {
	r := report.Report{Date: date, GeneratedAt: rfc(at), RunID: runID, Valid: true, Currencies: d.curs}
	byAcct := map[int64]store.ReconPosition{}
	cands := map[store.AcctCur][]store.Candidate{}
	for _, c := range d.candidates {
		k := store.AcctCur{AccountID: c.AccountID, Currency: c.Currency}
		cands[k] = append(cands[k], c)
	}
	pend := map[store.AcctCur][]store.PendingItem{}
	for _, p := range d.pending {
		k := store.AcctCur{AccountID: p.AccountID, Currency: p.Currency}
		pend[k] = append(pend[k], p)
	}
	stamps := stampCache{}
	r.Accounts = make([]report.Account, 0, len(d.positions))
	for _, p := range d.positions {
		byAcct[p.AccountID] = p
		k := store.AcctCur{AccountID: p.AccountID, Currency: p.Currency}
		cur, err := d.curs.Get(p.Currency)
		if err != nil {
			return r, fmt.Errorf("account %s: %w", p.PlaidAccountID, err)
		}
		res := results[k]
		f := func(n int64) string { return formatMinor(n, cur) }
		a := report.Account{BusinessID: p.BusinessID, AccountID: p.PlaidAccountID, Currency: p.Currency,
			OpeningBalance: f(p.Opening), LedgerBalance: f(p.Balance), PendingTotal: f(p.PendingTotal), Status: res.Status,
			Name: p.Name, Mask: p.Mask, Kind: string(p.Kind), TokenStatus: p.TokenStatus, PendingCount: p.PendingCount}
		if p.TokenReason != "" {
			a.TokenReason = strp(p.TokenReason)
		}
		if s := p.Snapshot; s != nil && s.Currency == p.Currency {
			a.ReportedCurrent, a.ReportedAt = strp(f(s.Current)), strp(rfc(s.TakenAt))
		}
		if res.Difference != nil {
			a.Difference = strp(f(*res.Difference))
		}
		if !res.NonZeroSince.IsZero() {
			a.DifferenceSince = strp(rfc(res.NonZeroSince))
		}
		if w, ok := windows[k]; ok {
			a.CandidatesSince = strp(rfc(w.From))
			for _, c := range cands[k] {
				effect := p.Kind.Natural(c.Amount)
				if c.Source == "bank" {
					effect = p.Kind.Natural(-c.Amount) // Plaid's sign: credit the account
				}
				a.Candidates = append(a.Candidates, report.Candidate{Source: c.Source, EntryID: c.EntryID, EntryKind: c.EntryKind,
					TransactionID: c.TransactionID, Date: c.Date, Name: c.Name, MerchantName: c.MerchantName, Amount: f(effect),
					Pending: c.Pending, Removed: c.Removed, RecordedAt: rfc(c.RecordedAt)})
			}
		}
		for _, it := range pend[k] {
			age, err := ledger.BusinessDaysBetween(it.Date, date)
			if err != nil {
				return r, fmt.Errorf("pending %s: %w", it.TransactionID, err)
			}
			aged, anomaly := ledger.PendingAge(age)
			a.Pending = append(a.Pending, report.Pending{TransactionID: it.TransactionID, Date: it.Date, Name: it.Name,
				MerchantName: it.MerchantName, Amount: f(p.Kind.Natural(-it.Amount)), AgeBusinessDays: age, Aged: aged, Anomaly: anomaly})
		}
		hist := d.history[k]
		a.Chart = make([]report.Point, 0, min(len(hist)+1, ChartPoints))
		if len(hist) >= ChartPoints {
			hist = hist[len(hist)-ChartPoints+1:]
		}
		a.Chart = chartPoints(a.Chart, hist, f, stamps)
		a.Chart = append(a.Chart, report.Point{Date: date, GeneratedAt: rfc(at), Reported: a.ReportedCurrent, Ledger: a.LedgerBalance, Status: string(res.Status)})
		if len(a.Chart) > ChartPoints {
			a.Chart = a.Chart[len(a.Chart)-ChartPoints:]
		}
		r.Accounts = append(r.Accounts, a)
	}
	for _, tb := range d.trial {
		cur, err := d.curs.Get(tb.Currency)
		if err != nil {
			// Only a damaged journal has lines in a currency no account is
			// in: no scale is stored for it, so its sum shows in minor units.
			cur = ledger.Currency{Code: tb.Currency}
			r.Valid = false
			r.Problems = append(r.Problems, fmt.Sprintf("the journal has %d line(s) in %s, a currency no account is in (sum in minor units)", tb.Lines, tb.Currency))
		}
		ok := tb.Sum == 0
		r.TrialBalance = append(r.TrialBalance, report.TrialBalance{Currency: tb.Currency, Lines: tb.Lines, Sum: ledger.Format(tb.Sum, cur), OK: ok})
		if !ok {
			r.Valid = false
			r.Problems = append(r.Problems, fmt.Sprintf("the journal does not balance in %s: debits - credits = %s", tb.Currency, ledger.Format(tb.Sum, cur)))
		}
	}
	for _, h := range d.vanished {
		p, ok := byAcct[h.AccountID]
		if !ok {
			continue // the account is no longer linked
		}
		cur, err := d.curs.Get(h.Currency)
		if err != nil {
			return r, fmt.Errorf("vanished hold %s: %w", h.TransactionID, err)
		}
		removed := ""
		if h.RemovedAt != nil {
			removed = rfc(*h.RemovedAt)
		}
		r.VanishedHolds = append(r.VanishedHolds, report.Hold{BusinessID: p.BusinessID, AccountID: p.PlaidAccountID,
			TransactionID: h.TransactionID, Date: h.Date, Name: h.Name, MerchantName: h.MerchantName,
			Amount: ledger.Format(p.Kind.Natural(-h.Amount), cur), Currency: h.Currency, RemovedAt: removed})
	}
	if err := r.Finish(); err != nil {
		return r, err
	}
	return r, nil
}

// reconRows are the rows a run stores: one per account and currency, as
// reconciled, with the clean point its next run starts from.
func reconRows(positions []store.ReconPosition, results map[store.AcctCur]ledger.ReconResult, at time.Time,
	date, runID string) []store.Reconciliation {
	rows := make([]store.Reconciliation, 0, len(positions))
	for _, p := range positions {
		res := results[store.AcctCur{AccountID: p.AccountID, Currency: p.Currency}]
		row := store.Reconciliation{RunID: runID, ReportDate: date, AccountID: p.AccountID, Currency: p.Currency,
			Opening: p.Opening, Expected: p.Balance, Difference: res.Difference, PendingTotal: p.PendingTotal,
			Status: string(res.Status), GeneratedAt: at}
		if s := p.Snapshot; s != nil && s.Currency == p.Currency {
			rep := s.Current
			row.Reported, row.SnapshotID = &rep, s.ID
		}
		if !res.NonZeroSince.IsZero() {
			since := res.NonZeroSince
			row.NonZeroSince = &since
		}
		// The clean point moves to now when the books agree, and is
		// carried forward while they do not.
		switch {
		case res.Difference != nil && *res.Difference == 0:
			now := at
			row.CleanAt = &now
		default:
			row.CleanAt = cleanSince(p)
		}
		rows = append(rows, row)
	}
	return rows
}

// addChecks completes a finished report with what the third group read:
// the opening checks (which may make the report invalid) and what waits
// in suspense. Nothing else in the report depends on them.
func addChecks(r *report.Report, suspense []store.SuspenseLine, openings []store.OpeningCheck, date string) error {
	for _, oc := range openings {
		ok := oc.Live == 1 && oc.LiveEntryID == ledger.OpeningEntryID(oc.PlaidAccountID, oc.Version)
		r.OpeningChecks = append(r.OpeningChecks, report.OpeningCheck{BusinessID: oc.BusinessID, AccountID: oc.PlaidAccountID,
			Version: oc.Version, Live: oc.Live, Versions: oc.Versions, LiveEntryID: oc.LiveEntryID, OK: ok})
		if !ok {
			r.Valid = false
			r.Problems = append(r.Problems, fmt.Sprintf("account %s of business %s has %d live opening entries (want exactly one, %s)",
				oc.PlaidAccountID, oc.BusinessID, oc.Live, ledger.OpeningEntryID(oc.PlaidAccountID, oc.Version)))
		}
	}
	for _, s := range suspense {
		cur, err := r.Currencies.Get(s.Currency)
		if err != nil {
			return fmt.Errorf("suspense: %w", err)
		}
		line := report.Suspense{BusinessID: s.BusinessID, Currency: s.Currency, Total: ledger.Format(s.Total, cur), Entries: s.Entries, OldestDate: s.Oldest}
		if s.Oldest != "" {
			if line.OldestAgeBusinessDays, err = ledger.BusinessDaysBetween(s.Oldest, date); err != nil {
				return fmt.Errorf("suspense: %w", err)
			}
		}
		r.Suspense = append(r.Suspense, line)
	}
	return nil
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
