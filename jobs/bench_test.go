package jobs_test

// Benchmarks for issue "Performance". Every benchmark measures the product
// end to end (real plaid-go over loopback HTTP to plaidfake, a real SQLite
// file) and, in the same run, a ceiling for the same work done the
// cheapest way we can think of, and reports figure, ceiling and ratio with
// b.ReportMetric. scripts/bench runs them all and prints one table.
//
// Sizes are the issue's. -short, or BANKFEED_BENCH_SMALL=1, shrinks them
// for a quick look; single knobs: BANKFEED_BENCH_IDLE_TOKENS,
// BANKFEED_BENCH_INGEST_TXNS, BANKFEED_BENCH_RSS_TXNS.
//
// BANKFEED_BENCH_REUSE=1 (set by scripts/bench together with a private
// TMPDIR that it removes) keeps expensive setups - seeded fake banks and
// already synced databases - across -count repetitions, so that three
// counts cost little more than one. Without it every call builds its own
// setup in b.TempDir().

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"bankfeed/jobs"
	"bankfeed/plaidapi"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

// ---------------------------------------------------------------------
// sizes and reuse

func benchSmall() bool { return testing.Short() || os.Getenv("BANKFEED_BENCH_SMALL") == "1" }

// benchSize picks the size, the small one under -short, or an
// explicit override from env.
func benchSize(envName string, full, small int) int {
	if v, err := strconv.Atoi(os.Getenv(envName)); err == nil && v > 0 {
		return v
	}
	if benchSmall() {
		return small
	}
	return full
}

var (
	reuseMu sync.Mutex
	reused  = map[string]any{}
)

// cached returns the value built for key by an earlier call when reuse is
// on; otherwise it builds a fresh one.
func cached[T any](tb testing.TB, key string, build func(dir string) T) T {
	tb.Helper()
	if os.Getenv("BANKFEED_BENCH_REUSE") != "1" {
		return build(tb.TempDir())
	}
	reuseMu.Lock()
	defer reuseMu.Unlock()
	if v, ok := reused[key]; ok {
		return v.(T)
	}
	dir, err := os.MkdirTemp("", "bankfeed-bench-")
	if err != nil {
		tb.Fatal(err)
	}
	v := build(dir)
	reused[key] = v
	return v
}

// ---------------------------------------------------------------------
// shared pieces

var benchNow = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

// fakeBank is a plaidfake server on loopback HTTP. It lives as long as
// the process when cached, so it is never closed by a test cleanup.
type fakeBank struct {
	srv *plaidfake.Server
	url string
}

func newFakeBank(opts ...plaidfake.Option) *fakeBank {
	srv := plaidfake.New(append([]plaidfake.Option{plaidfake.WithCredentials("cid", "sec")}, opts...)...)
	return &fakeBank{srv: srv, url: httptest.NewServer(srv).URL}
}

// productClient is the client bankfeed builds in cmd/bankfeed: default
// transport, no rate limit (RatePerMin 0).
func productClient(url string) *plaidapi.Client {
	return plaidapi.New(plaidapi.Config{BaseURL: url, ClientID: "cid", Secret: "sec", Timeout: 2 * time.Minute})
}

func openBenchStore(tb testing.TB, path string) *store.Store {
	tb.Helper()
	st, err := store.Open(context.Background(), path, testKey, store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// benchRunner measures the runner at its worker count: the benchmarks'
// businesses hold up to 100 tokens each, and the per-business limit (which
// protects Plaid's per-Item rate limits, not modelled here) would measure
// how the tokens are spread instead.
func benchRunner(st *store.Store, p jobs.Plaid, concurrency int) *jobs.Runner {
	return &jobs.Runner{Store: st, Plaid: p, Log: zerolog.New(io.Discard), Concurrency: concurrency, PageSize: 500,
		ProbeInterval: 6 * time.Hour, Now: func() time.Time { return benchNow }, BusinessConcurrency: concurrency}
}

// putSpread attaches tokens to businesses of perBusiness tokens each.
func putSpread(tb testing.TB, st *store.Store, tokens []string, perBusiness int) {
	tb.Helper()
	for i := 0; i < len(tokens); i += perBusiness {
		biz := fmt.Sprintf("biz%05d", i/perBusiness)
		if _, err := st.PutTokens(context.Background(), biz, "sandbox", tokens[i:min(i+perBusiness, len(tokens))], true); err != nil {
			tb.Fatal(err)
		}
	}
}

func mustRun(tb testing.TB, r *jobs.Runner, job string) jobs.Summary {
	tb.Helper()
	sum, err := r.Run(context.Background(), job)
	if err != nil {
		tb.Fatalf("run %s: %v", job, err)
	}
	return sum
}

func applied(sum jobs.Summary) (added, modified, removed int) {
	for _, r := range sum.Results {
		added += r.Applied.Added
		modified += r.Applied.Modified
		removed += r.Applied.Removed
	}
	return
}

// bareDB is the ceiling's database: the same pragmas as the store, one
// connection, and a STRICT table with bank_transactions' columns and no
// index but the primary key.
func bareDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate")
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS bare_transactions (
  id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL, transaction_id TEXT NOT NULL, pending INTEGER NOT NULL,
  pending_transaction_id TEXT, amount INTEGER NOT NULL, currency TEXT NOT NULL, date TEXT NOT NULL, authorized_date TEXT,
  datetime TEXT, authorized_datetime TEXT, name TEXT NOT NULL, merchant_name TEXT, original_description TEXT, pfc_primary TEXT,
  pfc_detailed TEXT, pfc_confidence TEXT, category TEXT, category_id TEXT, payment_channel TEXT, check_number TEXT,
  transaction_code TEXT, merchant_entity_id TEXT, website TEXT, logo_url TEXT, account_owner TEXT, city TEXT, region TEXT,
  country TEXT, postal_code TEXT, removed INTEGER NOT NULL DEFAULT 0, revision INTEGER NOT NULL DEFAULT 1,
  entry_version INTEGER NOT NULL DEFAULT 0, live_entry_id TEXT, first_update_id INTEGER NOT NULL,
  last_update_id INTEGER NOT NULL, first_seen_at TEXT NOT NULL, updated_at TEXT NOT NULL) STRICT`); err != nil {
		tb.Fatal(err)
	}
	return db
}

const bareInsert = `INSERT INTO bare_transactions(account_id, transaction_id, pending, pending_transaction_id, amount, currency, date,
	authorized_date, datetime, authorized_datetime, name, merchant_name, original_description, pfc_primary, pfc_detailed, pfc_confidence,
	category, category_id, payment_channel, check_number, transaction_code, merchant_entity_id, website, logo_url, account_owner,
	city, region, country, postal_code, removed, revision, entry_version, live_entry_id, first_update_id, last_update_id, first_seen_at, updated_at)
	VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

func ns(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// bareRow is one row as the product would store it, minus bookkeeping.
func bareRow(st *sql.Stmt, t plaidapi.Transaction, removed bool) error {
	cat := ""
	if len(t.Category) > 0 {
		b, _ := json.Marshal(t.Category)
		cat = string(b)
	}
	now := benchNow.Format(store.TimeLayout)
	_, err := st.Exec(1, t.ID, t.Pending, ns(t.PendingTransactionID), t.Amount.Minor, t.Amount.Currency.Code, t.Date,
		ns(t.AuthorizedDate), ns(t.Datetime), ns(t.AuthorizedDatetime), t.Name, ns(t.MerchantName), ns(t.OriginalDescription),
		ns(t.PFCPrimary), ns(t.PFCDetailed), ns(t.PFCConfidence), ns(cat), ns(t.CategoryID), ns(t.PaymentChannel), ns(t.CheckNumber),
		ns(t.TransactionCode), ns(t.MerchantEntityID), ns(t.Website), ns(t.LogoURL), ns(t.AccountOwner), ns(t.City), ns(t.Region),
		ns(t.Country), ns(t.PostalCode), removed, 1, 0, nil, 1, 1, now, now)
	return err
}

// fetchAll runs the plain sync loop of one token with plaid-go and hands
// every page to fn.
func fetchAll(ctx context.Context, c *plaidapi.Client, token, cursor string, fn func(plaidapi.Page) error) error {
	for {
		p, err := c.Sync(ctx, token, cursor, 500)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		if !p.HasMore {
			return nil
		}
		cursor = p.NextCursor
	}
}

// insertPages writes every transaction of the pages into the bare table,
// in ONE transaction through one prepared statement.
func insertPages(db *sql.DB, pages []plaidapi.Page) (int, error) {
	tx, err := db.Begin()
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	st, err := tx.Prepare(bareInsert)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range pages {
		for _, t := range p.Added {
			if err := bareRow(st, t, false); err != nil {
				return n, err
			}
			n++
		}
		for _, t := range p.Modified {
			if err := bareRow(st, t, false); err != nil {
				return n, err
			}
			n++
		}
		for _, r := range p.Removed {
			if err := bareRow(st, plaidapi.Transaction{ID: r.TransactionID}, true); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, tx.Commit()
}

// ---------------------------------------------------------------------
// BenchmarkInitialIngest

type ingestSetup struct {
	bank  *fakeBank
	token string
	n     int
}

// BenchmarkInitialIngest: one token, 100,000 transactions in 200 pages,
// runner.Run(sync) into a fresh database, against fetching the same pages
// with plaid-go and inserting the rows into a bare table in one transaction.
func BenchmarkInitialIngest(b *testing.B) {
	n := benchSize("BANKFEED_BENCH_INGEST_TXNS", 100_000, 5_000)
	ctx := context.Background()
	s := cached(b, fmt.Sprintf("ingest-%d", n), func(string) *ingestSetup {
		bank := newFakeBank()
		toks := bank.srv.Seed(1, n, 1)
		return &ingestSetup{bank: bank, token: toks[0], n: n}
	})
	client := productClient(s.bank.url)
	// Warm the server's net-change cache so neither side pays for it.
	if err := fetchAll(ctx, client, s.token, "", func(plaidapi.Page) error { return nil }); err != nil {
		b.Fatal(err)
	}
	var prod, ceil time.Duration
	var size int64
	pages := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		path := filepath.Join(dir, "bankfeed.db")
		st := openBenchStore(b, path)
		putSpread(b, st, []string{s.token}, 1)
		r := benchRunner(st, client, 8)
		b.StartTimer()
		t0 := time.Now()
		sum := mustRun(b, r, jobs.JobSync)
		prod += time.Since(t0)
		b.StopTimer()
		if added, _, _ := applied(sum); added != s.n {
			b.Fatalf("ingest applied %d adds, want %d", added, s.n)
		}
		pages = sum.Results[0].Pages
		st.Close()
		size = dbSize(b, path)

		// Ceiling: the same pages fetched and decoded by plaid-go, their
		// rows inserted into a bare table, one transaction, one statement.
		db := bareDB(b, filepath.Join(dir, "bare.db"))
		t0 = time.Now()
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		stmt, err := tx.Prepare(bareInsert)
		if err != nil {
			b.Fatal(err)
		}
		rows := 0
		err = fetchAll(ctx, client, s.token, "", func(p plaidapi.Page) error {
			for _, t := range p.Added {
				if err := bareRow(stmt, t, false); err != nil {
					return err
				}
				rows++
			}
			return nil
		})
		if err == nil {
			err = tx.Commit()
		}
		ceil += time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		if rows != s.n {
			b.Fatalf("ceiling inserted %d rows, want %d", rows, s.n)
		}
		db.Close()
	}
	rate := float64(s.n*b.N) / prod.Seconds()
	ceilRate := float64(s.n*b.N) / ceil.Seconds()
	b.ReportMetric(rate, "txn/s")
	b.ReportMetric(ceilRate, "ceiling_txn/s")
	b.ReportMetric(rate/ceilRate, "ratio")
	b.ReportMetric(float64(pages), "pages")
	b.ReportMetric(float64(size)/float64(s.n), "bytes/txn")
}

// dbSize is what a closed database keeps on disk: the file and whatever
// WAL is left (closing the last connection checkpoints it).
func dbSize(tb testing.TB, path string) int64 {
	tb.Helper()
	var n int64
	for _, f := range []string{path, path + "-wal"} {
		fi, err := os.Stat(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			tb.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

// ---------------------------------------------------------------------
// BenchmarkIncrementalIdle

type idleSetup struct {
	slow    *fakeBank // the same world as the one synced in setup, with latency
	st      *store.Store
	secrets []string
	cursors []string
}

// newIdleSetup builds n tokens with a few transactions each and syncs them
// once against a latency-free twin of the measured server: Seed is
// deterministic, so two servers seeded alike hand out the same tokens,
// ids and cursors.
func newIdleSetup(tb testing.TB, dir string, n, txns int, latency time.Duration) *idleSetup {
	fast := newFakeBank()
	ftoks := fast.srv.Seed(n, txns, 7)
	opts := []plaidfake.Option{}
	if latency > 0 {
		opts = append(opts, plaidfake.WithLatency(latency))
	}
	slow := fast
	if latency > 0 {
		slow = newFakeBank(opts...)
		stoks := slow.srv.Seed(n, txns, 7)
		for i := range ftoks {
			if ftoks[i] != stoks[i] {
				tb.Fatal("plaidfake.Seed is not deterministic: the twin servers differ")
			}
		}
	}
	st := openBenchStore(tb, filepath.Join(dir, "bankfeed.db"))
	putSpread(tb, st, ftoks, 100)
	sum := mustRun(tb, benchRunner(st, productClient(fast.url), 32), jobs.JobAll)
	if sum.Counts["synced"] != n {
		tb.Fatalf("setup synced %v, want %d", sum.Counts, n)
	}
	s := &idleSetup{slow: slow, st: st}
	toks, err := st.Tokens(context.Background(), store.TokenFilter{})
	if err != nil {
		tb.Fatal(err)
	}
	for _, t := range toks {
		sec, err := st.Reveal(context.Background(), t.ID)
		if err != nil {
			tb.Fatal(err)
		}
		s.secrets, s.cursors = append(s.secrets, sec), append(s.cursors, t.Cursor)
	}
	return s
}

// rawCalls makes, from conc goroutines, the calls an idle "all" run makes
// (a sync from the stored cursor per token: real-time balances are off by
// default), with no database, and returns how long they took.
func rawCalls(tb testing.TB, c *plaidapi.Client, secrets, cursors []string, conc int) time.Duration {
	tb.Helper()
	ctx := context.Background()
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	t0 := time.Now()
	for i := range secrets {
		g.Go(func() error {
			_, err := c.Sync(ctx, secrets[i], cursors[i], 500)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		tb.Fatal(err)
	}
	return time.Since(t0)
}

// BenchmarkIncrementalIdle: 10,000 synced tokens with nothing new, 50 ms
// per Plaid call, 32 workers: tokens/s of runner.Run(all), against the
// arithmetic ceiling 32/(0.05 s × 1 call) = 640/s and against the rate
// the fake server and plaid-go achieve with the same calls and no database.
func BenchmarkIncrementalIdle(b *testing.B) {
	const conc, calls = 32, 1
	latency := 50 * time.Millisecond
	n := benchSize("BANKFEED_BENCH_IDLE_TOKENS", 10_000, 640)
	s := cached(b, fmt.Sprintf("idle-%d", n), func(dir string) *idleSetup { return newIdleSetup(b, dir, n, 5, latency) })
	client := productClient(s.slow.url)
	r := benchRunner(s.st, client, conc)
	var prod time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		sum := mustRun(b, r, jobs.JobAll)
		prod += time.Since(t0)
		if sum.Counts["synced"] != n {
			b.Fatalf("idle run: %v, want %d synced", sum.Counts, n)
		}
		if a, m, rm := applied(sum); a+m+rm != 0 {
			b.Fatalf("idle run applied %d changes", a+m+rm)
		}
	}
	b.StopTimer()
	// The server's own rate needs a few hundred rounds of the 32 workers,
	// not all 10,000 tokens: a sample keeps the run short.
	sample := min(n, 80*conc)
	raw := rawCalls(b, client, s.secrets[:sample], s.cursors[:sample], conc)
	rate := float64(n*b.N) / prod.Seconds()
	theory := float64(conc) / (latency.Seconds() * calls)
	server := float64(sample) / raw.Seconds()
	b.ReportMetric(rate, "tokens/s")
	b.ReportMetric(theory, "ceiling_tokens/s")
	b.ReportMetric(server, "server_tokens/s")
	b.ReportMetric(rate/theory, "ratio")
	b.ReportMetric(rate/server, "ratio_server")
}

// ---------------------------------------------------------------------
// BenchmarkIncrementalChanges

type changesSetup struct {
	bank     *fakeBank
	st       *store.Store
	tokIDs   []int64
	accounts []string // Plaid account id per token, in token order
	round    int
}

// mutate gives every account exactly 20 reported changes: a pending hold
// posts (removed + added), 10 posted adds, 1 new pending (posted next
// round), 4 amount changes, 1 rename and 2 removals.
func (s *changesSetup) mutate(tb testing.TB) int {
	s.round++
	date := benchNow.AddDate(0, 0, -s.round).Format(time.DateOnly)
	for ai, acct := range s.accounts {
		var pending string
		var posted []string
		for _, t := range s.bank.srv.Txns(acct) {
			if t.Pending {
				pending = t.ID
			} else {
				posted = append(posted, t.ID)
			}
		}
		if pending == "" || len(posted) < 7 {
			tb.Fatalf("account %s has no pending transaction or too few posted", acct)
		}
		s.bank.srv.PostPending(pending, plaidfake.Txn{Amount: "12.34", Date: date, Name: "Posted hold"}, true)
		for k := 0; k < 10; k++ {
			s.bank.srv.AddTxn(plaidfake.Txn{AccountID: acct, Amount: fmt.Sprintf("%d.%02d", k+1, (ai+k)%100), Date: date, Name: "New"})
		}
		s.bank.srv.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "5.55", Date: date, Name: "Hold", Pending: true})
		// Pick distinct victims spread over the history.
		step := len(posted) / 7
		pick := func(k int) string { return posted[(k*step+s.round+ai)%len(posted)] }
		for k := 0; k < 4; k++ {
			s.bank.srv.ModifyTxn(pick(k), func(t *plaidfake.Txn) { t.Amount = fmt.Sprintf("%d.%02d", 100+s.round, k) })
		}
		s.bank.srv.ModifyTxn(pick(4), func(t *plaidfake.Txn) { t.Name = fmt.Sprintf("Renamed %d", s.round) })
		s.bank.srv.RemoveTxn(pick(5))
		s.bank.srv.RemoveTxn(pick(6))
	}
	return 20 * len(s.accounts)
}

// BenchmarkIncrementalChanges: 1,000 synced tokens with 20 changes each,
// runner.Run(sync), against fetching the same updates with plaid-go and
// inserting their rows into a bare table in one transaction.
func BenchmarkIncrementalChanges(b *testing.B) {
	const conc = 8
	n := benchSize("BANKFEED_BENCH_CHANGE_TOKENS", 1_000, 100)
	ctx := context.Background()
	s := cached(b, fmt.Sprintf("changes-%d", n), func(dir string) *changesSetup {
		bank := newFakeBank()
		toks := bank.srv.Seed(n, 50, 11) // 49 posted + 1 pending each
		st := openBenchStore(b, filepath.Join(dir, "bankfeed.db"))
		putSpread(b, st, toks, 100)
		mustRun(b, benchRunner(st, productClient(bank.url), conc), jobs.JobAll)
		s := &changesSetup{bank: bank, st: st}
		ts, err := st.Tokens(ctx, store.TokenFilter{})
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range ts {
			s.tokIDs, s.accounts = append(s.tokIDs, t.ID), append(s.accounts, t.PlaidAccountID)
		}
		return s
	})
	client := productClient(s.bank.url)
	r := benchRunner(s.st, client, conc)
	var prod, ceil time.Duration
	changes := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		want := s.mutate(b)
		// Ceiling first, read-only on the server: the same updates from
		// the stored cursors, fetched with the same concurrency, rows
		// inserted into a bare table in one transaction.
		var secrets, cursors []string
		for _, id := range s.tokIDs {
			t, err := s.st.Token(ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			sec, err := s.st.Reveal(ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			secrets, cursors = append(secrets, sec), append(cursors, t.Cursor)
		}
		db := bareDB(b, filepath.Join(b.TempDir(), "bare.db"))
		t0 := time.Now()
		pages := make([][]plaidapi.Page, len(secrets))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(conc)
		for k := range secrets {
			g.Go(func() error {
				return fetchAll(gctx, client, secrets[k], cursors[k], func(p plaidapi.Page) error {
					pages[k] = append(pages[k], p)
					return nil
				})
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
		var all []plaidapi.Page
		for _, ps := range pages {
			all = append(all, ps...)
		}
		rows, err := insertPages(db, all)
		ceil += time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
		if rows != want {
			b.Fatalf("ceiling saw %d changes, want %d", rows, want)
		}

		b.StartTimer()
		t0 = time.Now()
		sum := mustRun(b, r, jobs.JobSync)
		prod += time.Since(t0)
		b.StopTimer()
		a, m, rm := applied(sum)
		if a+m+rm != want {
			b.Fatalf("product applied %d changes (%d added, %d modified, %d removed), want %d", a+m+rm, a, m, rm, want)
		}
		changes += want
	}
	rate := float64(changes) / prod.Seconds()
	ceilRate := float64(changes) / ceil.Seconds()
	b.ReportMetric(rate, "changes/s")
	b.ReportMetric(ceilRate, "ceiling_changes/s")
	b.ReportMetric(rate/ceilRate, "ratio")
}

// ---------------------------------------------------------------------
// Generated ledgers (reconcile and scaling): rows made directly with SQL.

// genAccounts creates accounts, one per new token, with their bank ledger
// accounts, the businesses' Suspense and Opening equity accounts, and an
// anchored opening entry each. Tokens are put first so the store's key
// check and token joins see real rows. Generated Plaid account ids start
// with "gen-acct-" (a dash never appears in Plaid's), so that rows made by
// a real sync in the same database are left alone.
func genAccounts(tb testing.TB, st *store.Store, accounts, perBusiness int) {
	tb.Helper()
	ctx := context.Background()
	toks := make([]string, accounts)
	for i := range toks {
		toks[i] = fmt.Sprintf("processor-sandbox-bench-%08d", i)
	}
	putSpread(tb, st, toks, perBusiness)
	now := benchNow.Format(store.TimeLayout)
	for _, q := range []string{
		// Every ledger currency has its stored exponent (schema version 6).
		`INSERT OR IGNORE INTO currencies(code, exponent, first_seen_at) VALUES ('USD', 2, ?1)`,
		`INSERT INTO accounts(business_id, plaid_account_id, name, mask, type, subtype, currency, currency_exponent, kind, opening_version, opening_date,
			opening_minor, created_at, updated_at)
		 SELECT business_id, printf('gen-acct-%08d', id), printf('Account %d', id), printf('%04d', id % 10000),
			CASE WHEN id % 4 = 0 THEN 'credit' ELSE 'depository' END, CASE WHEN id % 4 = 0 THEN 'credit card' ELSE 'checking' END,
			'USD', 2, CASE WHEN id % 4 = 0 THEN 'liability' ELSE 'asset' END, 1, '2024-12-31', (id % 1000) * 10000, ?1, ?1
		 FROM tokens WHERE account_id IS NULL AND hint != '' ORDER BY id`,
		`UPDATE tokens SET account_id = (SELECT a.id FROM accounts a WHERE a.plaid_account_id = printf('gen-acct-%08d', tokens.id)),
			cursor = 'benchcursor', last_synced_at = ?1
		 WHERE account_id IS NULL`,
		`INSERT INTO ledger_accounts(business_id, code, kind, currency, account_id)
		 SELECT business_id, 'Bank:' || plaid_account_id, kind, currency, id FROM accounts
		 WHERE plaid_account_id LIKE 'gen-acct-%' ORDER BY id`,
		`INSERT INTO ledger_accounts(business_id, code, kind, currency)
		 SELECT DISTINCT a.business_id, c.code, c.kind, 'USD'
		 FROM accounts a, (SELECT 'Suspense:Uncategorized' AS code, 'expense' AS kind UNION ALL SELECT 'Equity:Opening Balances', 'equity') c
		 WHERE a.plaid_account_id LIKE 'gen-acct-%'
		   AND NOT EXISTS (SELECT 1 FROM ledger_accounts x WHERE x.business_id = a.business_id AND x.code = c.code AND x.currency = 'USD')`,
		`INSERT INTO journal_entries(id, business_id, account_id, kind, date, version, created_at)
		 SELECT 'open:' || plaid_account_id || ':v1', business_id, id, 'opening', '2024-12-31', 1, ?1 FROM accounts
		 WHERE plaid_account_id LIKE 'gen-acct-%' ORDER BY 1`,
		`INSERT INTO journal_lines(entry_id, line_no, ledger_account_id, currency, amount)
		 SELECT e, ln, la, 'USD', amt FROM (
		   SELECT 'open:' || a.plaid_account_id || ':v1' AS e, 1 AS ln, b.id AS la,
		          CASE WHEN a.kind = 'liability' THEN -a.opening_minor ELSE a.opening_minor END AS amt
		   FROM accounts a JOIN ledger_accounts b ON b.account_id = a.id
		   WHERE a.plaid_account_id LIKE 'gen-acct-%'
		   UNION ALL
		   SELECT 'open:' || a.plaid_account_id || ':v1', 2, q.id,
		          CASE WHEN a.kind = 'liability' THEN a.opening_minor ELSE -a.opening_minor END
		   FROM accounts a JOIN ledger_accounts q ON q.business_id = a.business_id AND q.code = 'Equity:Opening Balances' AND q.currency = a.currency
		   WHERE a.plaid_account_id LIKE 'gen-acct-%')
		 ORDER BY e, ln`,
	} {
		var args []any
		if strings.Contains(q, "?1") {
			args = []any{now}
		}
		if err := st.Exec(ctx, q, args...); err != nil {
			tb.Fatalf("generate accounts: %v\n%s", err, q)
		}
	}
}

// genTxns gives every posted account perAccount more posted transactions:
// bank rows, one journal entry each and its two lines, all consistent
// with the posting rule. tag keeps transaction ids unique across calls.
func genTxns(tb testing.TB, st *store.Store, perAccount int, tag string) {
	tb.Helper()
	ctx := context.Background()
	now := benchNow.Format(store.TimeLayout)
	const cte = `WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < ?2),
	  t AS (SELECT a.id AS aid, a.business_id AS biz, a.currency AS cur, 'gen' || ?3 || '-' || a.id || '-' || k.n AS tid,
	               printf('2025-%02d-%02d', 1 + k.n % 12, 1 + k.n % 28) AS d,
	               CASE WHEN k.n % 5 = 0 THEN -1 ELSE 1 END * (1 + (a.id * 7919 + k.n * 104729) % 100000) AS amt
	        FROM accounts a, k WHERE a.kind IS NOT NULL)`
	for _, q := range []string{
		cte + ` INSERT INTO journal_entries(id, business_id, account_id, kind, date, transaction_id, version, created_at)
		 SELECT 'txn:' || tid || ':v1', biz, aid, 'txn', d, tid, 1, ?1 FROM t ORDER BY 1`,
		cte + ` INSERT INTO journal_lines(entry_id, line_no, ledger_account_id, currency, amount)
		 SELECT e, ln, la, cur, amt FROM (
		   SELECT 'txn:' || t.tid || ':v1' AS e, 1 AS ln, b.id AS la, t.cur AS cur, -t.amt AS amt
		   FROM t JOIN ledger_accounts b ON b.account_id = t.aid AND b.currency = t.cur
		   UNION ALL
		   SELECT 'txn:' || t.tid || ':v1', 2, q.id, t.cur, t.amt
		   FROM t JOIN ledger_accounts q ON q.business_id = t.biz AND q.code = 'Suspense:Uncategorized' AND q.currency = t.cur)
		 ORDER BY e, ln`,
		cte + ` INSERT INTO bank_transactions(account_id, transaction_id, pending, amount, currency, date, name, removed, revision,
			entry_version, live_entry_id, first_update_id, last_update_id, first_seen_at, updated_at)
		 SELECT aid, tid, 0, amt, cur, d, 'Generated', 0, 1, 1, 'txn:' || tid || ':v1', 0, 0, ?1, ?1 FROM t ORDER BY aid, tid`,
	} {
		if err := st.Exec(ctx, q, now, perAccount, tag); err != nil {
			tb.Fatalf("generate transactions: %v", err)
		}
	}
}

// ---------------------------------------------------------------------
// BenchmarkReconcile

type reconcileSetup struct {
	st   *store.Store
	rdb  *sql.DB
	bare *sql.DB // the ceiling's: a copy of the journal lines
}

// bareLines copies the journal lines into a table of journal_lines' shape
// with the index on ledger_account_id the ceiling's GROUP BY walked when
// this figure was first measured: the product no longer keeps that index
// (the running balances answer per-account sums), and the ceiling must
// not change with the product's indexes.
func bareLines(tb testing.TB, path, from string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000&_journal_mode=WAL")
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		`ATTACH DATABASE '` + strings.ReplaceAll(from, "'", "''") + `' AS p`,
		`CREATE TABLE lines (entry_id TEXT NOT NULL, line_no INTEGER NOT NULL, ledger_account_id INTEGER NOT NULL, currency TEXT NOT NULL,
		  amount INTEGER NOT NULL, PRIMARY KEY (entry_id, line_no)) STRICT, WITHOUT ROWID`,
		`INSERT INTO lines SELECT entry_id, line_no, ledger_account_id, currency, amount FROM p.journal_lines ORDER BY entry_id, line_no`,
		`CREATE INDEX lines_account ON lines(ledger_account_id)`,
		`DETACH DATABASE p`,
	} {
		if _, err := db.Exec(q); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
	return db
}

// BenchmarkReconcile: 10,000 accounts with 30 earlier reconciliations
// each, and a history of 1,000,000 or 100,000 journal lines: seconds for
// the whole report (jobs.Reconcile: compute, store, write JSON, CSV and
// HTML), against one bare GROUP BY over journal_lines, the least any report
// must read. The two sizes show whether the report's cost grows with the
// history (it should not: running balances are one row per ledger account).
func BenchmarkReconcile(b *testing.B) {
	accounts := benchSize("BANKFEED_BENCH_RECON_ACCOUNTS", 10_000, 1_000)
	// perAccount transactions + 1 opening per account, 2 lines each.
	for _, perAccount := range []int{4, 49} {
		b.Run(fmt.Sprintf("lines=%d", accounts*(perAccount+1)*2), func(b *testing.B) { benchReconcile(b, accounts, perAccount) })
	}
}

func benchReconcile(b *testing.B, accounts, perAccount int) {
	ctx := context.Background()
	s := cached(b, fmt.Sprintf("reconcile-%d-%d", accounts, perAccount), func(dir string) *reconcileSetup {
		path := filepath.Join(dir, "bankfeed.db")
		st := openBenchStore(b, path)
		genAccounts(b, st, accounts, 100)
		genTxns(b, st, perAccount, "r")
		now := benchNow.Format(store.TimeLayout)
		for _, q := range []string{
			// One snapshot per account; every 50th account is 1.00 off.
			`INSERT INTO balance_snapshots(account_id, token_id, run_id, currency, current, request_id, taken_at)
			 SELECT a.id, (SELECT id FROM tokens WHERE account_id = a.id), 'bench', a.currency,
			   (CASE WHEN a.kind = 'liability' THEN -1 ELSE 1 END) *
			   (SELECT SUM(lb.amount) FROM ledger_balances lb WHERE lb.ledger_account_id = b.id) + (CASE WHEN a.id % 50 = 0 THEN 100 ELSE 0 END),
			   'req-bench', ?1
			 FROM accounts a JOIN ledger_accounts b ON b.account_id = a.id`,
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
			 INSERT INTO report_runs(run_id, report_date, generated_at, counts, valid, detail)
			 SELECT 'old' || i, date('2025-12-01', '+' || i || ' days'), date('2025-12-01', '+' || i || ' days') || 'T02:00:00.000000Z', '{}', 1, '{}' FROM n`,
			`INSERT INTO reconciliations(run_id, report_date, account_id, currency, opening, expected, reported, difference, pending_total,
			   status, clean_at, generated_at)
			 SELECT r.run_id, r.report_date, a.id, 'USD', 0, 100, 100, 0, 0, 'ok', r.generated_at, r.generated_at
			 FROM report_runs r, accounts a ORDER BY r.run_id, a.id`,
		} {
			var args []any
			if strings.Contains(q, "?1") {
				args = []any{now}
			}
			if err := st.Exec(ctx, q, args...); err != nil {
				b.Fatalf("generate reconcile data: %v", err)
			}
		}
		rdb, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
		if err != nil {
			b.Fatal(err)
		}
		return &reconcileSetup{st: st, rdb: rdb, bare: bareLines(b, filepath.Join(dir, "bare-lines.db"), path)}
	})
	var lines int
	if err := s.rdb.QueryRow("SELECT COUNT(*) FROM journal_lines").Scan(&lines); err != nil {
		b.Fatal(err)
	}
	var prod, ceil time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		t0 := time.Now()
		rep, files, err := jobs.Reconcile(ctx, s.st, jobs.ReconcileOptions{Dir: dir, Location: time.UTC,
			Now: func() time.Time { return benchNow }})
		prod += time.Since(t0)
		if err != nil && !errors.Is(err, jobs.ErrBreak) {
			b.Fatalf("reconcile: %v", err)
		}
		if got := rep.Counts()["accounts"]; got != accounts || len(files) != 3 || !rep.Valid {
			b.Fatalf("report: %d accounts (want %d), files %v", got, accounts, files)
		}

		b.StopTimer()
		t0 = time.Now()
		rows, err := s.bare.Query(`SELECT ledger_account_id, SUM(amount) FROM lines GROUP BY ledger_account_id`)
		if err != nil {
			b.Fatal(err)
		}
		groups, err := countGroups(rows)
		if err != nil {
			b.Fatal(err)
		}
		ceil += time.Since(t0)
		if groups < accounts {
			b.Fatalf("ceiling saw %d ledger accounts", groups)
		}
		b.StartTimer()
	}
	secs := prod.Seconds() / float64(b.N)
	csecs := ceil.Seconds() / float64(b.N)
	b.ReportMetric(secs, "report_s")
	b.ReportMetric(csecs, "ceiling_s")
	b.ReportMetric(secs/csecs, "ratio")
	b.ReportMetric(float64(lines), "journal_lines")
}

// ---------------------------------------------------------------------
// BenchmarkPeakRSS

// TestIngestChild is BenchmarkPeakRSS's child process: one sync run of the
// database named by BANKFEED_BENCH_CHILD_DB against the fake bank at
// BANKFEED_BENCH_CHILD_URL, alone in its process so that its peak RSS is
// bankfeed's, not the fake bank's. It skips in a normal test run.
func TestIngestChild(t *testing.T) {
	db := os.Getenv("BANKFEED_BENCH_CHILD_DB")
	if db == "" {
		t.Skip("child process of BenchmarkPeakRSS; runs only with BANKFEED_BENCH_CHILD_DB set")
	}
	st := openBenchStore(t, db)
	defer st.Close()
	sum := mustRun(t, benchRunner(st, productClient(os.Getenv("BANKFEED_BENCH_CHILD_URL")), 8), jobs.JobSync)
	added, _, _ := applied(sum)
	fmt.Printf("bench-child added=%d\n", added)
	// VmHWM is this process's own peak: rusage's ru_maxrss is not, because
	// Linux carries the parent's high-water mark across fork+exec.
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status on this platform")
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Printf("bench-child vmhwm_kib=%s\n", strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
}

type rssSetup struct {
	bank  *fakeBank
	token string
}

// childIngest runs one initial ingest of token in a child process and
// returns the child's peak RSS in MiB, as the child reads it from its own
// VmHWM.
func childIngest(b *testing.B, s *rssSetup, want int) float64 {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bankfeed.db")
	st := openBenchStore(b, path)
	putSpread(b, st, []string{s.token}, 1)
	st.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIngestChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "BANKFEED_BENCH_CHILD_DB="+path, "BANKFEED_BENCH_CHILD_URL="+s.bank.url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child ingest: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("bench-child added=%d\n", want)) {
		b.Fatalf("child ingest did not add %d transactions:\n%s", want, out)
	}
	_, v, ok := strings.Cut(string(out), "bench-child vmhwm_kib=")
	kib, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(v, "\n", 2)[0]))
	if !ok || err != nil {
		b.Fatalf("child ingest reported no VmHWM:\n%s", out)
	}
	// The rusage figure, for comparison: it includes this (parent) process's
	// peak, which Linux carries across fork+exec into the child's
	// ru_maxrss, so it cannot tell bankfeed's own memory.
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		b.Logf("child ingest of %d: VmHWM %d KiB, rusage Maxrss %d KiB (includes the parent's peak)", want, kib, ru.Maxrss)
	}
	return float64(kib) / 1024
}

// BenchmarkPeakRSS: bankfeed's peak RSS during an initial ingest of one
// token with 1,000,000 transactions against one with 10,000, each in its
// own child process (the fake bank stays in this one).
func BenchmarkPeakRSS(b *testing.B) {
	small := 10_000
	large := benchSize("BANKFEED_BENCH_RSS_TXNS", 1_000_000, 100_000)
	setup := func(n int) *rssSetup {
		return cached(b, fmt.Sprintf("rss-%d", n), func(string) *rssSetup {
			bank := newFakeBank()
			return &rssSetup{bank: bank, token: bank.srv.Seed(1, n, 3)[0]}
		})
	}
	s10k, s1m := setup(small), setup(large)
	var r10k, r1m float64
	for i := 0; i < b.N; i++ {
		r10k = max(r10k, childIngest(b, s10k, small))
		r1m = max(r1m, childIngest(b, s1m, large))
	}
	b.ReportMetric(r10k, "rss_10k_MiB")
	b.ReportMetric(r1m, "rss_1m_MiB")
	b.ReportMetric(r1m/r10k, "ratio")
}

// ---------------------------------------------------------------------
// BenchmarkIncrementalScaling

type scalingSetup struct {
	bank *fakeBank
	st   *store.Store
}

// BenchmarkIncrementalScaling: the idle incremental run of 200 tokens
// (latency 0) on databases holding 10^4, 10^5 and 10^6 stored
// transactions, spread over the synced accounts' own histories: the time
// per token must not grow with the database.
func BenchmarkIncrementalScaling(b *testing.B) {
	const tokens = 200
	sizes := []int{10_000, 100_000, 1_000_000}
	if benchSmall() {
		sizes = []int{10_000, 100_000}
	}
	for _, size := range sizes {
		b.Run(fmt.Sprintf("txns=%d", size), func(b *testing.B) {
			s := cached(b, fmt.Sprintf("scaling-%d", size), func(dir string) *scalingSetup {
				const seeded = 5
				is := newIdleSetup(b, dir, tokens, seeded, 0)
				genTxns(b, is.st, size/tokens-seeded, "s")
				var n int
				st := is.st
				bals, err := st.LedgerBalances(context.Background(), "")
				if err != nil {
					b.Fatal(err)
				}
				for _, bal := range bals {
					n += bal.PostedCount + bal.PendingCount
				}
				if n != size {
					b.Fatalf("database holds %d transactions, want %d", n, size)
				}
				return &scalingSetup{bank: is.slow, st: st}
			})
			r := benchRunner(s.st, productClient(s.bank.url), 8)
			mustRun(b, r, jobs.JobAll) // warm: page cache and connections
			var prod time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				sum := mustRun(b, r, jobs.JobAll)
				prod += time.Since(t0)
				if sum.Counts["synced"] != tokens {
					b.Fatalf("idle run: %v", sum.Counts)
				}
			}
			b.ReportMetric(prod.Seconds()*1000/float64(tokens*b.N), "ms/token")
		})
	}
}

// countGroups reads the ceiling query to its end.
func countGroups(rows *sql.Rows) (int, error) {
	defer rows.Close()
	groups := 0
	for rows.Next() {
		var id, sum int64
		if err := rows.Scan(&id, &sum); err != nil {
			return 0, err
		}
		groups++
	}
	return groups, rows.Err()
}
