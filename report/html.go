package report

import (
	"bytes"
	"html/template"
	"strconv"
	"strings"

	"bankfeed/ledger"
)

// HTML renders the report as one self-contained page: inline CSS, inline
// SVG charts, no scripts and nothing fetched from anywhere. Every text is
// escaped by html/template for its context.
func HTML(r Report) ([]byte, error) {
	v := htmlView{Report: r}
	for _, a := range r.Accounts {
		v.Rows = append(v.Rows, accountView{Account: a, Chart: chartOf(a)})
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type htmlView struct {
	Report
	Rows []accountView
}

type accountView struct {
	Account
	Chart *chart
}

// chart is an inline SVG line chart of reported vs ledger balance.
type chart struct {
	W, H     int
	Reported string // polyline points
	Ledger   string
	Misses   []xy // reported points that differ from the ledger
	Min, Max string
	N        int
}

type xy struct{ X, Y string }

const (
	chartW   = 240
	chartH   = 64
	chartPad = 5
)

func chartOf(a Account) *chart {
	if len(a.Chart) == 0 {
		return nil
	}
	c, err := ledger.Resolve(a.Currency)
	if err != nil {
		return nil
	}
	type pt struct {
		ledger, rep  int64
		hasRep, miss bool
	}
	pts := make([]pt, 0, len(a.Chart))
	first := true
	var lo, hi int64
	see := func(n int64) {
		if first || n < lo {
			lo = n
		}
		if first || n > hi {
			hi = n
		}
		first = false
	}
	for _, p := range a.Chart {
		l, err := parseAmount(p.Ledger, c)
		if err != nil {
			return nil
		}
		see(l)
		q := pt{ledger: l, miss: p.Mismatch()}
		if p.Reported != nil {
			n, err := parseAmount(*p.Reported, c)
			if err != nil {
				return nil
			}
			see(n)
			q.rep, q.hasRep = n, true
		}
		pts = append(pts, q)
	}
	// Coordinates are drawing positions, not money: float is fine here.
	span := float64(hi - lo)
	if span == 0 {
		span = 1
	}
	x := func(i int) float64 {
		if len(pts) == 1 {
			return chartW / 2
		}
		return chartPad + float64(i)*float64(chartW-2*chartPad)/float64(len(pts)-1)
	}
	y := func(n int64) float64 {
		if hi == lo {
			return chartH / 2
		}
		return chartPad + float64(hi-n)/span*float64(chartH-2*chartPad)
	}
	ch := &chart{W: chartW, H: chartH, Min: ledger.Format(lo, c), Max: ledger.Format(hi, c), N: len(pts)}
	// Both polylines are built in one buffer, ledger first: a few thousand
	// bytes an account, appended rather than joined from small strings.
	buf := make([]byte, 0, len(pts)*2*12)
	for i, p := range pts {
		if i > 0 {
			buf = append(buf, ' ')
		}
		buf = appendXY(buf, x(i), y(p.ledger))
	}
	led := len(buf)
	for i, p := range pts {
		if !p.hasRep {
			continue
		}
		if len(buf) > led {
			buf = append(buf, ' ')
		}
		buf = appendXY(buf, x(i), y(p.rep))
		if p.miss {
			ch.Misses = append(ch.Misses, xy{coord(x(i)), coord(y(p.rep))})
		}
	}
	all := string(buf)
	ch.Ledger, ch.Reported = all[:led], all[led:]
	return ch
}

func appendXY(buf []byte, x, y float64) []byte {
	buf = strconv.AppendFloat(buf, x, 'f', 1, 64)
	buf = append(buf, ',')
	return strconv.AppendFloat(buf, y, 'f', 1, 64)
}

func coord(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"deref": deref,
	"def": func(s *string, alt string) string {
		if s == nil {
			return alt
		}
		return *s
	},
	"nonzero": func(s string) bool { return strings.ContainsAny(s, "123456789") },
}).Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Reconciliation {{.Date}}</title>
<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:24px;color:#1d2433;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.meta{color:#5b6478;margin-bottom:16px}
table{border-collapse:collapse;width:100%;margin-bottom:8px}
th,td{border-bottom:1px solid #e3e6ec;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f5f6f8;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px;color:#fff}
.st-ok{background:#1f8a4c}.st-timing{background:#c98a00}.st-break{background:#c62828}
.st-stale{background:#6b7280}.st-no_anchor{background:#3f6fb5}.st-needs_refresh{background:#7b3fb5}
tr.row-break td{background:#fdecec}tr.row-timing td{background:#fff7e0}
.invalid{border:2px solid #c62828;background:#fdecec;padding:8px 12px;margin:12px 0}
.valid{border:1px solid #1f8a4c;background:#eaf6ee;padding:8px 12px;margin:12px 0}
svg .ledger{fill:none;stroke:#3f6fb5;stroke-width:1.5}
svg .reported{fill:none;stroke:#1d2433;stroke-width:1;stroke-dasharray:3 2}
svg .miss{fill:#c62828}
svg{background:#fafbfc;border:1px solid #e3e6ec}
.legend{font-size:11px;color:#5b6478}
details{margin:4px 0}summary{cursor:pointer;color:#3f6fb5}
.bad{color:#c62828;font-weight:600}.small{font-size:12px;color:#5b6478}
</style>
</head>
<body>
<h1>Reconciliation {{.Date}}</h1>
<div class="meta">Generated {{.GeneratedAt}} · run {{.RunID}} · {{.Summary.Accounts}} accounts:
{{.Summary.OK}} ok, {{.Summary.Timing}} timing, {{.Summary.Break}} break, {{.Summary.Stale}} stale, {{.Summary.NoAnchor}} no anchor, {{.Summary.NeedsRefresh}} needs refresh</div>
{{if .Valid}}<div class="valid">Ledger checks passed: every currency balances and every anchored account has exactly one live opening entry.</div>
{{else}}<div class="invalid"><strong>This report is invalid.</strong><ul>{{range .Problems}}<li>{{.}}</li>{{end}}</ul></div>
{{end}}
<h2>Totals per currency</h2>
<table>
<tr><th>Currency</th><th>Kind</th><th class="num">Accounts</th><th class="num">Ledger</th><th class="num">Reported</th><th class="num">Difference</th><th class="num">Pending</th></tr>
{{range .Totals}}<tr><td>{{.Currency}}</td><td>{{.Kind}}</td><td class="num">{{.Accounts}}</td><td class="num">{{.LedgerBalance}}</td><td class="num">{{.ReportedCurrent}}</td><td class="num">{{.Difference}}</td><td class="num">{{.PendingTotal}}</td></tr>
{{end}}</table>

<h2>Accounts</h2>
<table>
<tr><th>Status</th><th>Business</th><th>Account</th><th>Currency</th><th class="num">Opening</th><th class="num">Ledger</th><th class="num">Reported</th><th class="num">Difference</th><th class="num">Pending</th><th>Reported vs ledger</th></tr>
{{range .Rows}}<tr class="row-{{.Status}}">
<td><span class="badge st-{{.Status}}">{{.Status}}</span>{{if .TokenReason}}<div class="small">{{deref .TokenReason}}</div>{{end}}</td>
<td>{{.BusinessID}}</td>
<td>{{.Name}}{{if .Mask}} ••{{.Mask}}{{end}}<div class="small">{{.AccountID}}</div></td>
<td>{{.Currency}}</td>
<td class="num">{{.OpeningBalance}}</td>
<td class="num">{{.LedgerBalance}}</td>
<td class="num">{{def .ReportedCurrent "—"}}{{if .ReportedAt}}<div class="small">{{deref .ReportedAt}}</div>{{end}}</td>
<td class="num">{{with .Difference}}<span{{if nonzero (deref .)}} class="bad"{{end}}>{{deref .}}</span>{{else}}—{{end}}</td>
<td class="num">{{.PendingTotal}}<div class="small">{{.PendingCount}} item(s)</div></td>
<td>{{with .Chart}}<svg width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}" role="img" aria-label="reported and ledger balance, last {{.N}} runs">
<polyline class="ledger" points="{{.Ledger}}"/>{{if .Reported}}<polyline class="reported" points="{{.Reported}}"/>{{end}}
{{range .Misses}}<circle class="miss" cx="{{.X}}" cy="{{.Y}}" r="3"/>{{end}}</svg>
<div class="legend">solid: ledger · dashed: reported · red: mismatch · range {{.Min}} to {{.Max}}</div>{{end}}</td>
</tr>
{{if or .Candidates .Pending}}<tr class="row-detail"><td></td><td colspan="9">
{{if .Candidates}}<details{{if ne (print .Status) "ok"}} open{{end}}><summary>{{len .Candidates}} candidate(s) recorded since {{def .CandidatesSince "the anchor"}}{{with .DifferenceSince}} · difference since {{deref .}}{{end}}</summary>
<table><tr><th>Recorded</th><th>Source</th><th>Date</th><th>Description</th><th>Merchant</th><th class="num">Effect</th><th>Entry / transaction</th><th>Flags</th></tr>
{{range .Candidates}}<tr><td>{{.RecordedAt}}</td><td>{{.Source}}</td><td>{{.Date}}</td><td>{{.Name}}</td><td>{{.MerchantName}}</td><td class="num">{{.Amount}}</td><td class="small">{{.EntryID}} {{.TransactionID}}</td><td>{{.EntryKind}}{{if .Pending}} pending{{end}}{{if .Removed}} removed{{end}}</td></tr>
{{end}}</table></details>{{end}}
{{if .Pending}}<details><summary>{{len .Pending}} pending item(s)</summary>
<table><tr><th>Date</th><th>Description</th><th>Merchant</th><th class="num">Amount</th><th class="num">Business days</th><th>Flags</th></tr>
{{range .Pending}}<tr><td>{{.Date}}</td><td>{{.Name}}</td><td>{{.MerchantName}}</td><td class="num">{{.Amount}}</td><td class="num">{{.AgeBusinessDays}}</td><td>{{if .Anomaly}}<span class="bad">anomaly</span>{{else if .Aged}}aged{{end}}</td></tr>
{{end}}</table></details>{{end}}
</td></tr>
{{end}}{{end}}</table>

<h2>Vanished holds</h2>
{{if .VanishedHolds}}<table><tr><th>Business</th><th>Account</th><th>Date</th><th>Description</th><th>Merchant</th><th class="num">Amount</th><th>Removed</th></tr>
{{range .VanishedHolds}}<tr><td>{{.BusinessID}}</td><td>{{.AccountID}}</td><td>{{.Date}}</td><td>{{.Name}}</td><td>{{.MerchantName}}</td><td class="num">{{.Amount}} {{.Currency}}</td><td>{{.RemovedAt}}</td></tr>
{{end}}</table>{{else}}<p class="small">None.</p>{{end}}

<h2>Suspense (uncategorised)</h2>
{{if .Suspense}}<table><tr><th>Business</th><th>Currency</th><th class="num">Total</th><th class="num">Entries</th><th>Oldest</th><th class="num">Oldest age (business days)</th></tr>
{{range .Suspense}}<tr><td>{{.BusinessID}}</td><td>{{.Currency}}</td><td class="num">{{.Total}}</td><td class="num">{{.Entries}}</td><td>{{.OldestDate}}</td><td class="num">{{.OldestAgeBusinessDays}}</td></tr>
{{end}}</table>{{else}}<p class="small">None.</p>{{end}}

<h2>Ledger checks</h2>
<table><tr><th>Currency</th><th class="num">Journal lines</th><th class="num">Debits − credits</th><th>Result</th></tr>
{{range .TrialBalance}}<tr><td>{{.Currency}}</td><td class="num">{{.Lines}}</td><td class="num">{{.Sum}}</td><td>{{if .OK}}balances{{else}}<span class="bad">does not balance</span>{{end}}</td></tr>
{{end}}</table>
<table><tr><th>Business</th><th>Account</th><th class="num">Opening version</th><th class="num">Live openings</th><th class="num">Versions posted</th><th>Result</th></tr>
{{range .OpeningChecks}}<tr><td>{{.BusinessID}}</td><td>{{.AccountID}}</td><td class="num">{{.Version}}</td><td class="num">{{.Live}}</td><td class="num">{{.Versions}}</td><td>{{if .OK}}one live opening{{else}}<span class="bad">expected exactly one live opening</span>{{end}}</td></tr>
{{end}}</table>
</body>
</html>
`
