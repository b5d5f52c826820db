package books_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"bankfeed/books"
	"bankfeed/jobs"
	"bankfeed/plaidapi"
	"bankfeed/plaidfake"
	"bankfeed/store"
	"bankfeed/testtools"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var fixedNow = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

const key = "0123456789abcdef0123456789abcdef"

// ledgerWorld is a fixed Plaid world synced into a fresh database: a
// checking account, a card and a euro account with explicit ids, then a
// second sync after the bank corrected one amount and withdrew another
// transaction, so the journal holds openings, transactions and reversals.
type ledgerWorld struct {
	srv    *plaidfake.Server
	client *plaidapi.Client
	st     *store.Store
	tokens []string
}

func newStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "bankfeed.db"), []byte(key), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Now = func() time.Time { return fixedNow }
	t.Cleanup(func() { st.Close() })
	return st
}

func newLedgerWorld(t testing.TB) *ledgerWorld {
	t.Helper()
	srv := plaidfake.New(plaidfake.WithCredentials("cid", "sec"))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	w := &ledgerWorld{srv: srv, st: newStore(t)}
	w.client = plaidapi.New(plaidapi.Config{BaseURL: hs.URL, ClientID: "cid", Secret: "sec", Timeout: 30 * time.Second,
		Sleep: func(context.Context, time.Duration) error { return nil }})
	return w
}

func (w *ledgerWorld) account(a plaidfake.Account) string {
	id, tk := w.srv.AddAccount(a)
	w.tokens = append(w.tokens, tk)
	return id
}

func (w *ledgerWorld) put(t testing.TB, business string) {
	t.Helper()
	if _, err := w.st.PutTokens(context.Background(), business, "sandbox", w.tokens, true); err != nil {
		t.Fatal(err)
	}
	w.tokens = nil
}

func (w *ledgerWorld) sync(t testing.TB) {
	t.Helper()
	r := &jobs.Runner{Store: w.st, Plaid: w.client, Log: zerolog.New(io.Discard), Concurrency: 1,
		ProbeInterval: 6 * time.Hour, Now: func() time.Time { return fixedNow }}
	if _, err := r.Run(context.Background(), jobs.JobSync); err != nil {
		t.Fatalf("sync: %v", err)
	}
}

// fixture is the small fixed ledger of the golden files.
func fixture(t testing.TB) *ledgerWorld {
	w := newLedgerWorld(t)
	chk := w.account(plaidfake.Account{ID: "acct-checking-0001", Name: "Business Checking", Mask: "0001", Type: "depository", Subtype: "checking", Opening: "1000.00"})
	card := w.account(plaidfake.Account{ID: "acct-card-4242", Name: "Business Card", Mask: "4242", Type: "credit", Subtype: "credit card", Opening: "250.00"})
	eur := w.account(plaidfake.Account{ID: "acct_eur_9", Name: "Euro Account", Mask: "0009", Type: "depository", Subtype: "checking", ISOCurrency: "EUR", Opening: "300.00"})
	for _, tx := range []plaidfake.Txn{
		{ID: "txn-chk-1", AccountID: chk, Amount: "12.34", Date: "2026-11-02", Name: `Joe's "Best" \ Coffee`},
		{ID: "txn-chk-2", AccountID: chk, Amount: "-500.00", Date: "2026-11-03", Name: "=HYPERLINK(\"http://x\")"},
		{ID: "txn-chk-3", AccountID: chk, Amount: "45.00", Date: "2026-11-05", Name: "Hardware store"},
		{ID: "txn-chk-4", AccountID: chk, Amount: "9.99", Date: "2026-11-06", Name: "Pending snack", Pending: true},
		{ID: "txn-card-1", AccountID: card, Amount: "89.99", Date: "2026-11-04", Name: "Software subscription"},
		{ID: "txn-card-2", AccountID: card, Amount: "-30.00", Date: "2026-11-07", Name: "Refund"},
		{ID: "txn-eur-1", AccountID: eur, Amount: "20.50", Date: "2026-11-03", Name: "Bäckerei\nline two"},
	} {
		w.srv.AddTxn(tx)
	}
	w.put(t, "biz-books")
	w.sync(t)
	// The bank corrects an amount and withdraws a transaction.
	w.srv.ModifyTxn("txn-chk-3", func(x *plaidfake.Txn) { x.Amount = "54.00" })
	w.srv.RemoveTxn("txn-card-2")
	w.sync(t)
	return w
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./books -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (go test ./books -update rewrites it):\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

// TestGoldenOutputs pins every output of the inspect and export commands
// on the fixed fixture.
func TestGoldenOutputs(t *testing.T) {
	w := fixture(t)
	ctx := context.Background()
	all := store.JournalFilter{BusinessID: "biz-books"}
	since := store.JournalFilter{BusinessID: "biz-books", Since: "2026-11-04"}
	_, book, err := w.st.AccountBook(ctx, "acct-checking-0001")
	if err != nil {
		t.Fatal(err)
	}
	entries := func(f store.JournalFilter, format books.Format) func(io.Writer) error {
		return func(out io.Writer) error {
			return books.WriteEntries(ctx, w.st, books.EntriesOptions{Filter: f, Format: format}, out)
		}
	}
	for _, c := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{"entries.txt", entries(all, books.Table)},
		{"entries.json", entries(all, books.JSON)},
		{"entries.csv", entries(all, books.CSV)},
		{"entries-since.csv", entries(since, books.CSV)},
		{"entries-account.json", entries(store.JournalFilter{Book: book}, books.JSON)},
		{"entries-none.json", entries(store.JournalFilter{BusinessID: "biz-books", Since: "2027-01-01"}, books.JSON)},
		{"export.beancount", entries(all, books.Beancount)},
		{"export-since.beancount", entries(since, books.Beancount)},
		{"trial.txt", func(out io.Writer) error { return books.WriteTrialTable(ctx, w.st, "", out) }},
		{"trial.json", func(out io.Writer) error {
			rows, err := books.TrialBalance(ctx, w.st, "")
			if err != nil {
				return err
			}
			return writeJSON(out, rows)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := c.write(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, c.name, b.Bytes())
		})
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := jsonEncoder(w)
	return enc.Encode(v)
}

// TestBeanCheckAcceptsTheExport runs the real bean-check on the fixture's
// export, whole and from a date, and checks that the balances bean-query
// computes from the file are the trial balance's.
func TestBeanCheckAcceptsTheExport(t *testing.T) {
	beanCheck := testtools.BeanCheck(t)
	w := fixture(t)
	for _, since := range []string{"", "2026-11-04", "2027-01-01"} {
		t.Run("since="+since, func(t *testing.T) {
			checkExport(t, beanCheck, w.st, "biz-books", since)
		})
	}
}

// TestBeanCheckTenThousand exports a ledger of 10,000 transactions (with
// corrections and removals) and checks it with bean-check.
func TestBeanCheckTenThousand(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 transactions: not in -short")
	}
	beanCheck := testtools.BeanCheck(t)
	w := newLedgerWorld(t)
	chk := w.account(plaidfake.Account{ID: "acct-big-checking", Name: "Big Checking", Mask: "1111", Opening: "50000.00"})
	card := w.account(plaidfake.Account{ID: "acct-big-card", Name: "Big Card", Mask: "2222", Type: "credit", Subtype: "credit card", Opening: "0.00"})
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 10000; i++ {
		acct := chk
		if i%3 == 0 {
			acct = card
		}
		amt := fmt.Sprintf("%d.%02d", 1+i%997, i%100)
		if i%7 == 0 {
			amt = "-" + amt
		}
		w.srv.AddTxn(plaidfake.Txn{ID: fmt.Sprintf("big-%05d", i), AccountID: acct, Amount: amt,
			Date: start.AddDate(0, 0, i*690/10000).Format("2006-01-02"), Name: fmt.Sprintf("Merchant %d", i%50)})
	}
	w.put(t, "biz-big")
	w.sync(t)
	for i := 0; i < 10000; i += 101 {
		id := fmt.Sprintf("big-%05d", i)
		if i%2 == 0 {
			w.srv.ModifyTxn(id, func(x *plaidfake.Txn) { x.Amount = "7.77" })
		} else {
			w.srv.RemoveTxn(id)
		}
	}
	w.sync(t)
	checkExport(t, beanCheck, w.st, "biz-big", "")
	checkExport(t, beanCheck, w.st, "biz-big", "2026-01-01")
}

// checkExport writes the business's beancount export, runs bean-check on
// it, and compares the balance of every account bean-query computes with
// the trial balance.
func checkExport(t *testing.T, beanCheck string, st *store.Store, business, since string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "books.beancount")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	err = books.WriteEntries(ctx, st, books.EntriesOptions{Filter: store.JournalFilter{BusinessID: business, Since: since}, Format: books.Beancount}, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	exported := time.Since(began)
	began = time.Now()
	if out, err := exec.Command(beanCheck, path).CombinedOutput(); err != nil {
		t.Fatalf("bean-check %s: %v\n%s", path, err, out)
	}
	if fi, err := os.Stat(path); err == nil {
		t.Logf("export of %s since %q: %d bytes in %v; bean-check took %v", business, since, fi.Size(), exported.Round(time.Millisecond),
			time.Since(began).Round(time.Millisecond))
	}
	// bean-query: the sum of every account's postings, as the file says.
	out, err := exec.Command(filepath.Join(filepath.Dir(beanCheck), "bean-query"), "-f", "csv", path,
		"SELECT account, sum(number) AS total, currency GROUP BY account, currency ORDER BY account").CombinedOutput()
	if err != nil {
		t.Fatalf("bean-query: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n")[1:] {
		cells := strings.Split(strings.TrimSpace(line), ",")
		if len(cells) != 3 {
			t.Fatalf("bean-query line %q", line)
		}
		got[strings.TrimSpace(cells[0])+" "+strings.TrimSpace(cells[2])] = strings.TrimSpace(cells[1])
	}
	rows, err := st.LedgerAccounts(ctx, business)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no ledger accounts")
	}
	for _, r := range rows {
		k := books.BeancountAccount(r.Code, r.Kind) + " " + r.Currency
		// beancount sums in its own sign (debits positive); the trial balance
		// shows the kind's natural sign.
		want := decimalString(r.Sum, r.Exponent)
		if g, ok := got[k]; !ok || !sameNumber(g, want) {
			t.Errorf("%s: bean-query says %q, the ledger %s (natural %s)", k, got[k], want, decimalString(r.Balance(), r.Exponent))
		}
		delete(got, k)
	}
	for k, v := range got {
		if !sameNumber(v, "0") {
			t.Errorf("bean-query has %s = %s, which the ledger does not", k, v)
		}
	}
}
