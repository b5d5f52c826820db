package main

import (
	"database/sql"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"bankfeed/plaidfake"
)

// parseMetrics reads the Prometheus text format with Prometheus's own
// parser, and checks that no label could carry a token: only these label
// names exist, and no value holds a token, its hint or a secret.
func parseMetrics(t *testing.T, body string, env, tok map[string]string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("not Prometheus's text format: %v\n%s", err, body)
	}
	allowed := map[string]bool{"job": true, "outcome": true, "kind": true, "status": true, "endpoint": true}
	for _, secret := range []string{env["PLAID_SECRET"], env["BANKFEED_TOKEN_KEY"], env["PLAID_CLIENT_ID"]} {
		if strings.Contains(body, secret) {
			t.Errorf("metrics carry a secret (%.6s...)", secret)
		}
	}
	for _, tk := range tok {
		if strings.Contains(body, tk) {
			t.Errorf("metrics carry a processor token")
		}
	}
	for name, f := range fams {
		if !strings.HasPrefix(name, "bankfeed_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
			t.Errorf("family %s is not bankfeed's", name)
		}
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if strings.HasPrefix(name, "bankfeed_") && !allowed[l.GetName()] {
					t.Errorf("%s has label %q: tokens must never be a label", name, l.GetName())
				}
				for _, tk := range tok {
					if strings.Contains(l.GetValue(), tk[len(tk)-4:]) {
						t.Errorf("%s{%s=%q} holds a token's hint", name, l.GetName(), l.GetValue())
					}
				}
			}
		}
	}
	return fams
}

// value returns the sample of family name whose labels include want
// (counter, gauge or histogram count), and whether there is one.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func labelValues(fams map[string]*dto.MetricFamily, name, label string) map[string]bool {
	out := map[string]bool{}
	if f := fams[name]; f != nil {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == label {
					out[l.GetValue()] = true
				}
			}
		}
	}
	return out
}

func readMetricsFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("metrics file: %v", err)
	}
	return string(b)
}

// TestRunOnceWritesMetricsFile: --run-once writes BANKFEED_METRICS_FILE on
// a failing run (one token failing, one flagged) and on a clean one, with
// the figures the database and the run's Plaid calls give, and leaves no
// temporary file beside it for node_exporter to trip on.
func TestRunOnceWritesMetricsFile(t *testing.T) {
	env, srv, tok := world(t)
	dir := filepath.Join(t.TempDir(), "textfile")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	env["BANKFEED_METRICS_FILE"] = filepath.Join(dir, "bankfeed.prom")
	if r := bf(t, env, "business", "put", "biz1", "--processor-token", tok["checking"], "--processor-token", tok["card"],
		"--processor-token", tok["broken"]); r.code != 0 {
		t.Fatalf("put: %s", r.stderr)
	}
	srv.Inject(tok["card"], plaidfake.Fault{Kind: plaidfake.FaultPlaidError, Code: "INTERNAL_SERVER_ERROR"}, -1)

	r := bf(t, env, "--run-once")
	if r.code != exitRuntime {
		t.Fatalf("run with a failing token: exit %d, want %d: %s", r.code, exitRuntime, r.stderr)
	}
	fams := parseMetrics(t, readMetricsFile(t, env["BANKFEED_METRICS_FILE"]), env, tok)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"bankfeed_database_up", nil, 1},
		// A failing token stays active.
		{"bankfeed_tokens", map[string]string{"kind": "processor", "status": "active"}, 2},
		{"bankfeed_tokens", map[string]string{"kind": "processor", "status": "needs_refresh"}, 1},
		// One observation per active token.
		{"bankfeed_token_sync_lag_seconds", nil, 2},
		// Every attempt: BANKFEED_RETRY_MAX=2.
		{"bankfeed_plaid_requests_total", map[string]string{"endpoint": "/processor/transactions/sync", "outcome": "INTERNAL_SERVER_ERROR"}, 2},
		{"bankfeed_plaid_requests_total", map[string]string{"endpoint": "/processor/transactions/sync", "outcome": "ITEM_LOGIN_REQUIRED"}, 1},
		{"bankfeed_reconciliation_breaks", nil, 0},
	} {
		if got, ok := value(fams, c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if got, _ := value(fams, "bankfeed_plaid_requests_total", map[string]string{"endpoint": "/processor/transactions/sync", "outcome": "ok"}); got < 1 {
		t.Errorf("no successful sync request counted")
	}
	outcomes := labelValues(fams, "bankfeed_job_runs_total", "outcome")
	if !outcomes["failed"] && !outcomes["partial"] {
		t.Errorf("job runs by outcome %v: the failing run is not counted", outcomes)
	}
	if n, ok := value(fams, "bankfeed_reconciliation_summary", map[string]string{"status": "needs_refresh"}); !ok || n != 1 {
		// As the report's summary: the flagged token counts though it never synced.
		t.Errorf("reconciliation summary needs_refresh = %v (present %v), want 1", n, ok)
	}

	srv.ClearFaults()
	if r := bf(t, env, "--run-once"); r.code != 0 {
		t.Fatalf("clean run: exit %d: %s", r.code, r.stderr)
	}
	fams = parseMetrics(t, readMetricsFile(t, env["BANKFEED_METRICS_FILE"]), env, tok)
	if !labelValues(fams, "bankfeed_job_runs_total", "outcome")["ok"] {
		t.Errorf("the clean run is not counted ok")
	}
	var runs float64
	for _, m := range fams["bankfeed_job_runs_total"].Metric {
		runs += m.Counter.GetValue()
	}
	var timed float64
	for _, m := range fams["bankfeed_job_run_duration_seconds"].Metric {
		timed += float64(m.Histogram.GetSampleCount())
	}
	if runs < 2 || timed != runs {
		t.Errorf("%v runs counted, %v timed: every finished run of both processes must be in both", runs, timed)
	}
	for job := range labelValues(fams, "bankfeed_job_last_success_timestamp_seconds", "job") {
		v, _ := value(fams, "bankfeed_job_last_success_timestamp_seconds", map[string]string{"job": job})
		if d := time.Since(time.Unix(int64(v), 0)); d < 0 || d > time.Minute {
			t.Errorf("last success of %s is %v ago", job, d)
		}
	}
	if len(labelValues(fams, "bankfeed_job_last_success_timestamp_seconds", "job")) == 0 {
		t.Errorf("no last success time after a clean run")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("the textfile folder holds %d entries, want only bankfeed.prom", len(ents))
	}
}

// TestRunOnceMetricsFileFolderMissing: a folder that does not exist is a
// usage error before any work, not a runtime failure after it.
func TestRunOnceMetricsFileFolderMissing(t *testing.T) {
	env, _, _ := world(t)
	env["BANKFEED_METRICS_FILE"] = filepath.Join(t.TempDir(), "nope", "bankfeed.prom")
	r := bf(t, env, "--run-once")
	if r.code != exitUsage || !strings.Contains(r.stderr, "BANKFEED_METRICS_FILE") || !strings.Contains(r.stderr, "does not exist") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(env["BANKFEED_DB"]); err == nil {
		t.Errorf("the run went ahead: the database was created")
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeListensWithoutAPIKeys: serve with no API key still answers
// /healthz, /readyz and /metrics; the business API's routes answer 401 and
// say the API is off; /readyz turns 503 with its reason once the database
// is no longer the one serve can work with.
func TestServeListensWithoutAPIKeys(t *testing.T) {
	env, _, tok := world(t)
	if r := bf(t, env, "business", "put", "biz1", "--processor-token", tok["checking"], "--processor-token", tok["broken"]); r.code != 0 {
		t.Fatalf("put: %s", r.stderr)
	}
	if r := bf(t, env, "--run-once"); r.code != 0 {
		t.Fatalf("run: %s", r.stderr)
	}
	addr := freePort(t)
	env["BANKFEED_LISTEN"] = addr
	cmd, log, done := startServe(t, env)
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done // every line read before the log is looked at
			_ = cmd.Wait()
		}
	}
	defer stop()
	base := "http://" + addr
	if code, body := get(t, base+"/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != 200 || strings.TrimSpace(body) != "ready" {
		t.Errorf("/readyz = %d %q", code, body)
	}
	code, body := get(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d %q", code, body)
	}
	fams := parseMetrics(t, body, env, tok)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"bankfeed_database_up", nil, 1},
		{"bankfeed_tokens", map[string]string{"kind": "processor", "status": "active"}, 1},
		{"bankfeed_tokens", map[string]string{"kind": "processor", "status": "needs_refresh"}, 1},
		{"bankfeed_token_sync_lag_seconds", nil, 1},
		{"bankfeed_reconciliation_breaks", nil, 0},
	} {
		if got, ok := value(fams, c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if !labelValues(fams, "bankfeed_job_runs_total", "outcome")["ok"] || fams["go_goroutines"] == nil {
		t.Errorf("serve's /metrics lacks the run history or the process figures:\n%s", body)
	}
	code, body = get(t, base+"/v1/businesses/biz1")
	if code != http.StatusUnauthorized || !strings.Contains(body, "BANKFEED_API_KEYS") {
		t.Errorf("business API without keys = %d %q, want 401 saying it is off", code, body)
	}

	// Migrations no longer current (another bankfeed rolled the file back).
	db, err := sql.Open("sqlite3", env["BANKFEED_DB"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 3"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "schema version 3") ||
		strings.Count(strings.TrimSpace(body), "\n") != 0 {
		t.Errorf("/readyz on an old schema = %d %q, want 503 with one line", code, body)
	}
	// The file gone.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(env["BANKFEED_DB"] + suffix)
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "does not open") {
		t.Errorf("/readyz without a database = %d %q, want 503", code, body)
	}
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d: the process is still up", code)
	}
	stop()
	if strings.Contains(log.String(), tok["checking"]) {
		t.Errorf("serve logged a token")
	}
}
