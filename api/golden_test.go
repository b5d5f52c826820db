package api

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGoldenCLIOutputs pins the three list outputs of the contract for a
// fixed world: a checking account and a credit card synced, and a savings
// account whose token Plaid invalidated after its first sync.
func TestGoldenCLIOutputs(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	w := newWorld(t)
	if _, err := st.PutTokens(ctx, "biz-golden", "sandbox",
		[]string{w.tokens[w.checking], w.tokens[w.card], w.tokens[w.savings]}, true); err != nil {
		t.Fatal(err)
	}
	w.sync(t, st)
	probe := fixedNow.Add(6 * time.Hour)
	if err := st.FlagToken(ctx, tokenID(t, st, "biz-golden", w.tokens[w.savings][len(w.tokens[w.savings])-4:]),
		"ITEM_LOGIN_REQUIRED", "req-flag-0001", &probe); err != nil {
		t.Fatal(err)
	}

	tokens, err := ListTokens(ctx, st, "biz-golden", fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := ListAccounts(ctx, st, "biz-golden")
	if err != nil {
		t.Fatal(err)
	}
	balances, err := ListLedgerBalances(ctx, st, "")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "tokens.golden.json", tokens)
	golden(t, "accounts.golden.json", accounts)
	golden(t, "ledger-balances.golden.json", balances)

	// Nothing listed means [], never null: scripts iterate over it.
	empty, err := ListTokens(ctx, st, "no-such-business", fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(empty); string(b) != "[]" {
		t.Errorf("empty list marshals as %s", b)
	}
}

func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./api/ -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./api/ -update rewrites it after a deliberate change)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
