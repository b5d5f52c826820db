package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"bankfeed/store"
)

// growing are the tables that grow with history: a full SCAN of one of
// them in a per-page, per-token or per-run statement makes bankfeed slower
// every day it runs.
var growing = []string{"bank_transactions", "journal_entries", "journal_lines", "balance_snapshots", "sync_pages", "sync_updates",
	"reconciliations", "report_runs", "job_runs", "outbox"}

// planWant says what a statement's plan must show besides "no full scan":
// an index made for it, or the one growing table it must read whole.
var planWant = map[string]struct {
	index      []string
	fullScanOK string
	// streams: the statement feeds a walk row by row (a page of a
	// listing); a sort would read the whole range before the first row.
	streams bool
}{
	"per-page transaction lookup (Tx.BankTxns)": {index: []string{"sqlite_autoindex_bank_transactions_1 (transaction_id=?)"}},
	"candidates (ReadTx.Candidates)": {index: []string{"journal_entries_account_created (account_id=? AND created_at>? AND created_at<?)",
		"bank_transactions_account_updated (account_id=? AND updated_at>? AND updated_at<?)", "journal_entries_transaction (transaction_id=?)"}},
	"vanished holds (ReadTx.VanishedHolds)":                                   {index: []string{"bank_transactions_account_updated (account_id=? AND updated_at>?)"}},
	"pending items (ReadTx.PendingItems)":                                     {index: []string{"bank_transactions_account (account_id=? AND removed=? AND pending=?)"}},
	"precision suspects (ReadTx.PrecisionSuspects)":                           {index: []string{"bank_transactions_large"}, fullScanOK: "bank_transactions"},
	"chart history (ReadTx.ChartHistory)":                                     {index: []string{"COVERING INDEX reconciliations_chart"}},
	"suspense (ReadTx.Suspense)":                                              {index: []string{"journal_entries_account (account_id=? AND kind=?)"}},
	"last run (Store.LastRun)":                                                {index: []string{"job_runs_job (job=?)"}},
	"runs after a rowid (Store.RunsAfter, metrics)":                           {index: []string{"INTEGER PRIMARY KEY (rowid>?)"}},
	"runs by rowid (Store.RunsAfter, metrics)":                                {index: []string{"INTEGER PRIMARY KEY (rowid=?)"}},
	"latest report summary (Store.LatestReportSummary, metrics)":              {index: []string{"report_runs_date (report_date=?)"}},
	"stored report (Store.StoredReportFor)":                                   {index: []string{"report_runs_date (report_date=?)"}},
	"an account's transactions, oldest first (Store.Transactions)":            {index: []string{"bank_transactions_account_id (account_id=? AND id>?)"}, streams: true},
	"an account's transactions after a cursor, filtered (Store.Transactions)": {index: []string{"bank_transactions_account_id (account_id=? AND id>?)"}, streams: true},
	"an account's transactions, newest first (Store.Transactions)":            {index: []string{"bank_transactions_account_id (account_id=? AND id<?)"}, streams: true},
	"every transaction in id order (Store.Transactions)":                      {streams: true},
	"every transaction, newest first (Store.Transactions)":                    {streams: true},
	"the account of one transaction (Store.Transactions)":                     {index: []string{"sqlite_autoindex_bank_transactions_1 (transaction_id=?)"}},
	"journal of one transaction (ReadTx.EachEntry)":                           {index: []string{"journal_entries_transaction (transaction_id=?)"}},
	"a page of businesses (Store.BusinessIDs)":                                {streams: true},
	"due notifications (Store.ClaimDue)":                                      {index: []string{"outbox_due (status=? AND next_attempt_at<?)"}},
	"next notification due (Store.NextDue)":                                   {index: []string{"COVERING INDEX outbox_due (status=?)"}},
	"prune notifications (Store.PruneOutbox)":                                 {index: []string{"outbox_status (status=? AND created_at<?)"}},
	"run history (Store.EachRun)":                                             {index: []string{"job_runs_started"}, fullScanOK: "job_runs"}, // runs list: the whole history, by index
	"interrupt unfinished runs (Store.StartRun)":                              {index: []string{"job_runs_unfinished"}},
	"journal of a business (ReadTx.EachEntry)":                                {index: []string{"journal_entries_business (business_id=?)"}},
	"journal of a business since (ReadTx.EachEntry)":                          {index: []string{"journal_entries_business (business_id=? AND date>?)"}},
	"journal of an account (ReadTx.EachEntry)":                                {index: []string{"SEARCH e USING INDEX journal_entries_account"}},
	"carried balances of a business (ReadTx.Carried)":                         {index: []string{"journal_entries_business (business_id=? AND date<?)"}},
	"first entry of a business (ReadTx.FirstEntryDate)":                       {index: []string{"journal_entries_business (business_id=?)"}},
}

var (
	aliasRe = regexp.MustCompile(`(?i)\b(` + strings.Join(growing, "|") + `)\s+(?:AS\s+)?([a-z_][a-z0-9_]*)`)
	scanRe  = regexp.MustCompile(`^SCAN (\w+)`)
)

// growingNames maps every name a plan may print for a growing table (the
// table or its alias in q) to the table.
func growingNames(q string) map[string]string {
	names := map[string]string{}
	for _, t := range growing {
		names[t] = t
	}
	for _, m := range aliasRe.FindAllStringSubmatch(q, -1) {
		if !strings.EqualFold(m[2], "WHERE") && !strings.EqualFold(m[2], "ON") && !strings.EqualFold(m[2], "JOIN") {
			names[m[2]] = strings.ToLower(m[1])
		}
	}
	return names
}

// TestHotQueryPlans runs EXPLAIN QUERY PLAN on the statements the store
// executes (store.PlanQueries: its own constants, not copies) over a
// database with history in every growing table, and fails on any full
// scan of one: both as bankfeed runs (no sqlite_stat1) and after ANALYZE,
// which a DBA or a future PRAGMA optimize may run.
func TestHotQueryPlans(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.db")
	st := open(t, path, key1, store.Options{})
	defer st.Close()
	fillHistory(t, st, 300, 60)

	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	db.SetMaxOpenConns(1)
	// The detector itself: a plain sum must show up as a full scan, or
	// SQLite changed how it prints plans and this test proves nothing.
	const sum = `SELECT SUM(b.amount) FROM bank_transactions b`
	if plan := explain(t, db, sum); !scanRe.MatchString(plan[0]) || growingNames(sum)[scanRe.FindStringSubmatch(plan[0])[1]] != "bank_transactions" {
		t.Fatalf("the scan detector does not recognise %q", plan)
	}
	queries := store.PlanQueries()
	seen := map[string]bool{}
	for _, q := range queries {
		seen[q.Name] = true
	}
	for name := range planWant {
		if !seen[name] {
			t.Errorf("planWant names %q, which store.PlanQueries does not list", name)
		}
	}
	used := map[string]bool{}
	for _, mode := range []string{"fresh", "analyzed"} {
		if mode == "analyzed" {
			if err := st.Exec(context.Background(), "ANALYZE"); err != nil {
				t.Fatal(err)
			}
			// A new connection reads the new statistics.
			db.Close()
			if db, err = sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000"); err != nil {
				t.Fatal(err)
			}
			db.SetMaxOpenConns(1)
		}
		for _, q := range queries {
			t.Run(mode+"/"+q.Name, func(t *testing.T) {
				plan := explain(t, db, q.SQL, q.Args...)
				t.Logf("plan:\n  %s", strings.Join(plan, "\n  "))
				for _, step := range plan {
					if m := indexRe.FindStringSubmatch(step); m != nil {
						used[m[1]] = true
					}
				}
				want := planWant[q.Name]
				for _, index := range want.index {
					if !strings.Contains(strings.Join(plan, "\n"), index) {
						t.Errorf("plan does not use %s:\n  %s", index, strings.Join(plan, "\n  "))
					}
				}
				if want.streams && strings.Contains(strings.Join(plan, "\n"), "TEMP B-TREE") {
					t.Errorf("a streaming walk sorts:\n  %s", strings.Join(plan, "\n  "))
				}
				names := growingNames(q.SQL)
				var bad []string
				for _, step := range plan {
					if m := scanRe.FindStringSubmatch(step); m != nil && names[m[1]] != "" && names[m[1]] != want.fullScanOK {
						bad = append(bad, step)
					}
				}
				if len(bad) > 0 {
					t.Errorf("full scan of a growing table: %s\nplan:\n  %s", strings.Join(bad, "; "), strings.Join(plan, "\n  "))
				}
			})
		}
	}
	// Every index costs a B-tree insert per row it covers: each one must
	// serve a statement above (SQLite's own autoindexes enforce UNIQUE
	// constraints and are not listed).
	rows, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		if !used[name] {
			t.Errorf("index %s serves none of the hot statements: drop it, or list the statement it serves in store.PlanQueries", name)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

var indexRe = regexp.MustCompile(`USING (?:COVERING )?INDEX (\w+)`)

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

// fillHistory writes, with SQL, a history of the shape a sync and a month
// of nightly runs leave: three businesses, accounts with perAccount
// transactions each (every tenth a hold, most holds since posted and
// removed, some amounts corrected by a reversal), their journal, sync and
// real-time snapshots, logged pages, 30 reconciliations per account and a
// run log.
func fillHistory(t testing.TB, st *store.Store, accounts, perAccount int) {
	t.Helper()
	const now = "2026-11-27T02:00:00.000000Z"
	n := accounts * perAccount
	for _, q := range []string{
		`INSERT INTO currencies(code, exponent, first_seen_at) VALUES ('USD', 2, '` + now + `')`,
		`INSERT INTO businesses(id, created_at, updated_at) VALUES ('biz1', '` + now + `', '` + now + `'), ('biz2', '` + now + `', '` + now + `'), ('biz3', '` + now + `', '` + now + `')`,
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
		 INSERT INTO accounts(id, business_id, plaid_account_id, name, type, currency, currency_exponent, kind, opening_version, opening_date, opening_minor, created_at, updated_at)
		 SELECT i, 'biz' || (1 + i %% 3), printf('acc%%05d', i), 'Account ' || i, CASE WHEN i %% 4 = 0 THEN 'credit' ELSE 'depository' END, 'USD', 2,
		        CASE WHEN i %% 4 = 0 THEN 'liability' ELSE 'asset' END, 1, '2025-12-31', 0, '`+now+`', '`+now+`' FROM n`, accounts),
		`INSERT INTO tokens(id, business_id, fingerprint, ciphertext, hint, status, cursor, account_id, created_at, updated_at, last_synced_at)
		 SELECT id, business_id, randomblob(16), randomblob(16), 'abcd', CASE WHEN id % 50 = 0 THEN 'needs_refresh' ELSE 'active' END, 'c', id, created_at, created_at, created_at FROM accounts`,
		`INSERT INTO ledger_accounts(id, business_id, code, kind, currency, account_id)
		 SELECT id, business_id, 'Bank:' || plaid_account_id, kind, 'USD', id FROM accounts`,
		`INSERT INTO ledger_accounts(id, business_id, code, kind, currency) VALUES
		   (100001, 'biz1', 'Suspense:Uncategorized', 'expense', 'USD'), (100002, 'biz2', 'Suspense:Uncategorized', 'expense', 'USD'),
		   (100003, 'biz3', 'Suspense:Uncategorized', 'expense', 'USD'), (100004, 'biz1', 'Equity:Opening Balances', 'equity', 'USD'),
		   (100005, 'biz2', 'Equity:Opening Balances', 'equity', 'USD'), (100006, 'biz3', 'Equity:Opening Balances', 'equity', 'USD')`,
		// A sync update of a few pages per token and day.
		`WITH RECURSIVE d(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM d WHERE i < 10)
		 INSERT INTO sync_updates(token_id, run_id, cursor_before, cursor_after, state, pages, started_at, finished_at)
		 SELECT t.id, 'run' || d.i, 'c' || d.i, 'c' || (d.i + 1), CASE WHEN d.i = 10 AND t.id % 7 = 0 THEN 'open' ELSE 'applied' END, 2,
		        printf('2026-11-%02dT01:00:00.000000Z', d.i + 10), printf('2026-11-%02dT01:00:01.000000Z', d.i + 10)
		 FROM tokens t, d ORDER BY d.i, t.id`,
		`INSERT INTO sync_pages(update_id, seq, cursor_before, cursor_after, has_more, request_id, added, modified, removed, payload_sha256, payload, received_at)
		 SELECT u.id, s.seq, u.cursor_before, u.cursor_after, s.seq = 0, 'req', 1, 0, 0, randomblob(32), randomblob(200), u.started_at
		 FROM sync_updates u, (SELECT 0 AS seq UNION ALL SELECT 1) s`,
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
		 INSERT INTO bank_transactions(id, account_id, transaction_id, pending, pending_transaction_id, amount, currency, date, name,
		        removed, entry_version, live_entry_id, first_update_id, last_update_id, first_seen_at, updated_at)
		 SELECT i, 1 + i %% %d, 'tx' || i, i %% 10 = 0, CASE WHEN i %% 10 = 1 THEN 'tx' || (i - 1) END,
		        CASE WHEN i %% 997 = 0 THEN 250000000 ELSE 100 + i %% 997 END, 'USD', date('2026-01-01', '+' || (i * 330 / %d) || ' days'),
		        'Merchant ' || (i %% 100), i %% 10 = 0 AND i < %d, 1, CASE WHEN i %% 10 = 0 THEN NULL ELSE 'txn:tx' || i || ':v1' END, 1, 1,
		        strftime('%%Y-%%m-%%dT%%H:%%M:%%f000Z', '2026-01-01', '+' || (i * 330 / %d) || ' days'),
		        strftime('%%Y-%%m-%%dT%%H:%%M:%%f000Z', '2026-01-01', '+' || (i * 330 / %d) || ' days', '+' || (i %% 3) || ' days') FROM n`,
			n, accounts, n, n*9/10, n, n),
		`INSERT INTO journal_entries(id, business_id, account_id, kind, date, transaction_id, version, update_id, created_at)
		 SELECT 'open:' || plaid_account_id || ':v1', business_id, id, 'opening', '2025-12-31', NULL, 1, NULL, created_at FROM accounts`,
		`INSERT INTO journal_lines(entry_id, line_no, ledger_account_id, currency, amount)
		 SELECT 'open:' || a.plaid_account_id || ':v1', 1, a.id, 'USD', 100000 FROM accounts a`,
		`INSERT INTO journal_lines(entry_id, line_no, ledger_account_id, currency, amount)
		 SELECT 'open:' || a.plaid_account_id || ':v1', 2, 100003 + substr(a.business_id, 4), 'USD', -100000 FROM accounts a`,
		`INSERT INTO journal_entries(id, business_id, account_id, kind, date, transaction_id, version, update_id, created_at)
		 SELECT b.live_entry_id, a.business_id, b.account_id, 'txn', b.date, b.transaction_id, 1, 1, b.first_seen_at
		 FROM bank_transactions b JOIN accounts a ON a.id = b.account_id WHERE b.live_entry_id IS NOT NULL`,
		`INSERT INTO journal_lines(entry_id, line_no, ledger_account_id, currency, amount)
		 SELECT e.id, 1, e.account_id, 'USD', -b.amount FROM journal_entries e JOIN bank_transactions b ON b.transaction_id = e.transaction_id`,
		`INSERT INTO journal_lines(entry_id, line_no, ledger_account_id, currency, amount)
		 SELECT e.id, 2, 100000 + substr(e.business_id, 4), 'USD', b.amount FROM journal_entries e JOIN bank_transactions b ON b.transaction_id = e.transaction_id`,
		// Every 13th transaction was corrected: reversed, and posted again.
		`INSERT INTO journal_entries(id, business_id, account_id, kind, date, transaction_id, version, reverses, update_id, created_at)
		 SELECT 'rev:' || e.id, e.business_id, e.account_id, 'reversal', e.date, e.transaction_id, 1, e.id, 1, e.created_at
		 FROM journal_entries e WHERE e.kind = 'txn' AND substr(e.transaction_id, 3) % 13 = 0`,
		`INSERT INTO journal_lines(entry_id, line_no, ledger_account_id, currency, amount)
		 SELECT r.id, l.line_no, l.ledger_account_id, l.currency, -l.amount FROM journal_entries r JOIN journal_lines l ON l.entry_id = r.reverses
		 WHERE r.kind = 'reversal'`,
		`WITH RECURSIVE d(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM d WHERE i < 10)
		 INSERT INTO balance_snapshots(account_id, token_id, run_id, currency, current, available, request_id, taken_at, source)
		 SELECT a.id, a.id, 'run' || d.i, 'USD', 1000 * d.i, NULL, 'req', printf('2026-11-%02dT01:00:02.000000Z', d.i + 10),
		        CASE WHEN d.i % 5 = 0 THEN 'realtime' ELSE 'sync' END
		 FROM accounts a, d ORDER BY d.i, a.id`,
		`UPDATE accounts SET anchor_snapshot = (SELECT MIN(id) FROM balance_snapshots s WHERE s.account_id = accounts.id)`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
		 INSERT INTO report_runs(run_id, report_date, generated_at, counts, valid, detail)
		 SELECT 'old' || i, date('2026-10-01', '+' || i || ' days'), date('2026-10-01', '+' || i || ' days') || 'T02:00:00.000000Z', '{}', 1, '{}' FROM n`,
		`INSERT INTO reconciliations(run_id, report_date, account_id, snapshot_id, currency, opening, expected, reported, difference, pending_total, status, clean_at, generated_at)
		 SELECT r.run_id, r.report_date, a.id, a.anchor_snapshot, 'USD', 0, 100, 100, 0, 0, 'ok', r.generated_at, r.generated_at
		 FROM report_runs r, accounts a ORDER BY r.run_id, a.id`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
		 INSERT INTO job_runs(id, job, started_at, finished_at, status)
		 SELECT 'job' || i, CASE i % 3 WHEN 0 THEN 'sync' WHEN 1 THEN 'balances' ELSE 'reconcile' END,
		        strftime('%Y-%m-%dT%H:%M:%f000Z', '2026-09-01', '+' || i || ' hours'), strftime('%Y-%m-%dT%H:%M:%f000Z', '2026-09-01', '+' || i || ' hours', '+5 minutes'), 'ok'
		 FROM n`,
	} {
		if err := st.Exec(context.Background(), q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
}
