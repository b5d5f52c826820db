package books

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"

	"bankfeed/ledger"
	"bankfeed/store"
)

// BeancountAccount names a ledger account for beancount: a root by kind
// (Assets, Liabilities, Equity, Expenses) and components that start with
// a capital letter or digit and hold letters, digits and dashes. A bank
// account keeps its Plaid id (first letter capitalised, any other
// character as -XX hex), so the name never changes when the bank renames
// the account; the name and mask go into the open directive's metadata.
func BeancountAccount(code string, kind ledger.Kind) string {
	switch code {
	case ledger.Suspense:
		return "Expenses:Suspense:Uncategorized"
	case ledger.OpeningEquity:
		return "Equity:Opening-Balances"
	}
	root := map[ledger.Kind]string{ledger.Asset: "Assets", ledger.Liability: "Liabilities", ledger.Equity: "Equity", ledger.Expense: "Expenses"}[kind]
	if root == "" {
		root = "Assets"
	}
	parts := strings.Split(code, ":")
	for i, p := range parts {
		parts[i] = component(p)
	}
	return root + ":" + strings.Join(parts, ":")
}

func component(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-'):
			if i == 0 && unicode.IsLower(r) {
				r = unicode.ToUpper(r)
			}
			if i == 0 && r == '-' {
				b.WriteString("X")
			}
			b.WriteRune(r)
		default:
			if i == 0 {
				b.WriteString("X")
			}
			for _, c := range []byte(string(r)) {
				fmt.Fprintf(&b, "-%02X", c)
			}
		}
	}
	if b.Len() == 0 {
		return "X"
	}
	return b.String()
}

// beancountCurrency is beancount's syntax for a commodity.
var beancountCurrency = regexp.MustCompile(`^[A-Z][A-Z0-9'._-]{0,22}[A-Z0-9]$`)

// quote writes s as a beancount string on one line.
func quote(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' || r == 0 {
			return ' '
		}
		return r
	}, s)
	s = strings.ReplaceAll(s, `\`, `\\`)
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

func dayBefore(d string) (string, error) {
	t, err := time.Parse("2006-01-02", d)
	if err != nil {
		return "", err
	}
	return t.AddDate(0, 0, -1).Format("2006-01-02"), nil
}

// WriteBeancount writes one business's books as a beancount file that
// bean-check accepts: an open directive per ledger account, one
// transaction per journal entry (reversals are their own transactions and
// name what they reverse), and at the end a balance assertion per ledger
// account carrying the balance bankfeed keeps beside the journal
// (ledger_balances), so bean-check itself proves the exported entries add
// up to the books. With f.Since, the history before it is carried as one
// balancing transaction the day before, so that the file still checks and
// the balances still match. Everything is read in one snapshot.
func WriteBeancount(ctx context.Context, st *store.Store, f store.JournalFilter, out io.Writer) error {
	if f.BusinessID == "" || f.Book != 0 {
		return fmt.Errorf("a beancount export is of one whole business")
	}
	w := bufio.NewWriter(out)
	err := st.Read(ctx, func(r *store.ReadTx) error {
		accts, err := r.LedgerAccounts(f.BusinessID)
		if err != nil {
			return err
		}
		names, err := beancountNames(accts)
		if err != nil {
			return err
		}
		carried, err := r.Carried(f)
		if err != nil {
			return err
		}
		open, err := r.FirstEntryDate(f)
		if err != nil {
			return err
		}
		if f.Since != "" {
			if open, err = dayBefore(f.Since); err != nil {
				return fmt.Errorf("--since %q: %w", f.Since, err)
			}
		}
		fmt.Fprintf(w, "; bankfeed ledger export of business %s (beancount)\n", strings.ReplaceAll(f.BusinessID, "\n", " "))
		fmt.Fprintf(w, "option \"title\" %s\n\n", quote("bankfeed "+f.BusinessID))
		if open == "" {
			return nil // no entries: nothing to open
		}
		if err := writeOpens(w, accts, names, open); err != nil {
			return err
		}
		last := open
		if len(carried) > 0 {
			fmt.Fprintf(w, "%s * %s\n  kind: \"carried\"\n", open, quote("Balances carried from before "+f.Since))
			n := 0
			for _, c := range carried {
				if c.Amount == 0 {
					continue
				}
				n++
				fmt.Fprintf(w, "  %s  %s %s\n", names[c.Code+"\x00"+c.Currency], ledger.Format(c.Amount, c.Cur()), c.Currency)
			}
			if n == 0 {
				fmt.Fprintf(w, "  ; every balance was zero\n")
			}
			fmt.Fprintln(w)
		}
		err = r.EachEntry(f, func(e store.JournalEntry) error {
			last = e.Date
			return writeBeancountEntry(w, e, names)
		})
		if err != nil {
			return err
		}
		// Balance assertions hold at the start of their day.
		t, err := time.Parse("2006-01-02", last)
		if err != nil {
			return err
		}
		at := t.AddDate(0, 0, 1).Format("2006-01-02")
		// Tolerance zero: beancount's inferred one would let a cent slip.
		fmt.Fprintf(w, "; the balances bankfeed keeps beside the journal, exact\n")
		for _, b := range accts {
			fmt.Fprintf(w, "%s balance %s  %s ~ %s %s\n", at, names[b.Code+"\x00"+b.Currency], ledger.Format(b.Sum, b.Cur()),
				ledger.Format(0, b.Cur()), b.Currency)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return w.Flush()
}

// beancountNames maps each ledger account (code and currency) to its
// beancount name, refusing a currency beancount cannot spell and two codes
// that would share one name.
func beancountNames(accts []store.LedgerAccountBalance) (map[string]string, error) {
	names := map[string]string{}
	owner := map[string]string{}
	for _, b := range accts {
		if !beancountCurrency.MatchString(b.Currency) {
			return nil, fmt.Errorf("currency %q of %s cannot be written in beancount (it allows A-Z, digits and ' . _ -)", b.Currency, b.Code)
		}
		n := BeancountAccount(b.Code, b.Kind)
		if o, ok := owner[n]; ok && o != b.Code {
			return nil, fmt.Errorf("ledger accounts %s and %s would both be %s in beancount", o, b.Code, n)
		}
		owner[n] = b.Code
		names[b.Code+"\x00"+b.Currency] = n
	}
	return names, nil
}

func writeOpens(w io.Writer, accts []store.LedgerAccountBalance, names map[string]string, date string) error {
	type acct struct {
		b    store.LedgerAccountBalance
		curs []string
	}
	byName := map[string]*acct{}
	var order []string
	for _, b := range accts {
		n := names[b.Code+"\x00"+b.Currency]
		if byName[n] == nil {
			byName[n] = &acct{b: b}
			order = append(order, n)
		}
		byName[n].curs = append(byName[n].curs, b.Currency)
	}
	sort.Strings(order)
	for _, n := range order {
		a := byName[n]
		sort.Strings(a.curs)
		fmt.Fprintf(w, "%s open %s %s\n  name: %s\n  ledger_account: %s\n", date, n, strings.Join(a.curs, ","), quote(accountName(a.b)), quote(a.b.Code))
		if a.b.PlaidAccountID != "" {
			fmt.Fprintf(w, "  plaid_account_id: %s\n", quote(a.b.PlaidAccountID))
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}

func writeBeancountEntry(w io.Writer, e store.JournalEntry, names map[string]string) error {
	var narration string
	switch e.Kind {
	case ledger.KindOpening:
		narration = "Opening balance"
	case ledger.KindReversal:
		narration = "Reversal of " + e.Reverses
		if e.Name != "" {
			narration += ": " + e.Name
		}
	default:
		narration = e.Name
		if narration == "" {
			narration = "Transaction " + e.TransactionID
		}
	}
	fmt.Fprintf(w, "%s * %s\n  entry_id: %s\n  kind: %s\n", e.Date, quote(narration), quote(e.ID), quote(string(e.Kind)))
	if e.TransactionID != "" {
		fmt.Fprintf(w, "  plaid_transaction_id: %s\n", quote(e.TransactionID))
	}
	if e.PlaidAccountID != "" {
		fmt.Fprintf(w, "  plaid_account_id: %s\n", quote(e.PlaidAccountID))
	}
	if e.Reverses != "" {
		fmt.Fprintf(w, "  reverses: %s\n", quote(e.Reverses))
	}
	for _, l := range e.Lines {
		n, ok := names[l.Code+"\x00"+l.Currency]
		if !ok {
			return fmt.Errorf("entry %s: ledger account %s (%s) is not among the business's ledger accounts", e.ID, l.Code, l.Currency)
		}
		fmt.Fprintf(w, "  %s  %s %s\n", n, ledger.Format(l.Amount, l.Cur()), l.Currency)
	}
	_, err := fmt.Fprintln(w)
	return err
}
