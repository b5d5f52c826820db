package books_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"bankfeed/books"
	"bankfeed/ledger"
	"bankfeed/store"
	"bankfeed/testtools"
)

// beancount's account syntax: a root, then components that start with a
// capital letter or a digit.
var beancountAccountRe = regexp.MustCompile(`^(Assets|Liabilities|Equity|Income|Expenses)(:[A-Z0-9][A-Za-z0-9-]*)+$`)

func TestBeancountAccountNames(t *testing.T) {
	for _, c := range []struct {
		code string
		kind ledger.Kind
		want string
	}{
		{ledger.Suspense, ledger.Expense, "Expenses:Suspense:Uncategorized"},
		{ledger.OpeningEquity, ledger.Equity, "Equity:Opening-Balances"},
		{"Bank:BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99vp", ledger.Asset, "Assets:Bank:BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99vp"},
		{"Bank:vzeNDwK7KQIm4yEog683uElbp9GRLEFXGK98D", ledger.Liability, "Liabilities:Bank:VzeNDwK7KQIm4yEog683uElbp9GRLEFXGK98D"},
		{"Bank:acct_eur_9", ledger.Asset, "Assets:Bank:Acct-5Feur-5F9"},
		{"Bank:-x", ledger.Asset, "Assets:Bank:X-x"},
		{"Bank:ünï", ledger.Asset, "Assets:Bank:X-C3-BCn-C3-AF"},
		{"Bank:", ledger.Asset, "Assets:Bank:X"},
		{"Bank:a b", ledger.Liability, "Liabilities:Bank:A-20b"},
	} {
		got := books.BeancountAccount(c.code, c.kind)
		if got != c.want {
			t.Errorf("BeancountAccount(%q, %s) = %q, want %q", c.code, c.kind, got, c.want)
		}
		if !beancountAccountRe.MatchString(got) {
			t.Errorf("%q is not a beancount account name", got)
		}
	}
}

// Two Plaid ids that differ only in the case of their first letter would
// share one beancount name: the export refuses rather than merge them.
func TestExportRefusesNamesThatCollide(t *testing.T) {
	w := fixture(t)
	ctx := context.Background()
	if err := w.st.Exec(ctx, `INSERT INTO ledger_accounts(business_id, code, kind, currency) VALUES ('biz-books', 'Bank:Acct-checking-0001', 'asset', 'USD')`); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	err := books.WriteEntries(ctx, w.st, books.EntriesOptions{Filter: store.JournalFilter{BusinessID: "biz-books"}, Format: books.Beancount}, &b)
	if err == nil || !strings.Contains(err.Error(), "would both be Assets:Bank:Acct-checking-0001") {
		t.Fatalf("export of colliding names: %v", err)
	}
}

// A kept balance that drifts from the journal's lines shows in the trial
// balance as UNBALANCED (an error), and the export's balance assertion
// makes bean-check fail: neither check passes by construction.
func TestDriftIsCaught(t *testing.T) {
	w := fixture(t)
	ctx := context.Background()
	if err := w.st.Exec(ctx, `UPDATE ledger_balances SET amount = amount + 1 WHERE ledger_account_id =
		(SELECT id FROM ledger_accounts WHERE code = 'Bank:acct-checking-0001')`); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	err := books.WriteTrialTable(ctx, w.st, "biz-books", &b)
	if !errors.Is(err, books.ErrUnbalanced) || !strings.Contains(b.String(), "USD  0.01  UNBALANCED") {
		t.Fatalf("drifted trial balance: %v\n%s", err, b.String())
	}
	beanCheck := testtools.BeanCheck(t)
	path := filepath.Join(t.TempDir(), "drift.beancount")
	b.Reset()
	if err := books.WriteEntries(ctx, w.st, books.EntriesOptions{Filter: store.JournalFilter{BusinessID: "biz-books"}, Format: books.Beancount}, &b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(beanCheck, path).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Balance failed") {
		t.Fatalf("bean-check accepted a drifted balance: %v\n%s", err, out)
	}
}
