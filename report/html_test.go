package report

import (
	"bytes"
	"html/template"
	"math/rand/v2"
	"strings"
	"testing"

	"bankfeed/ledger"
)

// referenceHTML is the page as html/template renders it: the layout and
// the escaping HTML must reproduce byte for byte.
func referenceHTML(t *testing.T, r Report) []byte {
	t.Helper()
	v := htmlView{Report: r}
	for _, a := range r.Accounts {
		v.Rows = append(v.Rows, accountView{Account: a, Chart: chartOf(a, r.Currencies)})
	}
	var buf bytes.Buffer
	if err := referencePage.Execute(&buf, v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type htmlView struct {
	Report
	Rows []accountView
}

type accountView struct {
	Account
	Chart *chart
}

// randomReport fills every part of a report with random values, hostile
// text included.
func randomReport(rng *rand.Rand) Report {
	hostile := []string{"", "a", "<", ">", "&", "\"", "'", "+", "\x00", "\xff", "\xe2\x80", "\u2028", "\ufdd0", "\uffff", "\ufffd", "é", "•",
		"<script>alert(1)</script>", "=HYPERLINK(\"x\")", "-1", "0.00", "12.50", "{{.Date}}", "&amp;", "\t\r\n", "javascript:x", "</td>"}
	text := func() string {
		var b strings.Builder
		for range rng.IntN(4) {
			b.WriteString(hostile[rng.IntN(len(hostile))])
		}
		return b.String()
	}
	ptr := func() *string {
		if rng.IntN(3) == 0 {
			return nil
		}
		s := text()
		if rng.IntN(2) == 0 {
			s = []string{"0.00", "12.34", "-5.00", "1200"}[rng.IntN(4)]
		}
		return &s
	}
	amount := func() string {
		if rng.IntN(5) == 0 {
			return text()
		}
		return ledger.Format(rng.Int64N(2_000_000)-1_000_000, ledger.Currency{Exponent: 2})
	}
	statuses := []ledger.Status{ledger.StatusOK, ledger.StatusTiming, ledger.StatusBreak, ledger.StatusStale, ledger.StatusNoAnchor,
		ledger.StatusNeedsRefresh, "<odd>"}
	r := Report{Date: text(), GeneratedAt: text(), RunID: text(), Valid: rng.IntN(2) == 0, Currencies: testCurrencies,
		Summary: Summary{Accounts: rng.IntN(9), OK: rng.IntN(9), Timing: rng.IntN(9), Break: rng.IntN(9), Stale: rng.IntN(9),
			NoAnchor: rng.IntN(9), NeedsRefresh: rng.IntN(9)}}
	for range rng.IntN(3) {
		r.Problems = append(r.Problems, text())
	}
	for range rng.IntN(3) {
		r.Totals = append(r.Totals, Total{Currency: text(), Kind: text(), Accounts: rng.IntN(99), LedgerBalance: amount(),
			ReportedCurrent: amount(), Difference: amount(), PendingTotal: amount()})
	}
	for range rng.IntN(6) {
		a := Account{BusinessID: text(), AccountID: text(), Currency: []string{"USD", "JPY", "BTC", "XXX", text()}[rng.IntN(5)],
			OpeningBalance: amount(), LedgerBalance: amount(), ReportedCurrent: ptr(), Difference: ptr(), PendingTotal: amount(),
			Status: statuses[rng.IntN(len(statuses))], Name: text(), Mask: text(), Kind: text(), TokenStatus: text(),
			TokenReason: ptr(), ReportedAt: ptr(), DifferenceSince: ptr(), CandidatesSince: ptr(), PendingCount: rng.IntN(5) - 1}
		for range rng.IntN(3) {
			a.Candidates = append(a.Candidates, Candidate{Source: text(), EntryID: text(), EntryKind: text(), TransactionID: text(),
				Date: text(), Name: text(), MerchantName: text(), Amount: amount(), Pending: rng.IntN(2) == 0,
				Removed: rng.IntN(2) == 0, RecordedAt: text()})
		}
		for range rng.IntN(3) {
			a.Pending = append(a.Pending, Pending{TransactionID: text(), Date: text(), Name: text(), MerchantName: text(),
				Amount: amount(), AgeBusinessDays: rng.IntN(30), Aged: rng.IntN(2) == 0, Anomaly: rng.IntN(2) == 0})
		}
		for range rng.IntN(32) {
			p := Point{Date: text(), GeneratedAt: text(), Ledger: amount(), Status: text()}
			if rng.IntN(4) > 0 {
				s := amount()
				if rng.IntN(2) == 0 {
					s = p.Ledger
				}
				p.Reported = &s
			}
			a.Chart = append(a.Chart, p)
		}
		r.Accounts = append(r.Accounts, a)
	}
	for range rng.IntN(3) {
		r.VanishedHolds = append(r.VanishedHolds, Hold{BusinessID: text(), AccountID: text(), TransactionID: text(), Date: text(),
			Name: text(), MerchantName: text(), Amount: amount(), Currency: text(), RemovedAt: text()})
	}
	for range rng.IntN(3) {
		r.Suspense = append(r.Suspense, Suspense{BusinessID: text(), Currency: text(), Total: amount(), Entries: rng.IntN(99),
			OldestDate: text(), OldestAgeBusinessDays: rng.IntN(99)})
	}
	for range rng.IntN(3) {
		r.TrialBalance = append(r.TrialBalance, TrialBalance{Currency: text(), Lines: rng.IntN(99), Sum: amount(), OK: rng.IntN(2) == 0})
	}
	for range rng.IntN(3) {
		r.OpeningChecks = append(r.OpeningChecks, OpeningCheck{BusinessID: text(), AccountID: text(), Version: rng.IntN(4),
			Live: rng.IntN(3), Versions: rng.IntN(4), LiveEntryID: text(), OK: rng.IntN(2) == 0})
	}
	return r
}

func TestHTMLMatchesTemplate(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for n := range 300 {
		r := randomReport(rng)
		got, err := HTML(r)
		if err != nil {
			t.Fatal(err)
		}
		if want := referenceHTML(t, r); !bytes.Equal(got, want) {
			t.Fatalf("report %d: HTML differs from the template\n%s", n, firstDifference(got, want))
		}
	}
	s := sample()
	if got, want := mustHTML(t, s), referenceHTML(t, s); !bytes.Equal(got, want) {
		t.Fatalf("sample: HTML differs from the template\n%s", firstDifference(got, want))
	}
}

func mustHTML(t *testing.T, r Report) []byte {
	t.Helper()
	b, err := HTML(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func firstDifference(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(0, i-80)
	return "got:  " + string(got[from:min(len(got), i+80)]) + "\nwant: " + string(want[from:min(len(want), i+80)])
}

var referencePage = template.Must(template.New("report").Funcs(template.FuncMap{
	"deref": deref,
	"def": func(s *string, alt string) string {
		if s == nil {
			return alt
		}
		return *s
	},
	"nonzero": func(s string) bool { return strings.ContainsAny(s, "123456789") },
}).Parse(referencePageHTML))

const referencePageHTML = `<!DOCTYPE html>
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
