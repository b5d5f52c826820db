package store

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/sync/errgroup"

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

// ReadTogether runs each fn in its own read transaction, all at once, and
// every one of them sees the same state of the database, as the queries of
// one Read do: the write lock is held while the transactions begin, so no
// commit can fall between two of them, and it is let go before the fns
// run. The reconcile's queries are each a pass over a large table, and
// this spreads them over the cores. When the write lock cannot be had (a
// read-only store), the fns run one after another in one Read, which is
// just as consistent.
func (s *Store) ReadTogether(ctx context.Context, fns ...func(*ReadTx) error) error {
	txs, err := s.snapshots(ctx, len(fns))
	defer func() {
		for _, tx := range txs {
			tx.Rollback()
		}
	}()
	if errors.Is(err, errNoWriteLock) {
		return s.Read(ctx, func(rt *ReadTx) error {
			for _, fn := range fns {
				if err := fn(rt); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		return Classify(err)
	}
	g, gctx := errgroup.WithContext(ctx)
	for i, fn := range fns {
		rt := &ReadTx{ctx: gctx, tx: txs[i]}
		g.Go(func() error { return fn(rt) })
	}
	return Classify(g.Wait())
}

var errNoWriteLock = errors.New("the write lock cannot be taken")

// snapshots begins n read transactions on the snapshot of one instant.
func (s *Store) snapshots(ctx context.Context, n int) (txs []*sql.Tx, err error) {
	w, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	// Said outright rather than left to the DSN, which asks for it only on
	// a writable store.
	if _, err := w.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return nil, fmt.Errorf("%w: %v", errNoWriteLock, err)
	}
	defer func() {
		if _, rbErr := w.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`); rbErr != nil {
			// Never hand the pool a connection that may still hold the lock.
			w.Raw(func(any) error { return driver.ErrBadConn })
			if err == nil {
				err = rbErr
			}
		}
	}()
	// On a read-only connection BEGIN IMMEDIATE succeeds and locks nothing;
	// a write, rolled back with the rest, tells the two apart.
	var version int
	if err := w.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return nil, err
	}
	if _, err := w.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, version)); err != nil {
		return nil, fmt.Errorf("%w: %v", errNoWriteLock, err)
	}
	for range n {
		tx, err := s.rdb.BeginTx(ctx, nil)
		if err != nil {
			return txs, err
		}
		txs = append(txs, tx)
		// BEGIN defers the snapshot to the first read: take it now, under
		// the write lock.
		var tables int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema`).Scan(&tables); err != nil {
			return txs, err
		}
	}
	return txs, nil
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
	Currency       string
	Opening        int64
	Expected       int64
	Reported       *int64
	Difference     *int64
	PendingTotal   int64
	Status         string
	NonZeroSince   *time.Time
	CleanAt        *time.Time
	GeneratedAt    time.Time
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
	Snapshot       *SnapshotRef
	Previous       *Reconciliation
}

// ReconPositions lists every posted account that is linked (its best token
// is active or needs_refresh), with its ledger position, pending total,
// token status, newest snapshot with a current balance and previous
// reconciliation. One SQL statement: every per-account lookup is an index
// seek, never a query per account. Accounts whose tokens were all removed
// are not reconciled: nobody keeps their books in step any more.
func (r *ReadTx) ReconPositions() ([]ReconPosition, error) {
	rows, err := r.tx.QueryContext(r.ctx, `
	WITH pos AS (
	  SELECT a.*, la.id AS la_id, COALESCE(la.currency, a.currency) AS cur
	  FROM accounts a LEFT JOIN ledger_accounts la ON la.account_id = a.id
	  WHERE a.kind IS NOT NULL
	)
	SELECT p.business_id, p.id, p.plaid_account_id, p.name, COALESCE(p.mask,''), p.kind, p.currency, p.cur,
	       COALESCE((SELECT SUM(lb.amount) FROM ledger_balances lb WHERE lb.ledger_account_id = p.la_id), 0),
	       p.opening_version, COALESCE(p.opening_minor, 0), anc.taken_at,
	       (SELECT COUNT(*) FROM bank_transactions b WHERE b.account_id = p.id AND b.removed = 0 AND b.pending = 1 AND b.currency = p.cur),
	       (SELECT COALESCE(SUM(b.amount), 0) FROM bank_transactions b WHERE b.account_id = p.id AND b.removed = 0 AND b.pending = 1 AND b.currency = p.cur),
	       COALESCE(t.status, 'removed'), COALESCE(t.reason, ''),
	       bs.id, COALESCE(bs.currency, ''), bs.current, bs.taken_at,
	       pr.id, COALESCE(pr.run_id, ''), COALESCE(pr.report_date, ''), pr.snapshot_id, pr.opening, pr.expected, pr.reported, pr.difference,
	       pr.pending_total, COALESCE(pr.status, ''), pr.nonzero_since, pr.clean_at, pr.generated_at
	FROM pos p
	LEFT JOIN tokens t ON t.id = (SELECT t2.id FROM tokens t2 WHERE t2.account_id = p.id
	     ORDER BY (t2.status = 'active') DESC, (t2.status = 'needs_refresh') DESC, t2.id DESC LIMIT 1)
	LEFT JOIN balance_snapshots bs ON bs.id = (SELECT MAX(b2.id) FROM balance_snapshots b2 WHERE b2.account_id = p.id AND b2.current IS NOT NULL)
	LEFT JOIN balance_snapshots anc ON anc.id = p.anchor_snapshot
	LEFT JOIN reconciliations pr ON pr.id = (SELECT MAX(r2.id) FROM reconciliations r2 WHERE r2.account_id = p.id AND r2.currency = p.cur)
	WHERE COALESCE(t.status, 'removed') != 'removed'
	ORDER BY p.business_id, p.plaid_account_id, p.cur`)
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
		var bsCurrency string
		var prID, prSnap, prOpen, prExp, prRep, prDiff, prPend sql.NullInt64
		var prRun, prDate, prStatus string
		var prSince, prClean, prGen sql.NullString
		if err := rows.Scan(&p.BusinessID, &p.AccountID, &p.PlaidAccountID, &p.Name, &p.Mask, &kind, &acctCur, &p.Currency,
			&sum, &p.OpeningVersion, &p.Opening, &ancAt, &p.PendingCount, &pendingSum, &p.TokenStatus, &p.TokenReason,
			&bsID, &bsCurrency, &bsCurrent, &bsAt,
			&prID, &prRun, &prDate, &prSnap, &prOpen, &prExp, &prRep, &prDiff, &prPend, &prStatus, &prSince, &prClean, &prGen); err != nil {
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
		if prID.Valid {
			pr := &Reconciliation{ID: prID.Int64, RunID: prRun, ReportDate: prDate, AccountID: p.AccountID, SnapshotID: prSnap.Int64,
				Currency: p.Currency, Opening: prOpen.Int64, Expected: prExp.Int64, Reported: intPtr(prRep), Difference: intPtr(prDiff),
				PendingTotal: prPend.Int64, Status: prStatus, NonZeroSince: parseTS(prSince), CleanAt: parseTS(prClean)}
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

// ChartPoint is an earlier reconciliation of an account as its chart
// shows it: only the columns the chart draws.
type ChartPoint struct {
	ID          int64
	ReportDate  string
	GeneratedAt string // as stored: RFC 3339
	Expected    int64
	Reported    int64
	HasReported bool // Reported is NULL when false
	Status      string
}

// ChartHistory returns the last n reconciliations of every posted account
// and currency, oldest first, for the charts. One statement: per account an
// index seek finds the n-th newest row and the range from there is read
// from reconciliations_chart, which holds every column read here: the cost
// is n index entries per account however long the history, and no table
// row is visited. SQLite hands each account's points over as one JSON
// array, so 300,000 points cross into Go as 10,000 rows; the text of the
// dates, times and statuses, the same few values on every account, is kept
// once.
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

// scanCharts reads (account, currency, JSON array of points) rows.
func scanCharts(rows *sql.Rows, n int) (map[AcctCur][]ChartPoint, error) {
	defer rows.Close()
	out := map[AcctCur][]ChartPoint{}
	p := chartParser{texts: map[string]string{}}
	for rows.Next() {
		var k AcctCur
		var points sql.RawBytes
		if err := rows.Scan(&k.AccountID, &k.Currency, &points); err != nil {
			return nil, err
		}
		pts, err := p.parse(points, n)
		if err != nil {
			return nil, fmt.Errorf("chart of account %d: %w", k.AccountID, err)
		}
		if len(pts) == 0 {
			continue
		}
		// The index gives each account's points in id order; make sure.
		if !slices.IsSortedFunc(pts, byChartID) {
			slices.SortFunc(pts, byChartID)
		}
		out[k] = pts
	}
	return out, rows.Err()
}

func byChartID(a, b ChartPoint) int { return cmp.Compare(a.ID, b.ID) }

const chartHistorySQL = `
	WITH k AS (SELECT DISTINCT a.id AS account_id, COALESCE(la.currency, a.currency) AS cur
	           FROM accounts a LEFT JOIN ledger_accounts la ON la.account_id = a.id WHERE a.kind IS NOT NULL)
	SELECT k.account_id, k.cur,
	       (SELECT json_group_array(json_array(r.id, r.report_date, r.generated_at, r.expected, r.reported, r.status))
	        FROM reconciliations r WHERE r.account_id = k.account_id AND r.currency = k.cur
	         AND r.id >= COALESCE((SELECT r2.id FROM reconciliations r2 WHERE r2.account_id = k.account_id AND r2.currency = k.cur
	                               ORDER BY r2.id DESC LIMIT 1 OFFSET ?), 0))
	FROM k`

const runChartsSQL = `
	SELECT k.account_id, k.currency,
	       (SELECT json_group_array(json_array(r.id, r.report_date, r.generated_at, r.expected, r.reported, r.status))
	        FROM reconciliations r WHERE r.account_id = k.account_id AND r.currency = k.currency AND r.id <= k.id
	         AND r.id >= COALESCE((SELECT r2.id FROM reconciliations r2 WHERE r2.account_id = k.account_id AND r2.currency = k.currency
	                               AND r2.id <= k.id ORDER BY r2.id DESC LIMIT 1 OFFSET ?1), 0))
	FROM reconciliations k WHERE k.run_id = ?2`

// chartParser reads the arrays chartHistorySQL builds:
// [[id, report_date, generated_at, expected, reported or null, status], ...].
// reconciliations is STRICT, so each value has its column's type.
type chartParser struct {
	b     []byte
	i     int
	texts map[string]string // each distinct text once
}

func (p *chartParser) parse(b []byte, n int) ([]ChartPoint, error) {
	p.b, p.i = b, 0
	out := make([]ChartPoint, 0, n)
	if err := p.expect('['); err != nil {
		return nil, err
	}
	if p.peek() == ']' {
		return out, nil
	}
	for {
		var c ChartPoint
		var err error
		if err = p.expect('['); err == nil {
			c.ID, err = p.integer()
		}
		if err == nil {
			err = p.expect(',')
		}
		if err == nil {
			c.ReportDate, err = p.text()
		}
		if err == nil {
			err = p.expect(',')
		}
		if err == nil {
			c.GeneratedAt, err = p.text()
		}
		if err == nil {
			err = p.expect(',')
		}
		if err == nil {
			c.Expected, err = p.integer()
		}
		if err == nil {
			err = p.expect(',')
		}
		if err == nil {
			if p.peek() == 'n' {
				err = p.literal("null")
			} else {
				c.Reported, err = p.integer()
				c.HasReported = true
			}
		}
		if err == nil {
			err = p.expect(',')
		}
		if err == nil {
			c.Status, err = p.text()
		}
		if err == nil {
			err = p.expect(']')
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		if p.peek() == ']' {
			p.i++
			if p.i != len(p.b) {
				return nil, p.errorf("text after the array")
			}
			return out, nil
		}
		if err := p.expect(','); err != nil {
			return nil, err
		}
	}
}

func (p *chartParser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *chartParser) errorf(what string) error {
	return fmt.Errorf("%w: chart history JSON: %s at byte %d", ErrCorrupt, what, p.i)
}

func (p *chartParser) expect(c byte) error {
	if p.peek() != c {
		return p.errorf(fmt.Sprintf("want %q", c))
	}
	p.i++
	return nil
}

func (p *chartParser) literal(s string) error {
	if !bytes.HasPrefix(p.b[p.i:], []byte(s)) {
		return p.errorf("want " + s)
	}
	p.i += len(s)
	return nil
}

func (p *chartParser) integer() (int64, error) {
	neg := p.peek() == '-'
	if neg {
		p.i++
	}
	start := p.i
	var n uint64
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		if n > (1<<63)/10 {
			return 0, p.errorf("integer out of range")
		}
		n = n*10 + uint64(p.b[p.i]-'0')
		p.i++
	}
	switch {
	case p.i == start:
		return 0, p.errorf("want an integer")
	case neg && n <= 1<<63:
		return -int64(n), nil
	case !neg && n < 1<<63:
		return int64(n), nil
	}
	return 0, p.errorf("integer out of range")
}

// text reads a JSON string as SQLite's json_quote writes it: the bytes of
// the TEXT value, with '"', '\\' and control characters escaped.
func (p *chartParser) text() (string, error) {
	if err := p.expect('"'); err != nil {
		return "", err
	}
	start := p.i
	for p.i < len(p.b) && p.b[p.i] != '"' && p.b[p.i] != '\\' {
		p.i++
	}
	if p.i < len(p.b) && p.b[p.i] == '"' {
		raw := p.b[start:p.i]
		p.i++
		if s, ok := p.texts[string(raw)]; ok {
			return s, nil
		}
		s := string(raw)
		p.texts[s] = s
		return s, nil
	}
	// Escapes: rare (no date, time or status has them), decoded whole.
	p.i = start - 1
	end := p.i + 1
	for end < len(p.b) && p.b[end] != '"' {
		if p.b[end] == '\\' {
			end++
		}
		end++
	}
	if end >= len(p.b) {
		return "", p.errorf("unterminated string")
	}
	s, err := unquoteJSON(p.b[p.i : end+1])
	if err != nil {
		return "", p.errorf(err.Error())
	}
	p.i = end + 1
	return s, nil
}

// unquoteJSON decodes a JSON string literal, keeping bytes that are not
// valid UTF-8 as they are (encoding/json would replace them).
func unquoteJSON(q []byte) (string, error) {
	var b []byte
	for i := 1; i < len(q)-1; i++ {
		c := q[i]
		if c != '\\' {
			b = append(b, c)
			continue
		}
		i++
		if i >= len(q)-1 {
			return "", errors.New("bad escape")
		}
		switch q[i] {
		case '"', '\\', '/':
			b = append(b, q[i])
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			if i+4 > len(q)-2 {
				return "", errors.New("bad \\u escape")
			}
			v, err := strconv.ParseUint(string(q[i+1:i+5]), 16, 32)
			if err != nil {
				return "", errors.New("bad \\u escape")
			}
			r := rune(v)
			i += 4
			if utf16.IsSurrogate(r) && i+6 <= len(q)-2 && q[i+1] == '\\' && q[i+2] == 'u' {
				if v2, err := strconv.ParseUint(string(q[i+3:i+7]), 16, 32); err == nil {
					if r2 := utf16.DecodeRune(r, rune(v2)); r2 != utf8.RuneError {
						r = r2
						i += 6
					}
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", errors.New("bad escape")
		}
	}
	return string(b), nil
}

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

// Candidates lists, for every window in one statement, the journal
// entries created and the bank transactions first seen or updated inside
// it, ordered by account, time and id. Times compare as instants
// (julianday), not as text, since RFC 3339 text with trimmed fractions does
// not sort.
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
	rows, err := r.tx.QueryContext(r.ctx, `
	WITH w AS (SELECT json_extract(value, '$.a') AS account_id, json_extract(value, '$.c') AS cur,
	                  julianday(json_extract(value, '$.f')) AS f, julianday(json_extract(value, '$.t')) AS t FROM json_each(?))
	SELECT * FROM (
	SELECT w.account_id AS acct, 'journal' AS src, e.id AS entry_id, e.kind, COALESCE(e.transaction_id, '') AS txn, e.date,
	       COALESCE(b.name, ''), COALESCE(b.merchant_name, ''), l.amount, l.currency, COALESCE(b.pending, 0), COALESCE(b.removed, 0),
	       e.created_at AS at
	FROM w CROSS JOIN journal_entries e ON e.account_id = w.account_id
	JOIN journal_lines l ON l.entry_id = e.id
	JOIN ledger_accounts la ON la.id = l.ledger_account_id AND la.account_id = w.account_id AND la.currency = w.cur
	LEFT JOIN bank_transactions b ON b.transaction_id = e.transaction_id
	WHERE julianday(e.created_at) > w.f AND julianday(e.created_at) <= w.t
	UNION ALL
	SELECT w.account_id, 'bank', '', '', b.transaction_id, b.date, b.name, COALESCE(b.merchant_name, ''),
	       b.amount, b.currency, b.pending, b.removed, b.updated_at
	FROM w CROSS JOIN bank_transactions b ON b.account_id = w.account_id AND b.currency = w.cur
	WHERE julianday(b.updated_at) > w.f AND julianday(b.updated_at) <= w.t
	  AND NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.account_id = w.account_id AND e.transaction_id = b.transaction_id
	                  AND julianday(e.created_at) > w.f AND julianday(e.created_at) <= w.t)
	) ORDER BY acct, julianday(at), entry_id, txn`, string(b))
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

// PendingItems lists every live pending transaction of a posted account,
// ordered by account, date and id, in one pass.
func (r *ReadTx) PendingItems() ([]PendingItem, error) {
	return r.pendingQuery(`SELECT b.account_id, b.transaction_id, b.date, b.name, COALESCE(b.merchant_name, ''), b.amount, b.currency, b.first_seen_at, NULL
	FROM bank_transactions b JOIN accounts a ON a.id = b.account_id
	WHERE b.pending = 1 AND b.removed = 0 AND a.kind IS NOT NULL
	ORDER BY b.account_id, b.date, b.transaction_id`)
}

// VanishedHolds lists pending transactions removed after since with no
// posted transaction pointing at them through pending_transaction_id: a
// hold the bank dropped, or one posted without a link (Plaid cannot tell
// the two apart, so both are listed for a person to look at).
func (r *ReadTx) VanishedHolds(since time.Time) ([]PendingItem, error) {
	return r.pendingQuery(`SELECT b.account_id, b.transaction_id, b.date, b.name, COALESCE(b.merchant_name, ''), b.amount, b.currency, b.first_seen_at, b.updated_at
	FROM bank_transactions b JOIN accounts a ON a.id = b.account_id
	WHERE b.pending = 1 AND b.removed = 1 AND a.kind IS NOT NULL AND julianday(b.updated_at) > julianday(?)
	  AND NOT EXISTS (SELECT 1 FROM bank_transactions p WHERE p.pending_transaction_id = b.transaction_id)
	ORDER BY b.account_id, b.date, b.transaction_id`, ts(since))
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

// TrialBalance sums every journal line per currency, inside the read
// transaction; each sum must be zero. It adds up the running balances, one
// row per ledger account and currency, which move with every line
// inserted (doctor checks them against the lines themselves).
func (r *ReadTx) TrialBalance() ([]CurrencySum, error) {
	rows, err := r.tx.QueryContext(r.ctx, `SELECT currency, SUM(amount), SUM(lines) FROM ledger_balances
		GROUP BY currency HAVING SUM(lines) > 0 ORDER BY currency`)
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

// OpeningChecks lists every anchored account with its live and total
// opening entries, in one pass.
func (r *ReadTx) OpeningChecks() ([]OpeningCheck, error) {
	rows, err := r.tx.QueryContext(r.ctx, `
	SELECT a.id, a.business_id, a.plaid_account_id, a.opening_version,
	       COUNT(CASE WHEN e.id IS NOT NULL AND x.id IS NULL THEN 1 END), COUNT(e.id),
	       COALESCE(MAX(CASE WHEN e.id IS NOT NULL AND x.id IS NULL THEN e.id END), '')
	FROM accounts a
	LEFT JOIN journal_entries e ON e.account_id = a.id AND e.kind = 'opening'
	LEFT JOIN journal_entries x ON x.reverses = e.id
	WHERE a.opening_version > 0
	GROUP BY a.id
	ORDER BY a.business_id, a.plaid_account_id`)
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

// SaveReconciliation appends a run and its rows in one transaction.
func (s *Store) SaveReconciliation(ctx context.Context, run ReportRun, rows []Reconciliation) error {
	return s.SaveReconciliationWith(ctx, run, rows, func() (ReportRun, error) { return run, nil })
}

// SaveReconciliationWith is SaveReconciliation with the run handed over by
// complete, which is called once the rows are written: the caller can
// finish the report, and encode its Detail, while they are. head names the
// run as its rows record it (RunID, ReportDate, GeneratedAt); complete must
// return the same. The rows go in before their run, so their reference to
// it is checked at commit (defer_foreign_keys, which SQLite turns off
// again when the transaction ends).
func (s *Store) SaveReconciliationWith(ctx context.Context, head ReportRun, rows []Reconciliation, complete func() (ReportRun, error)) error {
	conflict := fmt.Errorf("%w: reconcile run %s is already recorded", ErrConflict, head.RunID)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM report_runs WHERE run_id = ?`, head.RunID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return conflict
		}
		if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
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
			if _, err := st.ExecContext(ctx, head.RunID, head.ReportDate, rc.AccountID, snap, rc.Currency, rc.Opening, rc.Expected,
				nullInt(rc.Reported), nullInt(rc.Difference), rc.PendingTotal, rc.Status, nullTime(rc.NonZeroSince), nullTime(rc.CleanAt),
				ts(head.GeneratedAt)); err != nil {
				return fmt.Errorf("reconciliation of account %d: %w", rc.AccountID, err)
			}
		}
		run, err := complete()
		if err != nil {
			return err
		}
		if run.RunID != head.RunID || run.ReportDate != head.ReportDate || !run.GeneratedAt.Equal(head.GeneratedAt) {
			return fmt.Errorf("reconcile run %s: its rows were written for run %s", run.RunID, head.RunID)
		}
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
		if _, err := tx.ExecContext(ctx, `INSERT INTO report_runs(run_id, report_date, generated_at, counts, dir, files, valid, detail)
			VALUES (?,?,?,?,?,?,?,?)`, run.RunID, run.ReportDate, ts(run.GeneratedAt), string(counts), run.Dir, string(fb), run.Valid, detailText(run.Detail)); err != nil {
			if isUnique(err) {
				return conflict
			}
			return err
		}
		return nil
	})
}

// detailText hands the detail to SQLite as TEXT (the column is STRICT
// TEXT; []byte would bind a BLOB) without copying tens of megabytes into a
// string first: the driver copies the bytes while it binds them, and
// nothing changes them meanwhile.
func detailText(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

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

// StoredReportFor loads the newest run recorded for a report date, with
// its rows in account order. ErrNoReport when there is none.
func (s *Store) StoredReportFor(ctx context.Context, date string) (StoredReport, error) {
	var out StoredReport
	err := s.Read(ctx, func(r *ReadTx) error {
		var gen, counts, files, detail string
		err := r.tx.QueryRowContext(ctx, `SELECT run_id, report_date, generated_at, counts, dir, files, valid, detail FROM report_runs
			WHERE report_date = ? ORDER BY julianday(generated_at) DESC, rowid DESC LIMIT 1`, date).
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
		rows, err := r.tx.QueryContext(ctx, `SELECT `+reconCols+` FROM reconciliations r JOIN accounts a ON a.id = r.account_id
			WHERE r.run_id = ? ORDER BY a.business_id, a.plaid_account_id, r.currency`, out.Run.RunID)
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
