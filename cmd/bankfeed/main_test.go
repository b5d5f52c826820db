package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"bankfeed/plaidfake"
)

// TestMain lets the test binary run as bankfeed itself, so signal tests
// can send real signals to a real process.
func TestMain(m *testing.M) {
	if os.Getenv("BANKFEED_TEST_MAIN") == "1" {
		os.Args = append([]string{"bankfeed"}, strings.Fields(os.Getenv("BANKFEED_TEST_ARGS"))...)
		main()
		return
	}
	os.Exit(m.Run())
}

type result struct {
	stdout, stderr string
	code           int
	err            error
}

// bf runs bankfeed in-process with exactly the given environment.
func bf(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
	if err != nil {
		errb.WriteString("bankfeed: " + oneLine(err) + "\n")
	}
	return result{out.String(), errb.String(), exitCode(err), err}
}

// world starts a Plaid-compatible server with a checking account, a card
// and a token whose login needs repair, and returns an environment for it.
func world(t *testing.T) (map[string]string, *plaidfake.Server, map[string]string) {
	t.Helper()
	srv := plaidfake.New(plaidfake.WithCredentials("client-id-1", "plaid-secret-value-XYZ"))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	chk, ctok := srv.AddAccount(plaidfake.Account{ID: "acc_checking", Name: "Checking", Mask: "0001", Type: "depository", Subtype: "checking", Opening: "1000.00"})
	srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "200.00", Date: "2026-10-02", Name: "Rent"})
	srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "-50.00", Date: "2026-10-03", Name: "Refund"})
	card, ktok := srv.AddAccount(plaidfake.Account{ID: "acc_card", Name: "Card", Mask: "4242", Type: "credit", Subtype: "credit card", Opening: "150.00"})
	srv.AddTxn(plaidfake.Txn{AccountID: card, Amount: "400.00", Date: "2026-10-04", Name: "Laptop"})
	srv.AddTxn(plaidfake.Txn{AccountID: card, Amount: "-250.00", Date: "2026-10-05", Name: "Payment"})
	_, btok := srv.AddAccount(plaidfake.Account{ID: "acc_broken", Type: "depository", Subtype: "savings", Opening: "5.00"})
	srv.SetItemError(btok, "ITEM_LOGIN_REQUIRED")
	dir := t.TempDir()
	env := map[string]string{
		"BANKFEED_DB": filepath.Join(dir, "bankfeed.db"), "PLAID_BASE_URL": hs.URL, "PLAID_CLIENT_ID": "client-id-1",
		"PLAID_SECRET": "plaid-secret-value-XYZ", "BANKFEED_REPORT_DIR": filepath.Join(dir, "reports"),
		"BANKFEED_TOKEN_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "BANKFEED_RETRY_MAX": "2",
	}
	return env, srv, map[string]string{"checking": ctok, "card": ktok, "broken": btok}
}

func TestRunOnceSyncsAndFlags(t *testing.T) {
	env, _, tok := world(t)
	if r := bf(t, env, "business", "put", "biz1", "--processor-token", tok["checking"], "--processor-token", tok["card"], "--processor-token", tok["broken"]); r.code != 0 {
		t.Fatalf("put: %d %s", r.code, r.stderr)
	}
	r := bf(t, env, "--run-once")
	if r.code != 0 {
		t.Fatalf("run-once exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, `"outcome":"flagged"`) || !strings.Contains(r.stdout, `"message":"run finished"`) {
		t.Fatalf("log lacks per-token or summary lines:\n%s", r.stdout)
	}
	r = bf(t, env, "ledger", "balances", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"ledger_balance": "850.00"`) || !strings.Contains(r.stdout, `"ledger_balance": "300.00"`) {
		t.Fatalf("ledger balances: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = bf(t, env, "tokens", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "ITEM_LOGIN_REQUIRED") {
		t.Fatalf("tokens list: %s %s", r.stdout, r.stderr)
	}
	r = bf(t, env, "doctor")
	if r.code != 0 || !strings.Contains(r.stdout, "identical") {
		t.Fatalf("doctor: %d %s %s", r.code, r.stdout, r.stderr)
	}
	dest := filepath.Join(t.TempDir(), "copy.db")
	if r = bf(t, env, "backup", dest); r.code != 0 {
		t.Fatalf("backup: %d %s", r.code, r.stderr)
	}
	copyEnv := map[string]string{"BANKFEED_DB": dest, "BANKFEED_TOKEN_KEY": env["BANKFEED_TOKEN_KEY"]}
	if r = bf(t, copyEnv, "doctor"); r.code != 0 {
		t.Fatalf("doctor on the backup: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

func TestBusinessPutReplaces(t *testing.T) {
	env, _, tok := world(t)
	bf(t, env, "business", "put", "biz1", "--processor-token", tok["checking"], "--processor-token", tok["card"])
	r := bf(t, env, "business", "put", "biz1", "--processor-token", tok["card"])
	if r.code != 0 || !strings.Contains(r.stdout, "1 processor token") {
		t.Fatalf("%d %s %s", r.code, r.stdout, r.stderr)
	}
	r = bf(t, env, "business", "put", "biz1", "--remove-all")
	if r.code != 0 || !strings.Contains(r.stdout, "0 processor token") {
		t.Fatalf("remove all: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = bf(t, env, "business", "put", "biz2", "--processor-token", "processor-production-abc123")
	if r.code != 2 || !strings.Contains(r.stderr, "PLAID_ENV") || strings.Contains(r.stderr, "abc123") {
		t.Fatalf("wrong env token: %d %q", r.code, r.stderr)
	}
}

// TestBadInput: every problem a person can make exits 2 with one line
// naming the setting or flag.
func TestBadInput(t *testing.T) {
	env, _, tok := world(t)
	if r := bf(t, env, "business", "put", "biz0", "--processor-token", tok["checking"]); r.code != 0 {
		t.Fatalf("put: %d %s", r.code, r.stderr)
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range env {
			m[a] = b
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"unknown flag", env, []string{"--frobnicate"}, "frobnicate"},
		{"unknown job", env, []string{"--run-once", "--job", "nonsense"}, "--job"},
		{"job without run-once", env, []string{"--job", "sync"}, "--run-once"},
		{"unknown command", env, []string{"launch"}, "launch"},
		{"bad PLAID_ENV", with("PLAID_ENV", "staging"), []string{"--run-once"}, "PLAID_ENV"},
		{"short token key", with("BANKFEED_TOKEN_KEY", "c2hvcnQ="), []string{"--run-once"}, "BANKFEED_TOKEN_KEY"},
		{"unreadable secret file", func() map[string]string {
			m := with("PLAID_SECRET_FILE", "/nonexistent/secret")
			delete(m, "PLAID_SECRET")
			return m
		}(), []string{"--run-once"}, "PLAID_SECRET_FILE: cannot read"},
		{"bad cron spec", with("BANKFEED_SYNC_SCHEDULE", "every tuesday"), []string{"serve"}, "BANKFEED_SYNC_SCHEDULE"},
		{"bad date", env, []string{"report", "reconcile", "--date", "2026-13-01"}, "--date"},
		{"future date", env, []string{"report", "reconcile", "--date", "2099-01-01"}, "future"},
		{"no stored report", env, []string{"report", "reconcile", "--date", "2020-01-01"}, "2020-01-01"},
		{"backup without dest", env, []string{"backup"}, "DEST"},
		{"put without id", env, []string{"business", "put", "--processor-token", "x"}, "BUSINESS_ID"},
		{"bad config file", env, []string{"--config", "/nonexistent.conf", "--run-once"}, "nonexistent.conf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bf(t, tt.env, tt.args...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2: %s", r.code, r.stderr)
			}
			if strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("want one line naming %q, got %q", tt.want, r.stderr)
			}
		})
	}
	// Several problems at once are all reported.
	r := bf(t, with("PLAID_ENV", "staging"), append([]string{}, "--run-once")...)
	m := with("BANKFEED_CONCURRENCY", "0")
	m["PLAID_ENV"] = "staging"
	r = bf(t, m, "--run-once")
	if !strings.Contains(r.stderr, "PLAID_ENV") || !strings.Contains(r.stderr, "BANKFEED_CONCURRENCY") {
		t.Fatalf("not all problems reported: %q", r.stderr)
	}
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	r := demoAt(t, demoDay, "--dir", dir)
	if r.code != 0 {
		t.Fatalf("demo exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"Business Checking", "needs refresh", "ITEM_LOGIN_REQUIRED", "still gathering its history (not_ready)", "1 not ready", "reports:",
		"Bank Linking page flow", "demo-linked    Plaid Checking"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "reports", "reconciliation-*.html"))
	if len(files) != 1 || filepath.Base(files[0]) != "reconciliation-2026-11-25.html" {
		t.Fatalf("report files: %v, want the demo clock's day", files)
	}
	checkDemoTellsTheTruth(t, r.stdout, dir)
	// A second demo in the same folder would sync the first one's cursors
	// against a new bank: it says so and touches nothing.
	db, _ := os.ReadFile(filepath.Join(dir, "bankfeed.db"))
	r = demoAt(t, demoDay, "--dir", dir)
	if r.code != 2 || !strings.Contains(r.stderr, "already holds the database of an earlier demo") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("second demo: exit %d, stderr %q", r.code, r.stderr)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "bankfeed.db")); !bytes.Equal(db, again) {
		t.Error("the second demo changed the first one's database")
	}
}

// The demo's re-link: the new checking account continues the old one's
// ledger account; accounts list shows the pair, ledger balances one row
// for it, equal to the bank, and everything reconciles.
func TestDemoRelink(t *testing.T) {
	dir := t.TempDir()
	r := demoAt(t, demoDay, "--relink", "--dir", dir)
	if r.code != 0 {
		t.Fatalf("demo exit %d: %s", r.code, r.stderr)
	}
	_, after, ok := strings.Cut(r.stdout, "$ bankfeed accounts list")
	if !ok {
		t.Fatalf("no accounts list after the re-link:\n%s", r.stdout)
	}
	accounts, balances, _ := strings.Cut(after, "$ bankfeed ledger balances")
	for _, want := range []string{"27 transactions the new link delivered again were matched and not posted twice; 1 new posted",
		"reconciliation: 4 ok, 0 timing, 0 break"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Count(accounts, "Business Checking") != 2 || !strings.Contains(accounts, "replaced by ") || !strings.Contains(accounts, "replaces ") {
		t.Errorf("accounts list after the re-link:\n%s", accounts)
	}
	// One row per ledger account: the pair's under the new id, posting
	// the 40 real transactions of the old link and the new deposit once.
	lines := strings.Split(strings.TrimSpace(balances), "\n")
	if len(lines) < 3 || !strings.Contains(lines[1]+lines[2], "171041.72       41") {
		t.Errorf("ledger balances after the re-link:\n%s", balances)
	}
	rep, _ := filepath.Glob(filepath.Join(dir, "reports", "reconciliation-*.html"))
	if len(rep) != 1 {
		t.Fatalf("report files: %v", rep)
	}
	page, _ := os.ReadFile(rep[0])
	if !strings.Contains(string(page), "27 transactions the new link delivered again were matched to the ones already posted") {
		t.Errorf("the HTML report does not say what the re-link did")
	}
}

// TestSIGTERMStopsARun sends SIGTERM to a real bankfeed process that waits
// on a stalled Plaid page: it exits promptly with the interrupted status
// and the next run converges.
func TestSIGTERMStopsARun(t *testing.T) {
	env, srv, tok := world(t)
	bf(t, env, "business", "put", "biz1", "--processor-token", tok["checking"])
	srv.Inject("", plaidfake.Fault{Endpoint: "/processor/transactions/sync", Kind: plaidfake.FaultStall}, 1)
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{"BANKFEED_TEST_MAIN=1", "BANKFEED_TEST_ARGS=--run-once"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for srv.Calls(tok["checking"], "/processor/transactions/sync") == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("took %s to stop", took)
	}
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit %v, want %d; stderr %s", err, exitInterrupted, stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Fatalf("stderr does not say it was interrupted: %q", stderr.String())
	}
	srv.Release()
	if r := bf(t, env, "--run-once"); r.code != 0 {
		t.Fatalf("next run: %d %s", r.code, r.stderr)
	}
	r := bf(t, env, "ledger", "balances", "--json")
	if !strings.Contains(r.stdout, `"ledger_balance": "850.00"`) {
		t.Fatalf("after interrupted run: %s", r.stdout)
	}
}

// TestNoSecretsAnywhere runs every command with known secrets and checks
// that none of them appears in any output, log line or the database file.
func TestNoSecretsAnywhere(t *testing.T) {
	env, _, tok := world(t)
	env["BANKFEED_API_KEYS"] = "api-key-0123456789-secret"
	env["BANKFEED_LOG_LEVEL"] = "debug"
	secrets := []string{tok["checking"], tok["card"], tok["broken"], "plaid-secret-value-XYZ", "api-key-0123456789-secret",
		env["BANKFEED_TOKEN_KEY"]}
	var all strings.Builder
	for _, args := range [][]string{
		{"business", "put", "biz1", "--processor-token", tok["checking"], "--processor-token", tok["card"], "--processor-token", tok["broken"]},
		{"--run-once"}, {"--run-once", "--job", "sync"}, {"tokens", "list"}, {"tokens", "list", "--json"},
		{"accounts", "list"}, {"accounts", "list", "--json"}, {"ledger", "balances", "--json"},
		{"report", "reconcile", "--out", t.TempDir()},
		{"business", "put", "biz2", "--processor-token", tok["card"]}, // conflict: names no token
		{"business", "put", "biz3", "--processor-token", "processor-sandbox-" + strings.Repeat("z", 3)},
	} {
		r := bf(t, env, args...)
		all.WriteString(r.stdout + r.stderr)
	}
	out := all.String()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("a secret ending %q appears in command output", s[len(s)-4:])
		}
	}
	for _, f := range []string{"", "-wal"} {
		b, _ := os.ReadFile(env["BANKFEED_DB"] + f)
		for _, s := range secrets[:3] {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("processor token stored in clear in bankfeed.db%s", f)
			}
		}
	}
}

// Issue 11: a `report reconcile` right after a `--run-once` reconciles
// against the same balance and must not turn its timing into a break; the
// next run's newer balance with the same difference does (exit 3).
func TestReportAfterRunOnceStaysTiming(t *testing.T) {
	env, srv, tok := world(t)
	if r := bf(t, env, "business", "put", "biz1", "--processor-token", tok["checking"], "--processor-token", tok["card"]); r.code != 0 {
		t.Fatalf("put: %d %s", r.code, r.stderr)
	}
	if r := bf(t, env, "--run-once"); r.code != 0 {
		t.Fatalf("first run: exit %d: %s", r.code, r.stderr)
	}
	srv.AdjustBalance("acc_checking", "-1.00")
	if r := bf(t, env, "--run-once"); r.code != 0 {
		t.Fatalf("run with a new difference: exit %d, want 0 (timing): %s", r.code, r.stderr)
	}
	r := bf(t, env, "report", "reconcile")
	if r.code != 0 || !strings.Contains(r.stdout, "1 timing, 0 break") {
		t.Fatalf("report right after the run: exit %d, want 0 and the account still timing:\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := bf(t, env, "--run-once"); r.code != 3 {
		t.Fatalf("next run, a newer balance with the same difference: exit %d, want 3 (break): %s", r.code, r.stderr)
	}
}
