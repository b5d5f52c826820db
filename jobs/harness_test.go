package jobs_test

import (
	"context"
	"io"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"bankfeed/jobs"
	"bankfeed/ledger"
	"bankfeed/plaidapi"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// env is one bankfeed against one Plaid-compatible server: the real
// plaid-go client over loopback HTTP and a real SQLite file.
type env struct {
	t      *testing.T
	srv    *plaidfake.Server
	http   *httptest.Server
	store  *store.Store
	runner *jobs.Runner
	now    time.Time
}

func newEnv(t *testing.T, opts ...plaidfake.Option) *env {
	t.Helper()
	srv := plaidfake.New(append([]plaidfake.Option{plaidfake.WithCredentials("cid", "sec")}, opts...)...)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "bankfeed.db"), testKey, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, srv: srv, http: hs, store: st, now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	// What the store records follows the test's clock too.
	st.Now = func() time.Time { return e.now }
	client := plaidapi.New(plaidapi.Config{BaseURL: hs.URL, ClientID: "cid", Secret: "sec", Timeout: 5 * time.Second,
		RetryMax: 4, Sleep: func(context.Context, time.Duration) error { return nil }})
	e.runner = &jobs.Runner{Store: st, Plaid: client, Log: zerolog.New(io.Discard), Concurrency: 4, PageSize: 7,
		ProbeInterval: 6 * time.Hour, Now: func() time.Time { return e.now }}
	return e
}

func (e *env) put(business string, tokens ...string) {
	e.t.Helper()
	if _, err := e.store.PutTokens(context.Background(), business, "sandbox", tokens, true); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) run(job string) jobs.Summary {
	e.t.Helper()
	sum, err := e.runner.Run(context.Background(), job)
	if err != nil {
		e.t.Fatalf("run %s: %v", job, err)
	}
	return sum
}

func (e *env) balances() map[string]store.LedgerBalance {
	e.t.Helper()
	bs, err := e.store.LedgerBalances(context.Background(), "")
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]store.LedgerBalance{}
	for _, b := range bs {
		out[b.PlaidAccountID] = b
	}
	return out
}

// checkExact asserts the ledger's invariants and that every listed
// account's ledger balance equals what the server reports, to the minor unit.
func (e *env) checkExact(accountIDs ...string) {
	e.t.Helper()
	ctx := context.Background()
	tb, err := e.store.TrialBalance(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for cur, sum := range tb {
		if sum != 0 {
			e.t.Errorf("trial balance in %s off by %d", cur, sum)
		}
	}
	entries, err := e.store.Journal(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, err := range ledger.CheckJournal(entries) {
		e.t.Errorf("journal: %v", err)
	}
	// No transaction may have two live entries.
	live := map[string]int{}
	reversed := map[string]bool{}
	for _, en := range entries {
		if en.Kind == ledger.KindReversal {
			reversed[en.Reverses] = true
		}
	}
	for _, en := range entries {
		if en.Kind == ledger.KindTxn && !reversed[en.ID] {
			live[en.TransactionID]++
		}
	}
	for id, n := range live {
		if n > 1 {
			e.t.Errorf("transaction %s has %d live entries", id, n)
		}
	}
	bal := e.balances()
	for _, id := range accountIDs {
		b, ok := bal[id]
		if !ok {
			e.t.Errorf("account %s has no ledger balance", id)
			continue
		}
		cur := b.Cur()
		want, err := ledger.ParseAmount(e.srv.Current(id), cur)
		if err != nil {
			e.t.Fatal(err)
		}
		if b.Balance != want {
			e.t.Errorf("account %s: ledger %s, server current %s", id, ledger.Format(b.Balance, cur), e.srv.Current(id))
		}
		posted := 0
		for _, tx := range e.srv.Txns(id) {
			if !tx.Pending {
				posted++
			}
		}
		if b.PostedCount != posted {
			e.t.Errorf("account %s: posted count %d, server has %d posted", id, b.PostedCount, posted)
		}
	}
}
