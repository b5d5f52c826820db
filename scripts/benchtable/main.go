// Command benchtable turns the output of scripts/bench (go test -bench,
// possibly with -count N) into one table: figure, value, ceiling, ratio,
// target and pass/fail, each number the median of the counts. It exits 1
// when a figure misses its target and 2 when a figure is missing.
//
//	go test -run '^$' -bench . -benchtime 1x -count 3 ./jobs/ | go run ./scripts/benchtable
package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// samples[benchmark][unit] lists the values of every count.
type samples map[string]map[string][]float64

var procSuffix = regexp.MustCompile(`-\d+$`)

func parse(r io.Reader) (samples, error) {
	s := samples{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // a log line that happens to start with the name
		}
		name := procSuffix.ReplaceAllString(f[0], "")
		if s[name] == nil {
			s[name] = map[string][]float64{}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not a number", name, f[i])
			}
			s[name][f[i+1]] = append(s[name][f[i+1]], v)
		}
	}
	return s, sc.Err()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	c := append([]float64(nil), v...)
	sort.Float64s(c)
	if n := len(c); n%2 == 1 {
		return c[n/2]
	} else {
		return (c[n/2-1] + c[n/2]) / 2
	}
}

func (s samples) get(bench, unit string) float64 { return median(s[bench][unit]) }

type row struct {
	figure, unit     string
	value, ceil, rat float64
	target           string
	ok               func(ratio float64) bool // nil: informational
	counts           int
}

func atLeast(x float64) func(float64) bool { return func(r float64) bool { return r >= x } }
func atMost(x float64) func(float64) bool  { return func(r float64) bool { return r <= x } }

func build(s samples) []row {
	const (
		ingest  = "BenchmarkInitialIngest"
		idle    = "BenchmarkIncrementalIdle"
		changes = "BenchmarkIncrementalChanges"
		recon   = "BenchmarkReconcile"
		rss     = "BenchmarkPeakRSS"
		scale   = "BenchmarkIncrementalScaling"
	)
	n := func(b string) int {
		for _, v := range s[b] {
			return len(v)
		}
		return 0
	}
	// Reconcile: the longest history against the shortest, same accounts.
	var recons []string
	for name := range s {
		if strings.HasPrefix(name, recon+"/lines=") {
			recons = append(recons, name)
		}
	}
	sort.Slice(recons, func(i, j int) bool { return linesOf(recons[i]) < linesOf(recons[j]) })
	reconShort, reconLong := recon+"/lines=?", recon+"/lines=?"
	if len(recons) > 0 {
		reconShort, reconLong = recons[0], recons[len(recons)-1]
	}
	rows := []row{
		{figure: "initial ingest, 100k txns (plaid-go + bare insert)", unit: "txn/s", value: s.get(ingest, "txn/s"),
			ceil: s.get(ingest, "ceiling_txn/s"), rat: s.get(ingest, "ratio"), target: ">= 0.5", ok: atLeast(0.5), counts: n(ingest)},
		{figure: "storage per transaction after the 100k ingest (file + WAL, closed)", unit: "bytes/txn", value: s.get(ingest, "bytes/txn"),
			ceil: 1024, rat: s.get(ingest, "bytes/txn") / 1024, target: "<= 1 (1 KB)", ok: atMost(1), counts: n(ingest)},
		{figure: "idle incremental, 10k tokens, 50 ms, 32 workers (32/(0.05*1))", unit: "tokens/s", value: s.get(idle, "tokens/s"),
			ceil: s.get(idle, "ceiling_tokens/s"), rat: s.get(idle, "ratio"), target: ">= 0.8", ok: atLeast(0.8), counts: n(idle)},
		{figure: "idle incremental vs fake server + plaid-go, no DB", unit: "tokens/s", value: s.get(idle, "tokens/s"),
			ceil: s.get(idle, "server_tokens/s"), rat: s.get(idle, "ratio_server"), target: ">= 0.8", ok: atLeast(0.8), counts: n(idle)},
		{figure: "incremental changes, 1k tokens x 20 (same-run fetch + bare insert)", unit: "changes/s", value: s.get(changes, "changes/s"),
			ceil: s.get(changes, "ceiling_changes/s"), rat: s.get(changes, "ratio"), target: "info", counts: n(changes)},
		{figure: "incremental changes vs the ingest ceiling", unit: "changes/s", value: s.get(changes, "changes/s"),
			ceil: s.get(ingest, "ceiling_txn/s"), rat: s.get(changes, "changes/s") / s.get(ingest, "ceiling_txn/s"), target: "info", counts: n(changes)},
		{figure: "reconcile report, 10k accounts, 1M lines (bare GROUP BY)", unit: "s", value: s.get(reconLong, "report_s"),
			ceil: s.get(reconLong, "ceiling_s"), rat: s.get(reconLong, "ratio"), target: "<= 10", ok: atMost(10), counts: n(reconLong)},
		{figure: "reconcile report, 10k accounts, 1M vs 100k lines of history", unit: "s", value: s.get(reconLong, "report_s"),
			ceil: s.get(reconShort, "report_s"), rat: s.get(reconLong, "report_s") / s.get(reconShort, "report_s"), target: "<= 1.3",
			ok: atMost(1.3), counts: min(n(reconLong), n(reconShort))},
		{figure: "peak RSS, ingest of 1M vs 10k txns (child process)", unit: "MiB", value: s.get(rss, "rss_1m_MiB"),
			ceil: s.get(rss, "rss_10k_MiB"), rat: s.get(rss, "ratio"), target: "<= 2", ok: atMost(2), counts: n(rss)},
	}
	// Scaling: each size against the smallest; flat within noise.
	var sizes []string
	for name := range s {
		if strings.HasPrefix(name, scale+"/") {
			sizes = append(sizes, name)
		}
	}
	sort.Slice(sizes, func(i, j int) bool { return sizeOf(sizes[i]) < sizeOf(sizes[j]) })
	for _, name := range sizes {
		base := s.get(sizes[0], "ms/token")
		v := s.get(name, "ms/token")
		rows = append(rows, row{figure: "idle run of 200 tokens, DB of " + strings.TrimPrefix(name, scale+"/txns=") + " txns (vs smallest)",
			unit: "ms/token", value: v, ceil: base, rat: v / base, target: "<= 1.5", ok: atMost(1.5), counts: n(name)})
	}
	if len(sizes) == 0 {
		rows = append(rows, row{figure: "idle run of 200 tokens vs DB size", unit: "ms/token", value: math.NaN(), ceil: math.NaN(),
			rat: math.NaN(), target: "<= 1.5", ok: atMost(1.5)})
	}
	return rows
}

func linesOf(name string) int {
	_, v, _ := strings.Cut(name, "lines=")
	n, _ := strconv.Atoi(v)
	return n
}

func sizeOf(name string) int {
	_, v, _ := strings.Cut(name, "txns=")
	n, _ := strconv.Atoi(v)
	return n
}

func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "missing"
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func main() {
	s, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(2)
	}
	rows := build(s)
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	fmt.Fprintf(w, "| %-68s | %-10s | %10s | %10s | %7s | %7s | %-6s | %s |\n", "figure", "unit", "value", "ceiling", "ratio", "target", "result", "n")
	fmt.Fprintf(w, "|%s|%s|%s|%s|%s|%s|%s|%s|\n", strings.Repeat("-", 70), strings.Repeat("-", 12), strings.Repeat("-", 12),
		strings.Repeat("-", 12), strings.Repeat("-", 9), strings.Repeat("-", 9), strings.Repeat("-", 8), "---")
	status := 0
	for _, r := range rows {
		res := "info"
		switch {
		case math.IsNaN(r.value) || math.IsNaN(r.rat):
			res, status = "MISSING", 2
		case r.ok == nil:
		case r.ok(r.rat):
			res = "pass"
		default:
			res = "FAIL"
			if status == 0 {
				status = 1
			}
		}
		fmt.Fprintf(w, "| %-68s | %-10s | %10s | %10s | %7s | %7s | %-6s | %d |\n", r.figure, r.unit, num(r.value), num(r.ceil), num(r.rat), r.target, res, r.counts)
	}
	w.Flush()
	os.Exit(status)
}
