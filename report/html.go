package report

import (
	"bytes"
	_ "embed"
	"html/template"
	"strconv"
	"time"

	"bankfeed/ledger"
)

// page.html is the report page: inline CSS and inline SVG charts, no
// scripts and nothing fetched from anywhere. html/template escapes every
// value by its context.
//
//go:embed page.html
var pageHTML string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"deref":  deref,
	"label":  Label,
	"labelp": func(name, mask *string, id *string) string { return Label(deref(name), deref(mask), deref(id)) },
	"def": func(s *string, alt string) string {
		if s == nil {
			return alt
		}
		return *s
	},
}).Parse(pageHTML))

// pageData is what the page template shows: the JSON document's text, per
// account its chart, and the needs-action section.
type pageData struct {
	Document
	Rows   []pageRow
	Action actionView
}

// pageRow is an account's row. The template reaches the account's fields
// through {{with .DocAccount}}, as direct fields: a field promoted from an
// embedded struct costs html/template a reflective search on every use.
type pageRow struct {
	DocAccount
	Bad   bool   // a non-zero difference
	Chart *chart // nil: nothing to draw
}

// actionView is NeedsAction in the document's text.
type actionView struct {
	Empty    bool
	Problems []string
	Breaks   []DocAccount
	Tokens   []DocToken
	Stale    []DocAccount
	Aged     []agedView
	Suspects []DocSuspect
}

type agedView struct {
	Account DocAccount
	Pending DocPending
}

// HTML renders the report as one self-contained page.
func HTML(r Report) ([]byte, error) { return htmlOf(r, r.Document()) }

// htmlOf renders the page of r, whose document is d.
func htmlOf(r Report, d Document) ([]byte, error) {
	data := pageData{Document: d, Rows: make([]pageRow, len(r.Accounts))}
	for i, a := range r.Accounts {
		data.Rows[i] = pageRow{DocAccount: d.Accounts[i], Bad: ledger.Disagrees(a.Difference), Chart: chartOf(a)}
	}
	n := r.NeedsAction()
	data.Action = actionView{Empty: n.Empty(), Problems: n.Problems, Tokens: d.Tokens, Suspects: d.PrecisionSuspects}
	for _, i := range n.Breaks {
		data.Action.Breaks = append(data.Action.Breaks, d.Accounts[i])
	}
	for _, i := range n.Stale {
		data.Action.Stale = append(data.Action.Stale, d.Accounts[i])
	}
	for _, ap := range n.AgedPending {
		a := d.Accounts[ap.Account]
		data.Action.Aged = append(data.Action.Aged, agedView{Account: a, Pending: a.Pending[ap.Pending]})
	}
	var buf bytes.Buffer
	buf.Grow(64<<10 + len(r.Accounts)*4<<10) // about what an account's row and chart take
	if err := page.Execute(&buf, data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// LastPerDay keeps the last point of each date, in order: a chart draws
// one point per day however often the reconcile ran. Points come oldest
// first, so the last of a date is the day's final word.
func LastPerDay(pts []ChartPoint) []ChartPoint {
	out := pts[:0:0]
	for _, p := range pts {
		if n := len(out); n > 0 && out[n-1].Date == p.Date {
			out[n-1] = p
			continue
		}
		out = append(out, p)
	}
	return out
}

// chart is an account's SVG chart: the ledger's balance (solid, round
// markers) and the bank's (dashed, square markers) by day, on a date axis,
// with a ring on every day they differ. Colour and shape both tell the
// lines apart, for readers who do not see the colours.
type chart struct {
	W, H   int
	AxisY  int // the date axis
	TickY  int // where a day's tick mark ends
	LabelY int // the dates under it
	// Ledger and Reported are polyline points; the page draws each day's
	// dot and square as the lines' SVG markers. Per-point elements cost
	// html/template a reflective escaper call per attribute: at 10,000
	// accounts that was most of the report's time (BenchmarkReconcile).
	Ledger      string
	Reported    string
	Misses      []xy
	Ticks       string // path data: a tick under each day drawn
	First, Last string // the dates at the ends of the axis
	FirstX      string
	LastX       string
	Min, Max    string
	N           int
}

type xy struct{ X, Y string }

const (
	chartW    = 300
	chartPlot = 64 // height of the plotting area
	chartPad  = 8
	chartH    = chartPlot + 2*chartPad + 14 // room for the dates
)

func chartOf(a Account) *chart {
	pts := a.Chart
	if len(pts) == 0 {
		return nil
	}
	lo, hi := pts[0].Ledger, pts[0].Ledger
	for _, p := range pts {
		lo, hi = min(lo, p.Ledger), max(hi, p.Ledger)
		if p.Reported != nil {
			lo, hi = min(lo, *p.Reported), max(hi, *p.Reported)
		}
	}
	// Days since the first point: a night without a run leaves a gap.
	first, _ := time.Parse(time.DateOnly, pts[0].Date)
	day := func(p ChartPoint) float64 {
		t, err := time.Parse(time.DateOnly, p.Date)
		if err != nil {
			return 0
		}
		return t.Sub(first).Hours() / 24
	}
	span := day(pts[len(pts)-1])
	// Coordinates are drawing positions, not money: float is fine here.
	x := func(p ChartPoint) float64 {
		if span <= 0 {
			return chartW / 2
		}
		return chartPad + day(p)/span*float64(chartW-2*chartPad)
	}
	y := func(n int64) float64 {
		if hi == lo {
			return chartPad + chartPlot/2
		}
		return chartPad + float64(hi-n)/float64(hi-lo)*chartPlot
	}
	c := &chart{W: chartW, H: chartH, AxisY: chartPad + chartPlot + 4, TickY: chartPad + chartPlot + 7, LabelY: chartH - 3,
		Min: ledger.Format(lo, a.Currency), Max: ledger.Format(hi, a.Currency), N: len(pts),
		First: pts[0].Date, Last: pts[len(pts)-1].Date, FirstX: coord(x(pts[0])), LastX: coord(x(pts[len(pts)-1]))}
	var led, rep, ticks []byte
	for _, p := range pts {
		px := x(p)
		ticks = appendTick(ticks, px, c.AxisY, c.TickY)
		led = appendXY(led, px, y(p.Ledger))
		if p.Reported == nil {
			continue
		}
		rep = appendXY(rep, px, y(*p.Reported))
		if *p.Reported != p.Ledger {
			c.Misses = append(c.Misses, xy{coord(px), coord(y(*p.Reported))})
		}
	}
	c.Ledger, c.Reported, c.Ticks = string(led), string(rep), string(ticks)
	return c
}

// appendTick appends a tick mark at x, from the axis down to end, as path data.
func appendTick(b []byte, x float64, axis, end int) []byte {
	if len(b) > 0 {
		b = append(b, ' ')
	}
	b = append(b, 'M')
	b = strconv.AppendFloat(b, x, 'f', 1, 64)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(axis), 10)
	b = append(b, 'V')
	return strconv.AppendInt(b, int64(end), 10)
}

// appendXY appends one polyline point, "x,y", space-separated from the last.
func appendXY(b []byte, x, y float64) []byte {
	if len(b) > 0 {
		b = append(b, ' ')
	}
	b = strconv.AppendFloat(b, x, 'f', 1, 64)
	b = append(b, ',')
	return strconv.AppendFloat(b, y, 'f', 1, 64)
}

func coord(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
