package jobs_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"bankfeed/jobs"
	"bankfeed/plaidapi"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

var long = flag.Bool("long", false, "run the load test")

// Sizes of TestLoadWithFaults.
const (
	loadTokens      = 2000
	loadBusinesses  = 20
	loadTxns        = 5 // per account; Seed marks none of 5 pending
	loadLatency     = 20 * time.Millisecond
	loadFaultRate   = 0.05
	loadConcurrency = 32
	loadRetryMax    = 8
	loadSeed        = 20261126
)

// TestLoadWithFaults runs `all` over 2,000 tokens against a Plaid that is
// slow (20 ms a call) and unreliable (5% of calls a random 429 or 500),
// with the client's real backoff (250 ms base, full jitter, capped), and
// asserts that every token converges and the ledger is exact. A second
// round, after new activity on 10% of the accounts, must not need much
// more memory than the first. Only with -long.
func TestLoadWithFaults(t *testing.T) {
	if !*long {
		t.Skip("load test: run with -long")
	}
	e := newEnv(t, plaidfake.WithLatency(loadLatency))
	// The product's retry loop as configured in production, with its real
	// sleeps: Sleep is left nil so that backoff waits happen in wall time.
	e.runner.Plaid = plaidapi.New(plaidapi.Config{BaseURL: e.http.URL, ClientID: "cid", Secret: "sec",
		Timeout: 10 * time.Second, RetryMax: loadRetryMax})
	e.runner.Concurrency = loadConcurrency
	e.runner.PageSize = 500

	toks := e.srv.Seed(loadTokens, loadTxns, loadSeed)
	per := loadTokens / loadBusinesses
	for i := 0; i < len(toks); i += per {
		e.put(fmt.Sprintf("load-biz-%02d", i/per), toks[i:min(i+per, len(toks))]...)
	}
	e.srv.SetTransientRate(loadFaultRate, loadSeed)

	// Bounded: a hung run fails the test instead of the package timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 110*time.Second)
	defer cancel()

	r1 := e.loadRound(ctx, "round 1", 0)
	accounts := e.loadAccounts()
	e.checkExact(accounts...)

	// New activity on every tenth account: two posted purchases and a
	// refund, and one pending hold.
	changed := 0
	for i := 0; i < len(accounts); i += 10 {
		id := accounts[i]
		e.srv.AddTxn(plaidfake.Txn{AccountID: id, Amount: "12.34", Date: "2026-01-05", Name: "Load round 2"})
		e.srv.AddTxn(plaidfake.Txn{AccountID: id, Amount: strconv.Itoa(i%997) + ".07", Date: "2026-01-06", Name: "Load round 2"})
		e.srv.AddTxn(plaidfake.Txn{AccountID: id, Amount: "-5.01", Date: "2026-01-06", Name: "Load refund"})
		e.srv.AddTxn(plaidfake.Txn{AccountID: id, Amount: "40.00", Date: "2026-01-07", Name: "Load hold", Pending: true})
		changed++
	}
	r2 := e.loadRound(ctx, "round 2", r1.calls)
	e.checkExact(accounts...)
	added := 0
	for _, res := range r2.sum.Results {
		added += res.Applied.Added
	}
	if want := changed * 4; added != want {
		t.Errorf("round 2 added %d transactions, want %d", added, want)
	}

	t.Logf("memory: round 1 peak heap in use %s (VmRSS %s), round 2 %s (VmRSS %s), ratio %.2f",
		mib(r1.mem.peakHeap), mib(r1.mem.peakRSS), mib(r2.mem.peakHeap), mib(r2.mem.peakRSS),
		float64(r2.mem.peakHeap)/float64(r1.mem.peakHeap))
	if float64(r2.mem.peakHeap) > 1.5*float64(r1.mem.peakHeap) {
		t.Errorf("peak heap grew from %s in round 1 to %s in round 2 (more than 1.5x)", mib(r1.mem.peakHeap), mib(r2.mem.peakHeap))
	}
}

type loadResult struct {
	sum   jobs.Summary
	calls int
	mem   memPeak
}

// loadRound runs `all` once while sampling memory, checks that every token
// converged, and logs the figures. callsBefore is the server's call count
// before the round.
func (e *env) loadRound(ctx context.Context, name string, callsBefore int) loadResult {
	e.t.Helper()
	runtime.GC()
	stop := sampleMemory(100 * time.Millisecond)
	start := time.Now()
	sum, err := e.runner.Run(ctx, "all")
	wall := time.Since(start)
	mem := stop()
	if err != nil {
		e.t.Fatalf("%s: %v", name, err)
	}
	calls := e.srv.TotalCalls() - callsBefore
	// One sync page and one balance call per token; every call beyond
	// that was a transient fault the client retried.
	clean := 2 * loadTokens
	e.t.Logf("%s: %d tokens in %s (%.0f tokens/s); %d calls for %d tokens x 2, so %d transient faults injected (%.1f%%); peak heap in use %s, peak VmRSS %s (%d samples)",
		name, sum.Tokens, wall.Round(time.Millisecond), float64(sum.Tokens)/wall.Seconds(), calls, loadTokens, calls-clean,
		100*float64(calls-clean)/float64(calls), mib(mem.peakHeap), mib(mem.peakRSS), mem.samples)
	if sum.Tokens != loadTokens || sum.Counts["synced"] != loadTokens || len(sum.Results) != loadTokens {
		e.t.Fatalf("%s: %d tokens, %d results, counts %v; want all %d synced", name, sum.Tokens, len(sum.Results), sum.Counts, loadTokens)
	}
	for _, res := range sum.Results {
		if res.Outcome != "synced" || res.Err != nil || res.Pages != 1 || res.LoopRestarts != 0 || !res.Snapshot {
			e.t.Fatalf("%s: token %d: outcome %s, pages %d, restarts %d, snapshot %v, err %v",
				name, res.TokenID, res.Outcome, res.Pages, res.LoopRestarts, res.Snapshot, res.Err)
		}
	}
	if calls <= clean {
		e.t.Errorf("%s: %d calls for %d tokens: no transient fault was injected", name, calls, loadTokens)
	}
	return loadResult{sum: sum, calls: e.srv.TotalCalls(), mem: mem}
}

// loadAccounts returns every token's Plaid account id in token order,
// failing unless every token is active and names its own account.
func (e *env) loadAccounts() []string {
	e.t.Helper()
	toks, err := e.store.Tokens(context.Background(), store.TokenFilter{IncludeRemoved: true})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(toks) != loadTokens {
		e.t.Fatalf("%d tokens in the store, want %d", len(toks), loadTokens)
	}
	seen := map[string]bool{}
	ids := make([]string, 0, len(toks))
	for _, tk := range toks {
		if tk.Status != store.StatusActive || tk.PlaidAccountID == "" || tk.Cursor == "" || seen[tk.PlaidAccountID] {
			e.t.Fatalf("token %d: status %s, account %q, cursor set %v, account seen before %v",
				tk.ID, tk.Status, tk.PlaidAccountID, tk.Cursor != "", seen[tk.PlaidAccountID])
		}
		seen[tk.PlaidAccountID] = true
		ids = append(ids, tk.PlaidAccountID)
	}
	if n := len(e.balances()); n != loadTokens {
		e.t.Fatalf("%d accounts in the ledger, want %d", n, loadTokens)
	}
	return ids
}

// memPeak is the highest memory seen while sampling.
type memPeak struct {
	peakHeap uint64 // runtime.MemStats.HeapInuse
	peakRSS  uint64 // VmRSS; 0 where /proc is missing
	samples  int
}

// sampleMemory samples the heap in use and the resident set every period
// until the returned stop is called, which takes a last sample and returns
// the peaks.
func sampleMemory(period time.Duration) (stop func() memPeak) {
	var (
		mu   sync.Mutex
		peak memPeak
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		rss := vmRSS()
		mu.Lock()
		peak.peakHeap = max(peak.peakHeap, ms.HeapInuse)
		peak.peakRSS = max(peak.peakRSS, rss)
		peak.samples++
		mu.Unlock()
	}
	sample()
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	return func() memPeak {
		close(done)
		wg.Wait()
		sample()
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// vmRSS reads the resident set size from /proc/self/status, in bytes.
func vmRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
