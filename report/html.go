package report

import (
	"strconv"
	"strings"

	"bankfeed/ledger"
)

// HTML renders the report as one self-contained page: inline CSS, inline
// SVG charts, no scripts and nothing fetched from anywhere.
//
// The page is written by hand rather than by html/template, which spent
// most of a 10,000-account report in reflection. The layout is
// html/template's, kept as a template in html_test.go, and every value is
// escaped exactly as html/template escapes it in its context (esc): a test
// renders random reports, hostile text included, both ways and wants the
// same bytes.
func HTML(r Report) ([]byte, error) {
	w := &htmlWriter{b: make([]byte, 0, 64<<10+len(r.Accounts)*2048), curs: r.Currencies}
	w.raw(pageHead)
	w.esc(r.Date)
	w.raw(pageStyle)
	w.esc(r.Date)
	w.raw("</h1>\n<div class=\"meta\">Generated ")
	w.esc(r.GeneratedAt)
	w.raw(" · run ")
	w.esc(r.RunID)
	w.raw(" · ")
	w.int(r.Summary.Accounts)
	w.raw(" accounts:\n")
	w.int(r.Summary.OK)
	w.raw(" ok, ")
	w.int(r.Summary.Timing)
	w.raw(" timing, ")
	w.int(r.Summary.Break)
	w.raw(" break, ")
	w.int(r.Summary.Stale)
	w.raw(" stale, ")
	w.int(r.Summary.NoAnchor)
	w.raw(" no anchor, ")
	w.int(r.Summary.NeedsRefresh)
	w.raw(" needs refresh</div>\n")
	if r.Valid {
		w.raw("<div class=\"valid\">Ledger checks passed: every currency balances and every anchored account has exactly one live opening entry.</div>\n")
	} else {
		w.raw("<div class=\"invalid\"><strong>This report is invalid.</strong><ul>")
		for _, p := range r.Problems {
			w.raw("<li>")
			w.esc(p)
			w.raw("</li>")
		}
		w.raw("</ul></div>\n")
	}
	w.raw("\n<h2>Totals per currency</h2>\n<table>\n" +
		"<tr><th>Currency</th><th>Kind</th><th class=\"num\">Accounts</th><th class=\"num\">Ledger</th><th class=\"num\">Reported</th><th class=\"num\">Difference</th><th class=\"num\">Pending</th></tr>\n")
	for _, t := range r.Totals {
		w.raw("<tr><td>")
		w.esc(t.Currency)
		w.raw("</td><td>")
		w.esc(t.Kind)
		w.raw("</td><td class=\"num\">")
		w.int(t.Accounts)
		w.raw("</td><td class=\"num\">")
		w.esc(t.LedgerBalance)
		w.raw("</td><td class=\"num\">")
		w.esc(t.ReportedCurrent)
		w.raw("</td><td class=\"num\">")
		w.esc(t.Difference)
		w.raw("</td><td class=\"num\">")
		w.esc(t.PendingTotal)
		w.raw("</td></tr>\n")
	}
	w.raw("</table>\n\n<h2>Accounts</h2>\n<table>\n" +
		"<tr><th>Status</th><th>Business</th><th>Account</th><th>Currency</th><th class=\"num\">Opening</th><th class=\"num\">Ledger</th><th class=\"num\">Reported</th><th class=\"num\">Difference</th><th class=\"num\">Pending</th><th>Reported vs ledger</th></tr>\n")
	for _, a := range r.Accounts {
		w.account(a)
	}
	w.raw("</table>\n\n<h2>Vanished holds</h2>\n")
	if len(r.VanishedHolds) > 0 {
		w.raw("<table><tr><th>Business</th><th>Account</th><th>Date</th><th>Description</th><th>Merchant</th><th class=\"num\">Amount</th><th>Removed</th></tr>\n")
		for _, h := range r.VanishedHolds {
			w.raw("<tr><td>")
			w.esc(h.BusinessID)
			w.raw("</td><td>")
			w.esc(h.AccountID)
			w.raw("</td><td>")
			w.esc(h.Date)
			w.raw("</td><td>")
			w.esc(h.Name)
			w.raw("</td><td>")
			w.esc(h.MerchantName)
			w.raw("</td><td class=\"num\">")
			w.esc(h.Amount)
			w.raw(" ")
			w.esc(h.Currency)
			w.raw("</td><td>")
			w.esc(h.RemovedAt)
			w.raw("</td></tr>\n")
		}
		w.raw("</table>")
	} else {
		w.raw("<p class=\"small\">None.</p>")
	}
	w.raw("\n\n<h2>Suspense (uncategorised)</h2>\n")
	if len(r.Suspense) > 0 {
		w.raw("<table><tr><th>Business</th><th>Currency</th><th class=\"num\">Total</th><th class=\"num\">Entries</th><th>Oldest</th><th class=\"num\">Oldest age (business days)</th></tr>\n")
		for _, s := range r.Suspense {
			w.raw("<tr><td>")
			w.esc(s.BusinessID)
			w.raw("</td><td>")
			w.esc(s.Currency)
			w.raw("</td><td class=\"num\">")
			w.esc(s.Total)
			w.raw("</td><td class=\"num\">")
			w.int(s.Entries)
			w.raw("</td><td>")
			w.esc(s.OldestDate)
			w.raw("</td><td class=\"num\">")
			w.int(s.OldestAgeBusinessDays)
			w.raw("</td></tr>\n")
		}
		w.raw("</table>")
	} else {
		w.raw("<p class=\"small\">None.</p>")
	}
	w.raw("\n\n<h2>Ledger checks</h2>\n" +
		"<table><tr><th>Currency</th><th class=\"num\">Journal lines</th><th class=\"num\">Debits − credits</th><th>Result</th></tr>\n")
	for _, t := range r.TrialBalance {
		w.raw("<tr><td>")
		w.esc(t.Currency)
		w.raw("</td><td class=\"num\">")
		w.int(t.Lines)
		w.raw("</td><td class=\"num\">")
		w.esc(t.Sum)
		w.raw("</td><td>")
		if t.OK {
			w.raw("balances")
		} else {
			w.raw("<span class=\"bad\">does not balance</span>")
		}
		w.raw("</td></tr>\n")
	}
	w.raw("</table>\n" +
		"<table><tr><th>Business</th><th>Account</th><th class=\"num\">Opening version</th><th class=\"num\">Live openings</th><th class=\"num\">Versions posted</th><th>Result</th></tr>\n")
	for _, c := range r.OpeningChecks {
		w.raw("<tr><td>")
		w.esc(c.BusinessID)
		w.raw("</td><td>")
		w.esc(c.AccountID)
		w.raw("</td><td class=\"num\">")
		w.int(c.Version)
		w.raw("</td><td class=\"num\">")
		w.int(c.Live)
		w.raw("</td><td class=\"num\">")
		w.int(c.Versions)
		w.raw("</td><td>")
		if c.OK {
			w.raw("one live opening")
		} else {
			w.raw("<span class=\"bad\">expected exactly one live opening</span>")
		}
		w.raw("</td></tr>\n")
	}
	w.raw("</table>\n</body>\n</html>\n")
	return w.b, nil
}

// account writes one account's row, and its detail row when it has
// candidates or pending items.
func (w *htmlWriter) account(a Account) {
	st := string(a.Status)
	w.raw("<tr class=\"row-")
	w.esc(st)
	w.raw("\">\n<td><span class=\"badge st-")
	w.esc(st)
	w.raw("\">")
	w.esc(st)
	w.raw("</span>")
	if a.TokenReason != nil {
		w.raw("<div class=\"small\">")
		w.esc(*a.TokenReason)
		w.raw("</div>")
	}
	w.raw("</td>\n<td>")
	w.esc(a.BusinessID)
	w.raw("</td>\n<td>")
	w.esc(a.Name)
	if a.Mask != "" {
		w.raw(" ••")
		w.esc(a.Mask)
	}
	w.raw("<div class=\"small\">")
	w.esc(a.AccountID)
	w.raw("</div></td>\n<td>")
	w.esc(a.Currency)
	w.raw("</td>\n<td class=\"num\">")
	w.esc(a.OpeningBalance)
	w.raw("</td>\n<td class=\"num\">")
	w.esc(a.LedgerBalance)
	w.raw("</td>\n<td class=\"num\">")
	if a.ReportedCurrent != nil {
		w.esc(*a.ReportedCurrent)
	} else {
		w.raw("—")
	}
	if a.ReportedAt != nil {
		w.raw("<div class=\"small\">")
		w.esc(*a.ReportedAt)
		w.raw("</div>")
	}
	w.raw("</td>\n<td class=\"num\">")
	if a.Difference != nil {
		w.raw("<span")
		if nonzero(*a.Difference) {
			w.raw(" class=\"bad\"")
		}
		w.raw(">")
		w.esc(*a.Difference)
		w.raw("</span>")
	} else {
		w.raw("—")
	}
	w.raw("</td>\n<td class=\"num\">")
	w.esc(a.PendingTotal)
	w.raw("<div class=\"small\">")
	w.int(a.PendingCount)
	w.raw(" item(s)</div></td>\n<td>")
	if c := chartOf(a, w.curs); c != nil {
		w.raw("<svg width=\"")
		w.int(c.W)
		w.raw("\" height=\"")
		w.int(c.H)
		w.raw("\" viewBox=\"0 0 ")
		w.int(c.W)
		w.raw(" ")
		w.int(c.H)
		w.raw("\" role=\"img\" aria-label=\"reported and ledger balance, last ")
		w.int(c.N)
		w.raw(" runs\">\n<polyline class=\"ledger\" points=\"")
		w.esc(c.Ledger)
		w.raw("\"/>")
		if c.Reported != "" {
			w.raw("<polyline class=\"reported\" points=\"")
			w.esc(c.Reported)
			w.raw("\"/>")
		}
		w.raw("\n")
		for _, m := range c.Misses {
			w.raw("<circle class=\"miss\" cx=\"")
			w.esc(m.X)
			w.raw("\" cy=\"")
			w.esc(m.Y)
			w.raw("\" r=\"3\"/>")
		}
		w.raw("</svg>\n<div class=\"legend\">solid: ledger · dashed: reported · red: mismatch · range ")
		w.esc(c.Min)
		w.raw(" to ")
		w.esc(c.Max)
		w.raw("</div>")
	}
	w.raw("</td>\n</tr>\n")
	if len(a.Candidates) == 0 && len(a.Pending) == 0 {
		return
	}
	w.raw("<tr class=\"row-detail\"><td></td><td colspan=\"9\">\n")
	if len(a.Candidates) > 0 {
		w.raw("<details")
		if st != "ok" {
			w.raw(" open")
		}
		w.raw("><summary>")
		w.int(len(a.Candidates))
		w.raw(" candidate(s) recorded since ")
		if a.CandidatesSince != nil {
			w.esc(*a.CandidatesSince)
		} else {
			w.raw("the anchor")
		}
		if a.DifferenceSince != nil {
			w.raw(" · difference since ")
			w.esc(*a.DifferenceSince)
		}
		w.raw("</summary>\n<table><tr><th>Recorded</th><th>Source</th><th>Date</th><th>Description</th><th>Merchant</th><th class=\"num\">Effect</th><th>Entry / transaction</th><th>Flags</th></tr>\n")
		for _, c := range a.Candidates {
			w.raw("<tr><td>")
			w.esc(c.RecordedAt)
			w.raw("</td><td>")
			w.esc(c.Source)
			w.raw("</td><td>")
			w.esc(c.Date)
			w.raw("</td><td>")
			w.esc(c.Name)
			w.raw("</td><td>")
			w.esc(c.MerchantName)
			w.raw("</td><td class=\"num\">")
			w.esc(c.Amount)
			w.raw("</td><td class=\"small\">")
			w.esc(c.EntryID)
			w.raw(" ")
			w.esc(c.TransactionID)
			w.raw("</td><td>")
			w.esc(c.EntryKind)
			if c.Pending {
				w.raw(" pending")
			}
			if c.Removed {
				w.raw(" removed")
			}
			w.raw("</td></tr>\n")
		}
		w.raw("</table></details>")
	}
	w.raw("\n")
	if len(a.Pending) > 0 {
		w.raw("<details><summary>")
		w.int(len(a.Pending))
		w.raw(" pending item(s)</summary>\n<table><tr><th>Date</th><th>Description</th><th>Merchant</th><th class=\"num\">Amount</th><th class=\"num\">Business days</th><th>Flags</th></tr>\n")
		for _, p := range a.Pending {
			w.raw("<tr><td>")
			w.esc(p.Date)
			w.raw("</td><td>")
			w.esc(p.Name)
			w.raw("</td><td>")
			w.esc(p.MerchantName)
			w.raw("</td><td class=\"num\">")
			w.esc(p.Amount)
			w.raw("</td><td class=\"num\">")
			w.int(p.AgeBusinessDays)
			w.raw("</td><td>")
			if p.Anomaly {
				w.raw("<span class=\"bad\">anomaly</span>")
			} else if p.Aged {
				w.raw("aged")
			}
			w.raw("</td></tr>\n")
		}
		w.raw("</table></details>")
	}
	w.raw("\n</td></tr>\n")
}

func nonzero(s string) bool { return strings.ContainsAny(s, "123456789") }

// htmlWriter appends the page to one buffer.
type htmlWriter struct {
	b    []byte
	curs ledger.Currencies
}

func (w *htmlWriter) raw(s string) { w.b = append(w.b, s...) }

func (w *htmlWriter) int(n int) { w.b = strconv.AppendInt(w.b, int64(n), 10) }

// esc writes s as html/template writes a string in element text, in
// RCDATA (the title) and in a quoted attribute: the same seven bytes are
// replaced in all three. Bytes of UTF-8 sequences, valid or not, are never
// among them, and html/template leaves the rest as they are.
func (w *htmlWriter) esc(s string) {
	start := 0
	for i := 0; i < len(s); i++ {
		var repl string
		switch s[i] {
		case 0:
			repl = "\uFFFD"
		case '"':
			repl = "&#34;"
		case '&':
			repl = "&amp;"
		case '\'':
			repl = "&#39;"
		case '+':
			repl = "&#43;"
		case '<':
			repl = "&lt;"
		case '>':
			repl = "&gt;"
		default:
			continue
		}
		w.b = append(w.b, s[start:i]...)
		w.b = append(w.b, repl...)
		start = i + 1
	}
	w.b = append(w.b, s[start:]...)
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

func chartOf(a Account, cs ledger.Currencies) *chart {
	if len(a.Chart) == 0 {
		return nil
	}
	c, err := cs.Get(a.Currency)
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

// pageHead and pageStyle are the page's fixed text around the title.
const pageHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Reconciliation `

const pageStyle = `</title>
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
<h1>Reconciliation `
