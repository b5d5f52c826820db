package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"bankfeed/testtools"
)

// The inspect and export commands through run(): what they print and
// every way they refuse, with its exit status and one plain line.
func TestBooksCommands(t *testing.T) {
	env, _, tok := world(t)
	if r := bf(t, env, "business", "put", "biz1", "--processor-token", tok["checking"], "--processor-token", tok["card"], "--processor-token", tok["broken"]); r.code != 0 {
		t.Fatalf("put: %d %s", r.code, r.stderr)
	}
	if r := bf(t, env, "business", "put", "biz2"); r.code != 0 {
		t.Fatalf("put biz2: %d %s", r.code, r.stderr)
	}
	if r := bf(t, env, "--run-once"); r.code != 0 {
		t.Fatalf("run-once: %d %s", r.code, r.stderr)
	}
	for _, c := range []struct {
		args   []string
		code   int
		stdout []string // each must appear
		stderr string
	}{
		{args: []string{"ledger", "entries", "--business", "biz1"}, stdout: []string{"opening", "Rent", "Bank:acc_checking", "Suspense:Uncategorized"}},
		{args: []string{"ledger", "entries", "--account", "acc_card", "--csv"}, stdout: []string{"entry_id,kind,date", "Laptop"}},
		{args: []string{"ledger", "entries", "--business", "biz1", "--since", "2026-10-04", "--json"}, stdout: []string{`"transaction_id": "`, `"kind": "txn"`}},
		{args: []string{"ledger", "balances", "--all"}, stdout: []string{"Checking …0001", "Card …4242", "Opening balances", "TOTAL", "USD  0.00"}},
		{args: []string{"ledger", "balances", "--all", "--business", "biz1", "--json"}, stdout: []string{`"ledger_account": "Equity:Opening Balances"`, `"kind": "liability"`}},
		{args: []string{"ledger", "balances"}, stdout: []string{"LEDGER BALANCE", "acc_checking"}},
		{args: []string{"ledger", "export", "--business", "biz1", "--format", "beancount"}, stdout: []string{"open Assets:Bank:Acc-5Fchecking USD", "balance Liabilities:Bank:Acc-5Fcard"}},
		{args: []string{"ledger", "export", "--business", "biz1", "--format", "csv", "--since", "2026-10-03"}, stdout: []string{"Refund"}},
		{args: []string{"ledger", "export", "--business", "biz1", "--format", "json"}, stdout: []string{`"entry_id"`}},
		{args: []string{"runs", "list"}, stdout: []string{"sync", "balances", "reconcile", "OUTCOME"}},

		{args: []string{"ledger", "entries", "--business", "nope"}, code: 2, stderr: `unknown business "nope"`},
		{args: []string{"ledger", "entries", "--account", "nope"}, code: 2, stderr: `unknown account "nope"`},
		{args: []string{"ledger", "entries", "--business", "biz2", "--account", "acc_checking"}, code: 2, stderr: `belongs to business "biz1"`},
		{args: []string{"ledger", "entries", "--since", "2026-13-01"}, code: 2, stderr: "use YYYY-MM-DD"},
		{args: []string{"ledger", "entries", "--json", "--csv"}, code: 2, stderr: "not both"},
		{args: []string{"ledger", "entries", "extra"}, code: 2, stderr: "unexpected argument"},
		{args: []string{"ledger", "export", "--format", "beancount"}, code: 2, stderr: "needs --business"},
		{args: []string{"ledger", "export", "--business", "biz1"}, code: 2, stderr: "use csv, json or beancount"},
		{args: []string{"ledger", "export", "--business", "biz1", "--format", "xml"}, code: 2, stderr: "use csv, json or beancount"},
		{args: []string{"ledger", "export", "--business", "nope", "--format", "csv"}, code: 2, stderr: `unknown business "nope"`},
		{args: []string{"ledger", "balances", "--all", "--business", "nope"}, code: 2, stderr: `unknown business "nope"`},
		{args: []string{"runs", "show"}, code: 2, stderr: "needs a RUN_ID"},
		{args: []string{"runs", "show", "nope"}, code: 2, stderr: `unknown run "nope"`},
		{args: []string{"runs", "list", "extra"}, code: 2, stderr: "unexpected argument"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			r := bf(t, env, c.args...)
			if r.code != c.code {
				t.Fatalf("exit %d, want %d: %s", r.code, c.code, r.stderr)
			}
			for _, want := range c.stdout {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
				}
			}
			if c.code != 0 && (!strings.Contains(r.stderr, c.stderr) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0) {
				t.Errorf("stderr %q, want one line with %q", r.stderr, c.stderr)
			}
		})
	}

	// A run of all is one row per job, newest first, and runs show tells
	// what the sync did: the flagged token by hint, never the token.
	r := bf(t, env, "runs", "list", "--json")
	var runs []struct {
		RunID   string `json:"run_id"`
		Job     string `json:"job"`
		Outcome string `json:"outcome"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil {
		t.Fatalf("runs list --json: %v\n%s", err, r.stdout)
	}
	var got []string
	for _, x := range runs {
		got = append(got, x.Job+"="+x.Outcome)
	}
	if strings.Join(got, " ") != "reconcile=ok balances=ok sync=ok" {
		t.Fatalf("runs: %v", got)
	}
	r = bf(t, env, "runs", "show", runs[2].RunID)
	if r.code != 0 || !strings.Contains(r.stdout, "…"+tok["broken"][len(tok["broken"])-4:]) || !strings.Contains(r.stdout, "ITEM_LOGIN_REQUIRED") {
		t.Fatalf("runs show: %d %s\n%s", r.code, r.stderr, r.stdout)
	}
	for _, secret := range tok {
		if strings.Contains(r.stdout, secret) {
			t.Fatalf("runs show prints a processor token:\n%s", r.stdout)
		}
	}
	r = bf(t, env, "runs", "show", runs[0].RunID, "--json")
	if r.code != 0 || !strings.Contains(r.stdout, "reconciliation-") {
		t.Fatalf("runs show of the reconcile lacks its report files: %d %s\n%s", r.code, r.stderr, r.stdout)
	}
}

// The demo world's books, exported, pass the real bean-check.
func TestDemoExportPassesBeanCheck(t *testing.T) {
	beanCheck := testtools.BeanCheck(t)
	dir := t.TempDir()
	if r := bf(t, map[string]string{}, "demo", "--dir", dir); r.code != 0 {
		t.Fatalf("demo: %d %s", r.code, r.stderr)
	}
	env := map[string]string{"BANKFEED_DB": filepath.Join(dir, "bankfeed.db")}
	for _, biz := range []string{"demo-business", "demo-linked"} {
		r := bf(t, env, "ledger", "export", "--business", biz, "--format", "beancount")
		if r.code != 0 {
			t.Fatalf("export %s: %d %s", biz, r.code, r.stderr)
		}
		path := filepath.Join(dir, biz+".beancount")
		if err := os.WriteFile(path, []byte(r.stdout), 0o600); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r.stdout, " balance ") || !strings.Contains(r.stdout, " open ") {
			t.Errorf("export of %s lacks open directives or balance assertions:\n%s", biz, r.stdout)
		}
		if out, err := exec.Command(beanCheck, path).CombinedOutput(); err != nil {
			t.Fatalf("bean-check %s: %v\n%s", biz, err, out)
		}
	}
}
