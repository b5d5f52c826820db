package metrics_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"bankfeed/metrics"
	"bankfeed/store"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"), key, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func gather(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

func labels(m *dto.Metric) string {
	s := ""
	for _, l := range m.Label {
		s += fmt.Sprintf("%s=%s,", l.GetName(), l.GetValue())
	}
	return s
}

// TestRunsCountedOnceAcrossScrapes: the run history is followed
// incrementally; scraping again never counts a run twice, a run read while
// going is counted when it finishes, and concurrent scrapes agree.
func TestRunsCountedOnceAcrossScrapes(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	m := metrics.New(st, nil, zerolog.Nop())
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.StartRun(ctx, "a", "sync"))
	must(st.FinishRun(ctx, "a", "ok", nil, "", store.RunDetail{}))
	must(st.StartRun(ctx, "b", "sync"))
	runs := func() map[string]float64 {
		out := map[string]float64{}
		if f := gather(t, m)["bankfeed_job_runs_total"]; f != nil {
			for _, mm := range f.Metric {
				out[labels(mm)] = mm.Counter.GetValue()
			}
		}
		return out
	}
	for range 3 {
		if got := runs(); len(got) != 1 || got["job=sync,outcome=ok,"] != 1 {
			t.Fatalf("runs = %v, want the one finished run once", got)
		}
	}
	must(st.FinishRun(ctx, "b", "partial", nil, "a token failed", store.RunDetail{}))
	must(st.StartRun(ctx, "c", "reconcile"))
	must(st.FinishRun(ctx, "c", "failed", nil, "boom", store.RunDetail{}))
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); gather(t, m) }()
	}
	wg.Wait()
	want := map[string]float64{"job=sync,outcome=ok,": 1, "job=sync,outcome=partial,": 1, "job=reconcile,outcome=failed,": 1}
	got := runs()
	if len(got) != len(want) {
		t.Fatalf("runs = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("runs[%s] = %v, want %v", k, got[k], v)
		}
	}
	f := gather(t, m)["bankfeed_job_run_duration_seconds"]
	var timed uint64
	for _, mm := range f.Metric {
		timed += mm.Histogram.GetSampleCount()
	}
	if timed != 3 {
		t.Errorf("%d runs timed, want 3", timed)
	}
	last := gather(t, m)["bankfeed_job_last_success_timestamp_seconds"]
	if len(last.Metric) != 1 || labels(last.Metric[0]) != "job=sync," {
		t.Errorf("last success for %v: only sync ever ended ok", last.Metric)
	}
}

// TestSyncLagBuckets: the lag is measured by the injected clock from the
// token's last successful sync, or from when it was added; flagged tokens
// are counted by status, not in the lag.
func TestSyncLagBuckets(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	toks := []string{"processor-sandbox-11111111-aaaa", "processor-sandbox-22222222-bbbb", "processor-sandbox-33333333-cccc"}
	if _, err := st.PutTokens(ctx, "biz1", "sandbox", toks, true); err != nil {
		t.Fatal(err)
	}
	listed, err := st.Tokens(ctx, store.TokenFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.FlagToken(ctx, listed[2].ID, "ITEM_LOGIN_REQUIRED", "req-1", nil); err != nil {
		t.Fatal(err)
	}
	// Two hours on: both active tokens, never synced, wait since they were
	// added: above 1 h, at most 4 h.
	now := func() time.Time { return time.Now().Add(2 * time.Hour) }
	fams := gather(t, metrics.New(st, now, zerolog.Nop()))
	h := fams["bankfeed_token_sync_lag_seconds"].Metric[0].Histogram
	if h.GetSampleCount() != 2 {
		t.Fatalf("lag count = %d, want the 2 active tokens", h.GetSampleCount())
	}
	for _, b := range h.Bucket {
		want := uint64(0)
		if b.GetUpperBound() >= 4*3600 {
			want = 2
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("lag bucket le=%v holds %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
	byStatus := map[string]float64{}
	for _, mm := range fams["bankfeed_tokens"].Metric {
		byStatus[labels(mm)] = mm.Gauge.GetValue()
	}
	if byStatus["kind=processor,status=active,"] != 2 || byStatus["kind=processor,status=needs_refresh,"] != 1 {
		t.Errorf("tokens = %v", byStatus)
	}
	if up := fams["bankfeed_database_up"].Metric[0].Gauge.GetValue(); up != 1 {
		t.Errorf("database_up = %v", up)
	}
}

// TestDatabaseDown: when the database cannot be read, the scrape still
// answers, says so, and keeps the in-process figures.
func TestDatabaseDown(t *testing.T) {
	st := openStore(t)
	m := metrics.New(st, nil, zerolog.Nop())
	m.PlaidCall("/processor/transactions/sync", "ok")
	st.Close()
	fams := gather(t, m)
	if up := fams["bankfeed_database_up"].Metric[0].Gauge.GetValue(); up != 0 {
		t.Errorf("database_up = %v after the database closed", up)
	}
	if f := fams["bankfeed_plaid_requests_total"]; f == nil || f.Metric[0].Counter.GetValue() != 1 {
		t.Errorf("the Plaid call count is lost: %v", f)
	}
}
