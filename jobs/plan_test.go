package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"bankfeed/jobs"
	"bankfeed/plaidfake"
)

// The hot queries, copied verbatim from store/ (the store keeps them
// unexported). When one changes there, change it here: a drifted copy
// tests nothing.
const planTokenCols = `t.id, t.business_id, t.hint, t.status, t.reason, t.flagged_at, t.flag_request_id, t.next_probe_at, t.cursor,
	COALESCE(t.account_id, 0), COALESCE(a.plaid_account_id, ''), t.last_synced_at, t.last_error_code, t.last_error_at, t.created_at,
	MAX(COALESCE((SELECT MAX(date) FROM bank_transactions bt WHERE bt.account_id = t.account_id AND bt.removed = 0 AND bt.pending = 0), ''),
	    COALESCE((SELECT MAX(date) FROM bank_transactions bt WHERE bt.account_id = t.account_id AND bt.removed = 0 AND bt.pending = 1), '')),
	COALESCE(t.history, ''), t.realtime_at`

type planQuery struct {
	name string
	sql  string
	args []any
	// fullScanOK names a watched table the query must read whole (a
	// trial balance sums every line).
	fullScanOK string
	// wantIndex names an index the plan must use: one made for the query.
	wantIndex string
}

var planQueries = []planQuery{
	{name: "bank txn by transaction_id (Tx.BankTxn)",
		sql: `SELECT id, account_id, transaction_id, amount, removed, live_entry_id FROM bank_transactions WHERE transaction_id = ?`, args: []any{"x"}},
	{name: "live txn ids of an account (Tx.LiveTxnIDs)",
		sql: `SELECT transaction_id FROM bank_transactions WHERE account_id = ? AND removed = 0`, args: []any{1}},
	{name: "posted stats (Tx.PostedStats)",
		sql: `SELECT COALESCE(SUM(amount) FILTER (WHERE pending = 0), 0), MIN(date), COUNT(*) FILTER (WHERE pending = 0)
		FROM bank_transactions WHERE account_id = ? AND removed = 0 AND currency = ?`, args: []any{1, "USD"}},
	{name: "ledger balances (Store.LedgerBalances)", sql: `
	SELECT a.business_id, a.id, a.plaid_account_id, a.kind, la.currency,
	       COALESCE((SELECT SUM(lb.amount) FROM ledger_balances lb WHERE lb.ledger_account_id = la.id), 0),
	       a.opening_version > 0, COALESCE(a.opening_minor, 0),
	       (SELECT COUNT(*) FROM bank_transactions b WHERE b.account_id = a.id AND b.removed = 0 AND b.pending = 0 AND b.currency = la.currency),
	       (SELECT COUNT(*) FROM bank_transactions b WHERE b.account_id = a.id AND b.removed = 0 AND b.pending = 1 AND b.currency = la.currency),
	       (SELECT COALESCE(SUM(b.amount), 0) FROM bank_transactions b WHERE b.account_id = a.id AND b.removed = 0 AND b.pending = 1 AND b.currency = la.currency)
	FROM accounts a JOIN ledger_accounts la ON la.account_id = a.id
	WHERE a.kind IS NOT NULL AND (? = '' OR a.business_id = ?)
	ORDER BY a.business_id, a.plaid_account_id, la.currency`, args: []any{"", ""}},
	{name: "latest snapshot per account (Store.Accounts)", sql: `
	SELECT a.id, a.business_id, a.plaid_account_id, COALESCE(t.id, 0), COALESCE(t.hint,''), COALESCE(t.status,'removed'), t.last_synced_at,
	       bs.current, bs.available, bs.taken_at, rt.current, COALESCE(rt.currency, ''), rt.taken_at
	FROM accounts a
	LEFT JOIN tokens t ON t.id = (SELECT id FROM tokens t2 WHERE t2.account_id = a.id
	     ORDER BY (t2.status = 'active') DESC, (t2.status = 'needs_refresh') DESC, t2.id DESC LIMIT 1)
	LEFT JOIN balance_snapshots bs ON bs.id = (SELECT MAX(id) FROM balance_snapshots b2 WHERE b2.account_id = a.id AND b2.source = 'sync')
	LEFT JOIN balance_snapshots rt ON rt.id = (SELECT MAX(id) FROM balance_snapshots b3 WHERE b3.account_id = a.id AND b3.source = 'realtime')
	WHERE (? = '' OR a.business_id = ?)
	ORDER BY a.business_id, a.plaid_account_id`, args: []any{"", ""}},
	{name: "token list (Store.Tokens)",
		sql: `SELECT ` + planTokenCols + ` FROM tokens t LEFT JOIN accounts a ON a.id = t.account_id WHERE 1=1 AND t.status != 'removed' ORDER BY t.id`},
	{name: "one token (Store.Token, Tx.Token)",
		sql: `SELECT ` + planTokenCols + ` FROM tokens t LEFT JOIN accounts a ON a.id = t.account_id WHERE t.id = ?`, args: []any{1}},
	{name: "abandon stale updates (Store.BeginUpdate)",
		sql: `UPDATE sync_updates SET state = 'abandoned', reason = 'x', finished_at = ? WHERE token_id = ? AND state = 'open'`, args: []any{"t", 1}},
	{name: "logged pages of an update (Tx.Pages)",
		sql: `SELECT seq, cursor_before, cursor_after, has_more, request_id, payload_sha256, payload
		FROM sync_pages WHERE update_id = ? ORDER BY seq`, args: []any{1}},
	{name: "entry with lines (loadEntry)", sql: `SELECT e.id, e.kind, e.date, e.transaction_id, e.version, e.reverses, a.plaid_account_id
		FROM journal_entries e LEFT JOIN accounts a ON a.id = e.account_id WHERE e.id = ?`, args: []any{"x"}},
	{name: "entry lines (loadEntry)", sql: `SELECT la.code, l.currency, l.amount FROM journal_lines l JOIN ledger_accounts la ON la.id = l.ledger_account_id
		WHERE l.entry_id = ? ORDER BY l.line_no`, args: []any{"x"}},
	{name: "reconcile positions (ReadTx.ReconPositions)", sql: `
	WITH pos AS (
	  SELECT a.*, la.id AS la_id, COALESCE(la.currency, a.currency) AS cur
	  FROM accounts a LEFT JOIN ledger_accounts la ON la.account_id = a.id
	  WHERE a.kind IS NOT NULL
	)
	SELECT p.id,
	       COALESCE((SELECT SUM(lb.amount) FROM ledger_balances lb WHERE lb.ledger_account_id = p.la_id), 0),
	       (SELECT COUNT(*) FROM bank_transactions b WHERE b.account_id = p.id AND b.removed = 0 AND b.pending = 1 AND b.currency = p.cur),
	       (SELECT COALESCE(SUM(b.amount), 0) FROM bank_transactions b WHERE b.account_id = p.id AND b.removed = 0 AND b.pending = 1 AND b.currency = p.cur),
	       COALESCE(t.status, 'removed'), bs.id, bs.current, anc.taken_at, pr.id, pbs.taken_at
	FROM pos p
	LEFT JOIN tokens t ON t.id = (SELECT t2.id FROM tokens t2 WHERE t2.account_id = p.id
	     ORDER BY (t2.status = 'active') DESC, (t2.status = 'needs_refresh') DESC, t2.id DESC LIMIT 1)
	LEFT JOIN balance_snapshots bs ON bs.id = (SELECT MAX(b2.id) FROM balance_snapshots b2 WHERE b2.account_id = p.id AND b2.current IS NOT NULL)
	LEFT JOIN balance_snapshots anc ON anc.id = p.anchor_snapshot
	LEFT JOIN reconciliations pr ON pr.id = (SELECT MAX(r2.id) FROM reconciliations r2 WHERE r2.account_id = p.id AND r2.currency = p.cur)
	LEFT JOIN balance_snapshots pbs ON pbs.id = pr.snapshot_id
	WHERE COALESCE(t.status, 'removed') != 'removed'
	ORDER BY p.business_id, p.plaid_account_id, p.cur`},
	{name: "precision suspects (ReadTx.PrecisionSuspects)", sql: `
	SELECT b.account_id, b.transaction_id, b.date, b.amount, b.currency, b.pending
	FROM bank_transactions b JOIN accounts a ON a.id = b.account_id
	WHERE abs(b.amount) >= 1000000 AND b.removed = 0 AND a.kind IS NOT NULL
	ORDER BY b.account_id, b.date, b.transaction_id`,
		// Read whole, but only through the partial index of the large rows.
		fullScanOK: "bank_transactions", wantIndex: "USING INDEX bank_transactions_large"},
	{name: "opening checks (ReadTx.OpeningChecks)", sql: `
	SELECT a.id, a.business_id, a.plaid_account_id, a.opening_version,
	       COUNT(CASE WHEN e.id IS NOT NULL AND x.id IS NULL THEN 1 END), COUNT(e.id),
	       COALESCE(MAX(CASE WHEN e.id IS NOT NULL AND x.id IS NULL THEN e.id END), '')
	FROM accounts a
	LEFT JOIN journal_entries e ON e.account_id = a.id AND e.kind = 'opening'
	LEFT JOIN journal_entries x ON x.reverses = e.id
	WHERE a.opening_version > 0
	GROUP BY a.id
	ORDER BY a.business_id, a.plaid_account_id`},
	{name: "trial balance (ReadTx.TrialBalance)",
		sql: `SELECT currency, SUM(amount), SUM(lines) FROM ledger_balances GROUP BY currency HAVING SUM(lines) > 0 ORDER BY currency`},
	{name: "chart history (ReadTx.ChartHistory)", sql: `
	WITH k AS (SELECT DISTINCT a.id AS account_id, COALESCE(la.currency, a.currency) AS cur
	           FROM accounts a LEFT JOIN ledger_accounts la ON la.account_id = a.id WHERE a.kind IS NOT NULL)
	SELECT r.account_id, r.currency, r.id, r.expected, r.reported
	FROM k CROSS JOIN reconciliations r ON r.account_id = k.account_id AND r.currency = k.cur
	 AND r.id >= COALESCE((SELECT r2.id FROM reconciliations r2 WHERE r2.account_id = k.account_id AND r2.currency = k.cur
	                       ORDER BY r2.id DESC LIMIT 1 OFFSET ?), 0)`, args: []any{28}, wantIndex: "COVERING INDEX reconciliations_chart"},
	{name: "suspense (ReadTx.Suspense)", sql: `
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
	ORDER BY s.business_id, s.currency`, args: []any{"Suspense:Uncategorized"}, wantIndex: "journal_entries_account (account_id=? AND kind=?)"},
}

// watched are the tables that grow with history: a full SCAN of one of
// them in a per-run query makes a run slower every day.
var watched = map[string]bool{"bank_transactions": true, "journal_lines": true, "balance_snapshots": true,
	"journal_entries": true, "sync_pages": true, "sync_updates": true, "reconciliations": true}

var (
	aliasRe = regexp.MustCompile(`(?i)\b(bank_transactions|journal_lines|balance_snapshots|journal_entries|sync_pages|sync_updates|reconciliations)\s+(?:AS\s+)?([a-z_][a-z0-9_]*)`)
	scanRe  = regexp.MustCompile(`^SCAN (\w+)`)
)

// watchedNames maps every name a plan may print for a watched table (the
// table or its alias in q) to the table.
func watchedNames(q string) map[string]string {
	names := map[string]string{}
	for t := range watched {
		names[t] = t
	}
	for _, m := range aliasRe.FindAllStringSubmatch(q, -1) {
		names[m[2]] = strings.ToLower(m[1])
	}
	return names
}

// TestHotQueryPlans builds a real database through the product (a sync
// against plaidfake, a reconcile) plus generated volume, and checks with
// EXPLAIN QUERY PLAN that no hot query reads a growing table whole — both
// as bankfeed runs today (no sqlite_stat1) and after ANALYZE, which a DBA
// or a future PRAGMA optimize may run.
func TestHotQueryPlans(t *testing.T) {
	e := newEnv(t)
	chk, ctok := seedChecking(e)
	card, ktok := e.srv.AddAccount(plaidfake.Account{Name: "Card", Type: "credit", Subtype: "credit card", ISOCurrency: "USD", Opening: "150.00"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: card, Amount: "400.00", Date: "2026-10-03", Name: "Office"})
	pend := e.srv.AddTxn(plaidfake.Txn{AccountID: card, Amount: "19.99", Date: "2026-10-10", Name: "Coffee", Pending: true})
	e.put("biz1", ctok, ktok)
	e.run("all")
	e.srv.PostPending(pend, plaidfake.Txn{Amount: "21.99", Date: "2026-10-11", Name: "Coffee+tip"}, true)
	e.srv.ModifyTxn(e.srv.Txns(chk)[0].ID, func(t *plaidfake.Txn) { t.Amount = "77.77" })
	e.run("all")
	// Volume, so that ANALYZE sees realistic distributions.
	genAccounts(t, e.store, 300, 100)
	genTxns(t, e.store, 20, "p")
	if _, _, err := jobs.Reconcile(context.Background(), e.store, jobs.ReconcileOptions{Dir: t.TempDir(), Location: time.UTC,
		Now: func() time.Time { return e.now }}); err != nil && !errors.Is(err, jobs.ErrBreak) {
		t.Fatalf("reconcile: %v", err)
	}

	db, err := sql.Open("sqlite3", "file:"+e.store.Path()+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	// The detector itself: a plain sum must show up as a full scan, or
	// SQLite changed how it prints plans and this test proves nothing.
	if plan := explain(t, db, `SELECT SUM(b.amount) FROM bank_transactions b`); !scanRe.MatchString(plan[0]) ||
		watchedNames(`FROM bank_transactions b`)[scanRe.FindStringSubmatch(plan[0])[1]] != "bank_transactions" {
		t.Fatalf("the scan detector does not recognise %q", plan)
	}
	for _, mode := range []string{"fresh", "analyzed"} {
		if mode == "analyzed" {
			if err := e.store.Exec(context.Background(), "ANALYZE"); err != nil {
				t.Fatal(err)
			}
			// A new connection reads the new statistics.
			db.Close()
			if db, err = sql.Open("sqlite3", "file:"+e.store.Path()+"?mode=ro&_busy_timeout=5000"); err != nil {
				t.Fatal(err)
			}
			db.SetMaxOpenConns(1)
		}
		for _, q := range planQueries {
			t.Run(mode+"/"+q.name, func(t *testing.T) {
				plan := explain(t, db, q.sql, q.args...)
				if q.wantIndex != "" && !strings.Contains(strings.Join(plan, "\n"), q.wantIndex) {
					t.Errorf("plan does not use %s:\n  %s", q.wantIndex, strings.Join(plan, "\n  "))
				}
				names := watchedNames(q.sql)
				var bad []string
				for _, step := range plan {
					m := scanRe.FindStringSubmatch(step)
					if m == nil {
						continue
					}
					if tbl, ok := names[m[1]]; ok && tbl != q.fullScanOK {
						bad = append(bad, step)
					}
				}
				if len(bad) == 0 {
					return
				}
				msg := "full scan of a growing table: " + strings.Join(bad, "; ") + "\nplan:\n  " + strings.Join(plan, "\n  ")
				t.Error(msg)
			})
		}
	}
}

// explain returns the detail column of EXPLAIN QUERY PLAN, one step a line.
func explain(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("explain: %v\n%s", err, q)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
