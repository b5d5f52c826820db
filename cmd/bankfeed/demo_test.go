package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bankfeed/report"
)

// demoDay is the demo tests' today: a Wednesday, so the pending items'
// business-day ages are the same on every run.
var demoDay = time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)

// demoAt runs `bankfeed demo` in-process on a clock that starts at now
// and moves with the wall clock: the demo's dates are those of now.
func demoAt(t *testing.T, now time.Time, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	start := time.Now()
	a := &app{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		now: func() time.Time { return now.Add(time.Since(start)).UTC() }}
	err := a.dispatch(context.Background(), append([]string{"demo"}, args...))
	if err != nil {
		errb.WriteString("bankfeed: " + oneLine(err) + "\n")
	}
	return result{out.String(), errb.String(), exitCode(err), err}
}

// checkDemoTellsTheTruth: the demo counts the token that needs refresh
// right under the line that shows it, in its output and its report; its
// pending items are days old, not months; and it ends with commands that
// work when pasted.
func checkDemoTellsTheTruth(t *testing.T, stdout, dir string) {
	t.Helper()
	tok, rest, ok := strings.Cut(stdout, " needs refresh (ITEM_LOGIN_REQUIRED)")
	if !ok || !strings.Contains(tok[strings.LastIndex(tok, "\n")+1:], "token …") {
		t.Fatalf("the demo does not show the flagged token:\n%s", stdout)
	}
	for _, want := range []string{"reconciliation: 4 ok, 0 timing, 0 break, 1 needs_refresh\n", "report headline: needs_refresh: 1 token needs refresh"} {
		if !strings.Contains(rest, want) {
			t.Errorf("after the flagged token the demo lacks %q:\n%s", want, stdout)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "reports", "reconciliation-2026-11-25.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc report.Document
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Summary.NeedsRefresh != 1 || len(doc.Tokens) != 1 || doc.Tokens[0].AccountID != nil || doc.Headline.Status != "needs_refresh" {
		t.Errorf("report: summary %+v, tokens %+v, headline %+v", doc.Summary, doc.Tokens, doc.Headline)
	}
	pending := 0
	for _, a := range doc.Accounts {
		for _, p := range a.Pending {
			pending++
			if p.Date < "2026-11-20" || p.Date > "2026-11-25" || p.Aged || p.AgeBusinessDays > 3 {
				t.Errorf("%s: pending %s dated %s, %d business days old: want a few days at most", a.Name, p.Name, p.Date, p.AgeBusinessDays)
			}
		}
	}
	if pending != 3 {
		t.Errorf("%d pending items in the report, want 3", pending)
	}
	db := filepath.Join(dir, "bankfeed.db")
	_, next, ok := strings.Cut(stdout, "\ntry next (build it first: go build -o bankfeed ./cmd/bankfeed; each reads the demo's database):\n")
	if !ok {
		t.Fatalf("the demo does not end with what to try next:\n%s", stdout)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(next), "\n") {
		got = append(got, strings.TrimSpace(l))
	}
	want := []string{"transactions list --business demo-business", "ledger entries --business demo-business", "ledger balances --all",
		"ledger export --business demo-business --format beancount", "runs list",
		"report reconcile --out " + filepath.Join(dir, "reports")}
	if len(got) != len(want) {
		t.Fatalf("try next:\n%s", next)
	}
	for i, w := range want {
		if got[i] != "BANKFEED_DB="+db+" ./bankfeed "+w {
			t.Errorf("try next line %d: %q, want %q", i, got[i], "BANKFEED_DB="+db+" ./bankfeed "+w)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"/tmp/bankfeed-demo-123/bankfeed.db", "/tmp/bankfeed-demo-123/bankfeed.db"},
		{"/Users/Ann Lee/demo/bankfeed.db", "'/Users/Ann Lee/demo/bankfeed.db'"},
		{"/tmp/it's/x", `'/tmp/it'\''s/x'`}, {"$HOME/x", "'$HOME/x'"}, {"", "''"},
	} {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("shellQuote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
