package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"bankfeed/ledger"
)

// ReadTx is a read-only transaction: every query inside it sees the same
// state of the database (one WAL snapshot), so a report is consistent even
// while a sync commits beside it.
type ReadTx struct {
	ctx context.Context
	tx  *sql.Tx
}

// Read runs fn in one read transaction on the reader pool.
func (s *Store) Read(ctx context.Context, fn func(*ReadTx) error) error {
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return Classify(err)
	}
	defer tx.Rollback()
	return Classify(fn(&ReadTx{ctx: ctx, tx: tx}))
}

// ReconcileQuery says what a reconcile reads besides the ledger's
// positions.
type ReconcileQuery struct {
	At            time.Time // the report time: candidate windows end here
	ChartPoints   int       // earlier reconciliations per account, for the charts
	VanishedSince time.Time // holds removed after this are listed
}

// ReconcileData is everything a reconcile reads, from one snapshot of the
// database.
type ReconcileData struct {
	Positions []ReconPosition
	// Candidates are what the accounts whose bank disagrees with the
	// ledger recorded inside Windows (since they last agreed).
	Candidates []Candidate
	Windows    map[AcctCur]CandidateWindow
	History    map[AcctCur][]ChartPoint // the last ChartPoints reconciliations, oldest first
	Pending    []PendingItem
	Vanished   []PendingItem
	Suspense   []SuspenseLine
	Trial      []CurrencySum
	Openings   []OpeningCheck
	Tokens     []FlaggedToken
	Suspects   []PrecisionSuspect
	Relinks    []Relink
	Lookalikes []PossibleDuplicate
	// Currencies holds the stored exponent of every currency code: amounts
	// are formatted with the scale they were ingested at, never a new one.
	Currencies ledger.Currencies
}

// ReadReconcile reads everything a reconcile needs in one read
// transaction, so that every part of the report describes the same state
// of the ledger even while a sync commits beside it.
func (s *Store) ReadReconcile(ctx context.Context, q ReconcileQuery) (ReconcileData, error) {
	var d ReconcileData
	err := s.Read(ctx, func(rt *ReadTx) error {
		var err error
		if d.Currencies, err = rt.Currencies(); err != nil {
			return fmt.Errorf("currencies: %w", err)
		}
		if d.Positions, err = rt.ReconPositions(); err != nil {
			return fmt.Errorf("ledger positions: %w", err)
		}
		d.Windows = map[AcctCur]CandidateWindow{}
		var ws []CandidateWindow
		for _, p := range d.Positions {
			from := p.CleanSince()
			if from == nil || !ledger.Disagrees(ledger.Difference(p.Anchored, p.Balance, p.Reported())) {
				continue
			}
			w := CandidateWindow{AccountID: p.AccountID, Currency: p.Currency, From: *from, To: q.At}
			d.Windows[AcctCur{AccountID: p.AccountID, Currency: p.Currency}] = w
			ws = append(ws, w)
		}
		if d.Candidates, err = rt.Candidates(ws); err != nil {
			return fmt.Errorf("candidates: %w", err)
		}
		if d.History, err = rt.ChartHistory(q.ChartPoints); err != nil {
			return fmt.Errorf("reconciliation history: %w", err)
		}
		if d.Pending, err = rt.PendingItems(); err != nil {
			return fmt.Errorf("pending items: %w", err)
		}
		if d.Vanished, err = rt.VanishedHolds(q.VanishedSince); err != nil {
			return fmt.Errorf("vanished holds: %w", err)
		}
		if d.Suspense, err = rt.Suspense(); err != nil {
			return fmt.Errorf("suspense: %w", err)
		}
		if d.Trial, err = rt.TrialBalance(); err != nil {
			return fmt.Errorf("trial balance: %w", err)
		}
		if d.Openings, err = rt.OpeningChecks(); err != nil {
			return fmt.Errorf("opening checks: %w", err)
		}
		if d.Tokens, err = rt.FlaggedTokens(); err != nil {
			return fmt.Errorf("flagged tokens: %w", err)
		}
		if d.Suspects, err = rt.PrecisionSuspects(); err != nil {
			return fmt.Errorf("precision suspects: %w", err)
		}
		if d.Relinks, err = rt.Relinks(); err != nil {
			return fmt.Errorf("re-linked accounts: %w", err)
		}
		if d.Lookalikes, err = possibleDuplicates(rt.ctx, rt.tx, ""); err != nil {
			return fmt.Errorf("possible duplicates: %w", err)
		}
		return nil
	})
	return d, err
}

// PrecisionSuspect is a live (posted or pending) bank transaction large
// enough that Plaid may have delivered it rounded.
type PrecisionSuspect struct {
	AccountID     int64
	TransactionID string
	Date          string
	Amount        int64 // Plaid sign
	Currency      string
	Pending       bool
}

// precisionSuspectsSQL: a re-linked pair's transactions are its newest
// account's, each real one once (a matched duplicate is its predecessor's
// transaction).
const precisionSuspectsSQL = `
	SELECT COALESCE((SELECT h.id FROM accounts h WHERE h.book_account_id = COALESCE(a.book_account_id, a.id)
	                 AND NOT EXISTS (SELECT 1 FROM accounts x WHERE x.replaces = h.id)), a.id) AS acct,
	       b.transaction_id, b.date, b.amount, b.currency, b.pending
	FROM bank_transactions b JOIN accounts a ON a.id = b.account_id
	WHERE abs(b.amount) >= 1000000 AND b.removed = 0 AND a.kind IS NOT NULL AND b.duplicate_of IS NULL
	ORDER BY acct, b.date, b.transaction_id`

// PrecisionSuspects lists the live transactions of posted accounts whose
// amount is at least a million minor units, the least that can be a
// million major units of any currency (ledger.PrecisionSuspect decides per
// currency). The partial index bank_transactions_large holds exactly those
// rows, so this reads the large transactions, never the history.
func (r *ReadTx) PrecisionSuspects() ([]PrecisionSuspect, error) {
	rows, err := r.tx.QueryContext(r.ctx, precisionSuspectsSQL)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PrecisionSuspect
	for rows.Next() {
		var p PrecisionSuspect
		if err := rows.Scan(&p.AccountID, &p.TransactionID, &p.Date, &p.Amount, &p.Currency, &p.Pending); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// FlaggedToken is a token that is neither active nor removed: one the
// platform must act on.
type FlaggedToken struct {
	BusinessID     string
	Hint           string
	Status         string
	Reason         string // Plaid's error code; "" when none
	PlaidAccountID string // "" when the token never synced
	ItemID         string // Plaid's item_id for an Item bankfeed linked
}

const flaggedTokensSQL = `SELECT t.business_id, t.hint, t.status, COALESCE(t.reason, ''), COALESCE(a.plaid_account_id, ''),
	       CASE WHEN t.kind = 'item' THEN t.item_id ELSE '' END
	FROM tokens t LEFT JOIN accounts a ON a.id = t.account_id
	WHERE t.status NOT IN ('active', 'removed')
	ORDER BY t.business_id, t.id`

// FlaggedTokens lists every token that needs action, those that never
// synced (no account yet) included.
func (r *ReadTx) FlaggedTokens() ([]FlaggedToken, error) {
	rows, err := r.tx.QueryContext(r.ctx, flaggedTokensSQL)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []FlaggedToken
	for rows.Next() {
		var f FlaggedToken
		if err := rows.Scan(&f.BusinessID, &f.Hint, &f.Status, &f.Reason, &f.PlaidAccountID, &f.ItemID); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// SnapshotRef is the newest balance snapshot with a current balance.
type SnapshotRef struct {
	ID       int64
	Currency string
	Current  int64
	TakenAt  time.Time
}

// Reconciliation is one stored row: one account (and currency) in one run.
type Reconciliation struct {
	ID             int64
	RunID          string
	ReportDate     string
	AccountID      int64
	BusinessID     string // joined from accounts when loading
	PlaidAccountID string // joined from accounts when loading
	SnapshotID     int64  // 0: none
	// SnapshotTakenAt is when the snapshot the row compared against was
	// taken; loaded for an account's previous reconciliation only.
	SnapshotTakenAt *time.Time
	Currency        string
	Opening         int64
	Expected        int64
	Reported        *int64
	Difference      *int64
	PendingTotal    int64
	Status          string
	NonZeroSince    *time.Time
	CleanAt         *time.Time
	GeneratedAt     time.Time
}

// ReconPosition is everything the reconcile needs about one posted
// account in one currency, read in a single pass.
type ReconPosition struct {
	BusinessID     string
	AccountID      int64
	PlaidAccountID string
	Name           string
	Mask           string
	Kind           ledger.Kind
	Currency       string // the currency of this ledger position
	Anchored       bool   // an opening in this currency is anchored
	OpeningVersion int
	Opening        int64      // natural sign
	AnchorTakenAt  *time.Time // when the anchoring snapshot was taken
	Balance        int64      // natural sign, opening included
	PendingCount   int
	PendingTotal   int64 // natural-sign effect of pending transactions
	TokenStatus    string
	TokenReason    string
	Snapshot       *SnapshotRef // newest pull-consistent (sync) balance
	Realtime       *SnapshotRef // newest real-time balance (BANKFEED_REALTIME_BALANCES=daily)
	Previous       *Reconciliation
}

// Reported is the account's reported current balance in this position's
// currency, natural sign; nil when there is none.
func (p ReconPosition) Reported() *int64 {
	if s := p.Snapshot; s != nil && s.Currency == p.Currency {
		cur := s.Current
		return &cur
	}
	return nil
}

// InFlight is what the bank holds beyond Plaid's last pull: the newest
// real-time balance minus the pull-consistent one, when the real-time one
// is not older and in this position's currency; nil otherwise (a newer
// pull has caught up with it).
func (p ReconPosition) InFlight() *int64 {
	rep, rt := p.Reported(), p.Realtime
	if rep == nil || rt == nil || rt.Currency != p.Currency || rt.TakenAt.Before(p.Snapshot.TakenAt) {
		return nil
	}
	d := rt.Current - *rep
	return &d
}

// CleanSince is when the ledger last agreed with the bank: the previous
// reconciliation's clean point (carried forward while the difference is
// non-zero), or the anchoring, which agrees by construction. Anything
// recorded on the account after it is a candidate: wider than "since the
// previous snapshot", so a break still lists what opened it on every run
// until it is fixed. Nil when the account was never anchored.
func (p ReconPosition) CleanSince() *time.Time {
	if p.Previous != nil && p.Previous.CleanAt != nil {
		return p.Previous.CleanAt
	}
	return p.AnchorTakenAt
}

var reconPositionsSQL = `
	WITH pos AS (
	  -- A re-linked account is reconciled with its book's ledger account
	  -- and opening against its own newest snapshot; the accounts it
	  -- replaced are not reconciled on their own.
	  SELECT a.*, la.id AS la_id, COALESCE(la.currency, a.currency) AS cur, bk.id AS book,
	         bk.opening_version AS book_version, bk.opening_minor AS book_minor, bk.anchor_snapshot AS book_anchor
	  FROM accounts a JOIN accounts bk ON bk.id = COALESCE(a.book_account_id, a.id)
	  LEFT JOIN ledger_accounts la ON la.account_id = bk.id
	  WHERE a.kind IS NOT NULL AND NOT EXISTS (SELECT 1 FROM accounts r WHERE r.replaces = a.id)
	)
	SELECT p.business_id, p.id, p.plaid_account_id, p.name, COALESCE(p.mask,''), p.kind, p.currency, p.cur,
	       COALESCE((SELECT SUM(lb.amount) FROM ledger_balances lb WHERE lb.ledger_account_id = p.la_id), 0),
	       p.book_version, COALESCE(p.book_minor, 0), anc.taken_at,
	       (SELECT COUNT(*) FROM bank_transactions b WHERE b.account_id IN (` + bookAccountsOf("p.book") + `) AND b.removed = 0 AND b.pending = 1 AND b.currency = p.cur),
	       (SELECT COALESCE(SUM(b.amount), 0) FROM bank_transactions b WHERE b.account_id IN (` + bookAccountsOf("p.book") + `) AND b.removed = 0 AND b.pending = 1 AND b.currency = p.cur),
	       COALESCE(t.status, 'removed'), COALESCE(t.reason, ''),
	       bs.id, COALESCE(bs.currency, ''), bs.current, bs.taken_at,
	       rt.id, COALESCE(rt.currency, ''), rt.current, rt.taken_at,
	       pr.id, COALESCE(pr.run_id, ''), COALESCE(pr.report_date, ''), pr.snapshot_id, pr.opening, pr.expected, pr.reported, pr.difference,
	       pr.pending_total, COALESCE(pr.status, ''), pr.nonzero_since, pr.clean_at, pr.generated_at, pbs.taken_at
	FROM pos p
	LEFT JOIN tokens t ON t.id = COALESCE((SELECT t2.id FROM tokens t2 WHERE t2.account_id = p.id
	     ORDER BY (t2.status = 'active') DESC, (t2.status = 'needs_refresh') DESC, t2.id DESC LIMIT 1), p.item_token_id)
	-- The reported current balance: the account's newest pull-consistent
	-- (sync) snapshot with a current balance. This is the one place that
	-- choice is made. A real-time snapshot can already hold transactions
	-- that sync delivers only after Plaid's next pull: it is shown beside
	-- the ledger as "in flight", never compared with it.
	LEFT JOIN balance_snapshots bs ON bs.id = (SELECT MAX(b2.id) FROM balance_snapshots b2 WHERE b2.account_id = p.id AND b2.source = 'sync' AND b2.current IS NOT NULL)
	LEFT JOIN balance_snapshots rt ON rt.id = (SELECT MAX(b3.id) FROM balance_snapshots b3 WHERE b3.account_id = p.id AND b3.source = 'realtime' AND b3.current IS NOT NULL)
	LEFT JOIN balance_snapshots anc ON anc.id = p.book_anchor
	LEFT JOIN reconciliations pr ON pr.id = (SELECT MAX(r2.id) FROM reconciliations r2 WHERE r2.account_id = p.id AND r2.currency = p.cur)
	LEFT JOIN balance_snapshots pbs ON pbs.id = pr.snapshot_id
	WHERE COALESCE(t.status, 'removed') != 'removed'
	ORDER BY p.business_id, p.plaid_account_id, p.cur`

// ReconPositions lists every posted account that is linked (its best token
// is active or needs_refresh), with its ledger position, pending total,
// token status, newest snapshot with a current balance and previous
// reconciliation. One SQL statement: every per-account lookup is an index
// seek, never a query per account. Accounts whose tokens were all removed
// are not reconciled: nobody keeps their books in step any more.
func (r *ReadTx) ReconPositions() ([]ReconPosition, error) {
	rows, err := r.tx.QueryContext(r.ctx, reconPositionsSQL)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ReconPosition
	for rows.Next() {
		var p ReconPosition
		var kind, acctCur string
		var sum, pendingSum int64
		var ancAt, bsAt sql.NullString
		var bsID, bsCurrent sql.NullInt64
		var bsCurrency, rtCurrency string
		var rtID, rtCurrent sql.NullInt64
		var rtAt sql.NullString
		var prID, prSnap, prOpen, prExp, prRep, prDiff, prPend sql.NullInt64
		var prRun, prDate, prStatus string
		var prSince, prClean, prGen, prTaken sql.NullString
		if err := rows.Scan(&p.BusinessID, &p.AccountID, &p.PlaidAccountID, &p.Name, &p.Mask, &kind, &acctCur, &p.Currency,
			&sum, &p.OpeningVersion, &p.Opening, &ancAt, &p.PendingCount, &pendingSum, &p.TokenStatus, &p.TokenReason,
			&bsID, &bsCurrency, &bsCurrent, &bsAt, &rtID, &rtCurrency, &rtCurrent, &rtAt,
			&prID, &prRun, &prDate, &prSnap, &prOpen, &prExp, &prRep, &prDiff, &prPend, &prStatus, &prSince, &prClean, &prGen, &prTaken); err != nil {
			return nil, err
		}
		p.Kind = ledger.Kind(kind)
		p.Balance = p.Kind.Natural(sum)
		p.PendingTotal = p.Kind.Natural(-pendingSum)
		// The opening is an assertion in the account's own currency; a
		// ledger position in any other currency has no anchor to test.
		p.Anchored = p.OpeningVersion > 0 && p.Currency == acctCur
		if !p.Anchored {
			p.Opening = 0
		}
		p.AnchorTakenAt = parseTS(ancAt)
		if bsID.Valid && bsCurrent.Valid {
			if at := parseTS(bsAt); at != nil {
				p.Snapshot = &SnapshotRef{ID: bsID.Int64, Currency: bsCurrency, Current: bsCurrent.Int64, TakenAt: *at}
			}
		}
		if rtID.Valid && rtCurrent.Valid {
			if at := parseTS(rtAt); at != nil {
				p.Realtime = &SnapshotRef{ID: rtID.Int64, Currency: rtCurrency, Current: rtCurrent.Int64, TakenAt: *at}
			}
		}
		if prID.Valid {
			pr := &Reconciliation{ID: prID.Int64, RunID: prRun, ReportDate: prDate, AccountID: p.AccountID, SnapshotID: prSnap.Int64,
				Currency: p.Currency, Opening: prOpen.Int64, Expected: prExp.Int64, Reported: intPtr(prRep), Difference: intPtr(prDiff),
				PendingTotal: prPend.Int64, Status: prStatus, NonZeroSince: parseTS(prSince), CleanAt: parseTS(prClean),
				SnapshotTakenAt: parseTS(prTaken)}
			if g := parseTS(prGen); g != nil {
				pr.GeneratedAt = *g
			}
			p.Previous = pr
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// AcctCur keys per-account results: one account, one currency.
type AcctCur struct {
	AccountID int64
	Currency  string
}

// ChartPoint is one reconciliation of an account as its chart draws it.
type ChartPoint struct {
	ID       int64
	Date     string // the report date of the reconciliation
	Expected int64
	Reported *int64 // nil: no reported balance
}

// ChartHistory returns the last n reconciliations of every posted account
// and currency, oldest first. Per account an index seek finds the n-th
// newest row, and the range from there is read from the covering index
// reconciliations_chart: n index entries per account however long the
// history.
func (r *ReadTx) ChartHistory(n int) (map[AcctCur][]ChartPoint, error) {
	if n <= 0 {
		return map[AcctCur][]ChartPoint{}, nil
	}
	rows, err := r.tx.QueryContext(r.ctx, chartHistorySQL, n-1)
	if err != nil {
		return nil, err
	}
	return scanCharts(rows, n)
}

// RunCharts returns, for every row of a stored run, the last n
// reconciliations of its account and currency up to and including that
// row, oldest first: the charts of that run's report, rebuilt. The table
// is append-only, so they are the points the run drew, whenever asked.
func (s *Store) RunCharts(ctx context.Context, runID string, n int) (map[AcctCur][]ChartPoint, error) {
	var out map[AcctCur][]ChartPoint
	err := s.Read(ctx, func(r *ReadTx) error {
		rows, err := r.tx.QueryContext(ctx, runChartsSQL, n-1, runID)
		if err != nil {
			return err
		}
		out, err = scanCharts(rows, n)
		return err
	})
	return out, err
}

// scanCharts reads (account, currency, id, report date, expected,
// reported) rows. The
// index gives each account's points in id order; make sure.
func scanCharts(rows *sql.Rows, n int) (map[AcctCur][]ChartPoint, error) {
	defer rows.Close()
	out := map[AcctCur][]ChartPoint{}
	for rows.Next() {
		var k AcctCur
		var p ChartPoint
		var rep sql.NullInt64
		if err := rows.Scan(&k.AccountID, &k.Currency, &p.ID, &p.Date, &p.Expected, &rep); err != nil {
			return nil, err
		}
		p.Reported = intPtr(rep)
		pts, ok := out[k]
		if !ok {
			pts = make([]ChartPoint, 0, n) // n points at most: one allocation an account
		}
		out[k] = append(pts, p)
	}
	for _, pts := range out {
		slices.SortFunc(pts, func(a, b ChartPoint) int { return cmp.Compare(a.ID, b.ID) })
	}
	return out, rows.Err()
}

const chartHistorySQL = `
	WITH k AS (SELECT DISTINCT a.id AS account_id, COALESCE(la.currency, a.currency) AS cur
	           FROM accounts a LEFT JOIN ledger_accounts la ON la.account_id = a.id WHERE a.kind IS NOT NULL)
	SELECT r.account_id, r.currency, r.id, r.report_date, r.expected, r.reported
	FROM k CROSS JOIN reconciliations r ON r.account_id = k.account_id AND r.currency = k.cur
	 AND r.id >= COALESCE((SELECT r2.id FROM reconciliations r2 WHERE r2.account_id = k.account_id AND r2.currency = k.cur
	                       ORDER BY r2.id DESC LIMIT 1 OFFSET ?), 0)`

const runChartsSQL = `
	SELECT r.account_id, r.currency, r.id, r.report_date, r.expected, r.reported
	FROM reconciliations k CROSS JOIN reconciliations r ON r.account_id = k.account_id AND r.currency = k.currency AND r.id <= k.id
	 AND r.id >= COALESCE((SELECT r2.id FROM reconciliations r2 WHERE r2.account_id = k.account_id AND r2.currency = k.currency
	                       AND r2.id <= k.id ORDER BY r2.id DESC LIMIT 1 OFFSET ?1), 0)
	WHERE k.run_id = ?2`

const reconCols = `r.id, r.run_id, r.report_date, r.account_id, a.business_id, a.plaid_account_id, COALESCE(r.snapshot_id, 0), r.currency,
	r.opening, r.expected, r.reported, r.difference, r.pending_total, r.status, r.nonzero_since, r.clean_at, r.generated_at`

func scanRecon(s scanner) (Reconciliation, error) {
	var rc Reconciliation
	var rep, diff sql.NullInt64
	var since, clean sql.NullString
	var gen string
	if err := s.Scan(&rc.ID, &rc.RunID, &rc.ReportDate, &rc.AccountID, &rc.BusinessID, &rc.PlaidAccountID, &rc.SnapshotID, &rc.Currency,
		&rc.Opening, &rc.Expected, &rep, &diff, &rc.PendingTotal, &rc.Status, &since, &clean, &gen); err != nil {
		return rc, err
	}
	rc.Reported, rc.Difference = intPtr(rep), intPtr(diff)
	rc.NonZeroSince, rc.CleanAt = parseTS(since), parseTS(clean)
	if g := parseTS(sql.NullString{String: gen, Valid: true}); g != nil {
		rc.GeneratedAt = *g
	}
	return rc, nil
}

// CandidateWindow asks for what an account recorded after From and up to To.
type CandidateWindow struct {
	AccountID int64
	Currency  string
	From, To  time.Time
}

// Candidate is something recorded in a window that may explain a change in
// the difference: a journal entry on the account (Source "journal"), or a
// bank transaction that changed without an entry (Source "bank": pending,
// removed, or a change of description only).
type Candidate struct {
	AccountID     int64
	Source        string // journal | bank
	EntryID       string
	EntryKind     string
	TransactionID string
	Date          string
	Name          string
	MerchantName  string
	// Amount is the journal line on the bank account (debit positive) for
	// a journal candidate, or Plaid's signed amount for a bank candidate.
	Amount     int64
	Currency   string
	Pending    bool
	Removed    bool
	RecordedAt time.Time
}

// candidatesSQL: each window is a range of journal_entries_account_created
// and of bank_transactions_account_updated. The bank side's NOT EXISTS
// seeks the transaction's own entries (journal_entries_transaction, a
// handful); the unary + keeps SQLite from walking the window's entries
// instead, once per bank candidate.
var candidatesSQL = `
	WITH w0 AS (SELECT json_extract(value, '$.a') AS account_id, json_extract(value, '$.c') AS cur,
	                  json_extract(value, '$.f') AS f, json_extract(value, '$.t') AS t FROM json_each(?)),
	-- A re-linked account's entries are on its book's ledger account.
	w AS (SELECT w0.*, COALESCE(a.book_account_id, a.id) AS book FROM w0 JOIN accounts a ON a.id = w0.account_id)
	SELECT * FROM (
	SELECT w.account_id AS acct, 'journal' AS src, e.id AS entry_id, e.kind, COALESCE(e.transaction_id, '') AS txn, e.date,
	       COALESCE(b.name, ''), COALESCE(b.merchant_name, ''), l.amount, l.currency, COALESCE(b.pending, 0), COALESCE(b.removed, 0),
	       e.created_at AS at
	FROM w CROSS JOIN journal_entries e ON e.account_id = w.book
	JOIN journal_lines l ON l.entry_id = e.id
	JOIN ledger_accounts la ON la.id = l.ledger_account_id AND la.account_id = w.book AND la.currency = w.cur
	LEFT JOIN bank_transactions b ON b.transaction_id = e.transaction_id
	WHERE e.created_at > w.f AND e.created_at <= w.t
	UNION ALL
	SELECT w.account_id, 'bank', '', '', b.transaction_id, b.date, b.name, COALESCE(b.merchant_name, ''),
	       b.amount, b.currency, b.pending, b.removed, b.updated_at
	FROM w CROSS JOIN bank_transactions b ON b.account_id IN (` + bookAccountsOf("w.book") + `) AND b.currency = w.cur
	WHERE b.updated_at > w.f AND b.updated_at <= w.t
	  AND NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.transaction_id = b.transaction_id AND +e.account_id = w.book
	                  AND +e.created_at > w.f AND +e.created_at <= w.t)
	) ORDER BY acct, at, entry_id, txn`

// Candidates lists, for every window in one statement, the journal
// entries created and the bank transactions first seen or updated inside
// it, ordered by account, time and id. Stored times are fixed-width UTC
// text (TimeLayout), so they compare as text and the time-window indexes
// serve each window with one range.
func (r *ReadTx) Candidates(ws []CandidateWindow) ([]Candidate, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	type win struct {
		A int64  `json:"a"`
		C string `json:"c"`
		F string `json:"f"`
		T string `json:"t"`
	}
	list := make([]win, len(ws))
	for i, w := range ws {
		list[i] = win{w.AccountID, w.Currency, ts(w.From), ts(w.To)}
	}
	b, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	rows, err := r.tx.QueryContext(r.ctx, candidatesSQL, string(b))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Candidate
	for rows.Next() {
		var c Candidate
		var at string
		if err := rows.Scan(&c.AccountID, &c.Source, &c.EntryID, &c.EntryKind, &c.TransactionID, &c.Date, &c.Name, &c.MerchantName,
			&c.Amount, &c.Currency, &c.Pending, &c.Removed, &at); err != nil {
			return nil, err
		}
		if t := parseTS(sql.NullString{String: at, Valid: true}); t != nil {
			c.RecordedAt = *t
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// PendingItem is a staged (pending) bank transaction, or a vanished hold.
type PendingItem struct {
	AccountID     int64
	TransactionID string
	Date          string
	Name          string
	MerchantName  string
	Amount        int64 // Plaid sign
	Currency      string
	FirstSeenAt   time.Time
	RemovedAt     *time.Time // vanished holds only
}

// pendingItemsSQL walks the posted accounts and seeks each one's live
// holds (CROSS JOIN keeps that order): driven from the transactions, the
// ORDER BY made SQLite read every transaction ever stored through the
// account index.
const pendingItemsSQL = `SELECT b.account_id, b.transaction_id, b.date, b.name, COALESCE(b.merchant_name, ''), b.amount, b.currency, b.first_seen_at, NULL
	FROM accounts a CROSS JOIN bank_transactions b ON b.account_id = a.id AND b.removed = 0 AND b.pending = 1
	WHERE a.kind IS NOT NULL
	ORDER BY b.account_id, b.date, b.transaction_id`

// PendingItems lists every live pending transaction of a posted account,
// ordered by account, date and id, in one pass.
func (r *ReadTx) PendingItems() ([]PendingItem, error) {
	return r.pendingQuery(pendingItemsSQL)
}

// vanishedHoldsSQL seeks, per posted account, the transactions updated
// since the window opened (bank_transactions_account_updated); the unary
// + keeps SQLite from seeking (removed, pending) instead, which would
// read every hold the account ever posted.
const vanishedHoldsSQL = `SELECT b.account_id, b.transaction_id, b.date, b.name, COALESCE(b.merchant_name, ''), b.amount, b.currency, b.first_seen_at, b.updated_at
	FROM accounts a CROSS JOIN bank_transactions b ON b.account_id = a.id AND b.updated_at > ?
	WHERE +b.pending = 1 AND +b.removed = 1 AND a.kind IS NOT NULL
	  AND NOT EXISTS (SELECT 1 FROM bank_transactions p WHERE p.pending_transaction_id = b.transaction_id)
	ORDER BY b.account_id, b.date, b.transaction_id`

// VanishedHolds lists pending transactions removed after since with no
// posted transaction pointing at them through pending_transaction_id: a
// hold the bank dropped, or one posted without a link (Plaid cannot tell
// the two apart, so both are listed for a person to look at).
func (r *ReadTx) VanishedHolds(since time.Time) ([]PendingItem, error) {
	return r.pendingQuery(vanishedHoldsSQL, ts(since))
}

func (r *ReadTx) pendingQuery(q string, args ...any) ([]PendingItem, error) {
	rows, err := r.tx.QueryContext(r.ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PendingItem
	for rows.Next() {
		var p PendingItem
		var first string
		var removed sql.NullString
		if err := rows.Scan(&p.AccountID, &p.TransactionID, &p.Date, &p.Name, &p.MerchantName, &p.Amount, &p.Currency, &first, &removed); err != nil {
			return nil, err
		}
		if t := parseTS(sql.NullString{String: first, Valid: true}); t != nil {
			p.FirstSeenAt = *t
		}
		p.RemovedAt = parseTS(removed)
		out = append(out, p)
	}
	return out, rows.Err()
}

// SuspenseLine is what sits in Suspense:Uncategorized for a business and
// currency: the natural-sign total and the date of the oldest live entry.
type SuspenseLine struct {
	BusinessID string
	Currency   string
	Total      int64
	Entries    int    // live entries (not reversed, not reversals) still in suspense
	Oldest     string // YYYY-MM-DD; "" when no live entry remains
}

// Suspense reads Suspense:Uncategorized per business and currency: the
// total and the count of live entries from the running balances, and the
// date of the oldest live entry by a walk, per posted account of the
// business, over its txn entries in date order that stops at the first one
// no reversal undoes. Nothing here reads the lines of settled history.
func (r *ReadTx) Suspense() ([]SuspenseLine, error) {
	rows, err := r.tx.QueryContext(r.ctx, suspenseSQL, ledger.Suspense)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SuspenseLine
	for rows.Next() {
		var s SuspenseLine
		if err := rows.Scan(&s.BusinessID, &s.Currency, &s.Total, &s.Entries, &s.Oldest); err != nil {
			return nil, err
		}
		s.Total = ledger.Expense.Natural(s.Total)
		out = append(out, s)
	}
	return out, rows.Err()
}

const suspenseSQL = `
	SELECT s.business_id, s.currency, s.total, s.live,
	       CASE WHEN s.live > 0 THEN COALESCE((
	         SELECT MIN((SELECT e.date FROM journal_entries e
	                     WHERE e.account_id = ba.account_id AND e.kind = 'txn'
	                       AND NOT EXISTS (SELECT 1 FROM journal_entries r WHERE r.reverses = e.id)
	                       AND EXISTS (SELECT 1 FROM journal_lines l WHERE l.entry_id = e.id AND l.ledger_account_id = s.id)
	                     ORDER BY e.date LIMIT 1))
	         FROM (SELECT DISTINCT account_id FROM ledger_accounts
	               WHERE business_id = s.business_id AND account_id IS NOT NULL) ba), '') ELSE '' END
	FROM (SELECT la.id, la.business_id, la.currency, SUM(lb.amount) AS total, SUM(lb.live_txns) AS live
	      FROM ledger_accounts la JOIN ledger_balances lb ON lb.ledger_account_id = la.id
	      WHERE la.code = ?1
	      GROUP BY la.id) s
	ORDER BY s.business_id, s.currency`

// CurrencySum is one currency's sum of every journal line.
type CurrencySum struct {
	Currency string
	Sum      int64
	Lines    int
}

const trialBalanceSQL = `SELECT currency, SUM(amount), SUM(lines) FROM ledger_balances
		GROUP BY currency HAVING SUM(lines) > 0 ORDER BY currency`

// TrialBalance sums every journal line per currency, inside the read
// transaction; each sum must be zero. It adds up the running balances, one
// row per ledger account and currency, which move with every line
// inserted (doctor checks them against the lines themselves).
func (r *ReadTx) TrialBalance() ([]CurrencySum, error) {
	rows, err := r.tx.QueryContext(r.ctx, trialBalanceSQL)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CurrencySum
	for rows.Next() {
		var c CurrencySum
		if err := rows.Scan(&c.Currency, &c.Sum, &c.Lines); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// OpeningCheck counts an anchored account's opening entries.
type OpeningCheck struct {
	AccountID      int64
	BusinessID     string
	PlaidAccountID string
	Version        int // the version the account row names as live
	Live           int // opening entries not reversed: must be exactly 1
	Versions       int // opening entries ever posted
	LiveEntryID    string
}

const openingChecksSQL = `
	SELECT a.id, a.business_id, a.plaid_account_id, a.opening_version,
	       COUNT(CASE WHEN e.id IS NOT NULL AND x.id IS NULL THEN 1 END), COUNT(e.id),
	       COALESCE(MAX(CASE WHEN e.id IS NOT NULL AND x.id IS NULL THEN e.id END), '')
	FROM accounts a
	LEFT JOIN journal_entries e ON e.account_id = a.id AND e.kind = 'opening'
	LEFT JOIN journal_entries x ON x.reverses = e.id
	WHERE a.opening_version > 0
	GROUP BY a.id
	ORDER BY a.business_id, a.plaid_account_id`

// OpeningChecks lists every anchored account with its live and total
// opening entries, in one pass.
func (r *ReadTx) OpeningChecks() ([]OpeningCheck, error) {
	rows, err := r.tx.QueryContext(r.ctx, openingChecksSQL)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OpeningCheck
	for rows.Next() {
		var c OpeningCheck
		if err := rows.Scan(&c.AccountID, &c.BusinessID, &c.PlaidAccountID, &c.Version, &c.Live, &c.Versions, &c.LiveEntryID); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ReportRun is one run of the reconcile: its summary, where its files
// went, and the full report for re-rendering.
type ReportRun struct {
	RunID       string
	ReportDate  string
	GeneratedAt time.Time
	Counts      map[string]int
	Dir         string
	Files       []string
	Valid       bool
	Detail      []byte // the report JSON
}

// SaveReconciliation appends a run and its rows in one short transaction.
func (s *Store) SaveReconciliation(ctx context.Context, run ReportRun, rows []Reconciliation) error {
	counts, err := json.Marshal(run.Counts)
	if err != nil {
		return err
	}
	files := run.Files
	if files == nil {
		files = []string{}
	}
	fb, err := json.Marshal(files)
	if err != nil {
		return err
	}
	defer s.signalOutbox()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO report_runs(run_id, report_date, generated_at, counts, dir, files, valid, detail)
			VALUES (?,?,?,?,?,?,?,?)`, run.RunID, run.ReportDate, ts(run.GeneratedAt), string(counts), run.Dir, string(fb), run.Valid,
			string(run.Detail)); err != nil {
			if isUnique(err) {
				return fmt.Errorf("%w: reconcile run %s is already recorded", ErrConflict, run.RunID)
			}
			return err
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO reconciliations(run_id, report_date, account_id, snapshot_id, currency, opening, expected,
			reported, difference, pending_total, status, nonzero_since, clean_at, generated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, rc := range rows {
			if !ledger.ValidStatus(rc.Status) {
				return fmt.Errorf("reconciliation of account %d: unknown status %q", rc.AccountID, rc.Status)
			}
			var snap sql.NullInt64
			if rc.SnapshotID != 0 {
				snap = sql.NullInt64{Int64: rc.SnapshotID, Valid: true}
			}
			if _, err := st.ExecContext(ctx, run.RunID, run.ReportDate, rc.AccountID, snap, rc.Currency, rc.Opening, rc.Expected,
				nullInt(rc.Reported), nullInt(rc.Difference), rc.PendingTotal, rc.Status, nullTime(rc.NonZeroSince), nullTime(rc.CleanAt),
				ts(run.GeneratedAt)); err != nil {
				return fmt.Errorf("reconciliation of account %d: %w", rc.AccountID, err)
			}
		}
		return s.breakEvents(ctx, tx, run.ReportDate, rows)
	})
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func nullTime(t *time.Time) sql.NullString {
	if t == nil || t.IsZero() {
		return sql.NullString{}
	}
	return sql.NullString{String: ts(*t), Valid: true}
}

// StoredReport is a past run as recorded: the run and its rows.
type StoredReport struct {
	Run  ReportRun
	Rows []Reconciliation
}

// ErrNoReport means no reconciliation was recorded for a date.
var ErrNoReport = errors.New("no reconciliation was recorded")

const storedReportSQL = `SELECT run_id, report_date, generated_at, counts, dir, files, valid, detail FROM report_runs
			WHERE report_date = ? ORDER BY generated_at DESC, rowid DESC LIMIT 1`

const storedReportRowsSQL = `SELECT ` + reconCols + ` FROM reconciliations r JOIN accounts a ON a.id = r.account_id
			WHERE r.run_id = ? ORDER BY a.business_id, a.plaid_account_id, r.currency`

// StoredReportFor loads the newest run recorded for a report date, with
// its rows in account order. ErrNoReport when there is none.
func (s *Store) StoredReportFor(ctx context.Context, date string) (StoredReport, error) {
	var out StoredReport
	err := s.Read(ctx, func(r *ReadTx) error {
		var gen, counts, files, detail string
		err := r.tx.QueryRowContext(ctx, storedReportSQL, date).
			Scan(&out.Run.RunID, &out.Run.ReportDate, &gen, &counts, &out.Run.Dir, &files, &out.Run.Valid, &detail)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w for %s", ErrNoReport, date)
		}
		if err != nil {
			return err
		}
		if g := parseTS(sql.NullString{String: gen, Valid: true}); g != nil {
			out.Run.GeneratedAt = *g
		}
		if err := json.Unmarshal([]byte(counts), &out.Run.Counts); err != nil {
			return fmt.Errorf("%w: report run %s: counts: %v", ErrCorrupt, out.Run.RunID, err)
		}
		if err := json.Unmarshal([]byte(files), &out.Run.Files); err != nil {
			return fmt.Errorf("%w: report run %s: files: %v", ErrCorrupt, out.Run.RunID, err)
		}
		out.Run.Detail = []byte(detail)
		rows, err := r.tx.QueryContext(ctx, storedReportRowsSQL, out.Run.RunID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			rc, err := scanRecon(rows)
			if err != nil {
				return err
			}
			out.Rows = append(out.Rows, rc)
		}
		return rows.Err()
	})
	return out, err
}
