package report

import (
	"bytes"
	_ "embed"
	"html/template"
	"strconv"

	"bankfeed/ledger"
)

// page.html is the report page: inline CSS and inline SVG charts, no
// scripts and nothing fetched from anywhere. html/template escapes every
// value by its context.
//
//go:embed page.html
var pageHTML string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"deref": deref,
	"def": func(s *string, alt string) string {
		if s == nil {
			return alt
		}
		return *s
	},
}).Parse(pageHTML))

// pageData is what the page template shows: the JSON document's text, and
// per account its chart.
type pageData struct {
	Document
	Rows []pageRow
}

// pageRow is an account's row. The template reaches the account's fields
// through {{with .DocAccount}}, as direct fields: a field promoted from an
// embedded struct costs html/template a reflective search on every use.
type pageRow struct {
	DocAccount
	Bad   bool   // a non-zero difference
	Chart *chart // nil: nothing to draw
}

// HTML renders the report as one self-contained page.
func HTML(r Report) ([]byte, error) { return htmlOf(r, r.Document()) }

// htmlOf renders the page of r, whose document is d.
func htmlOf(r Report, d Document) ([]byte, error) {
	data := pageData{Document: d, Rows: make([]pageRow, len(r.Accounts))}
	for i, a := range r.Accounts {
		data.Rows[i] = pageRow{DocAccount: d.Accounts[i], Bad: ledger.Disagrees(a.Difference), Chart: chartOf(a)}
	}
	var buf bytes.Buffer
	buf.Grow(64<<10 + len(r.Accounts)*4<<10) // about what an account's row and chart take
	if err := page.Execute(&buf, data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// chart is an account's SVG chart: two polylines (the ledger's balance and
// the bank's) and a dot on every point where they differ.
type chart struct {
	W, H     int
	Ledger   string // polyline points
	Reported string
	Misses   []xy
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
	// Coordinates are drawing positions, not money: float is fine here.
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
		return chartPad + float64(hi-n)/float64(hi-lo)*float64(chartH-2*chartPad)
	}
	c := &chart{W: chartW, H: chartH, Min: ledger.Format(lo, a.Currency), Max: ledger.Format(hi, a.Currency), N: len(pts)}
	var led, rep []byte
	for i, p := range pts {
		led = appendXY(led, x(i), y(p.Ledger))
		if p.Reported == nil {
			continue
		}
		rep = appendXY(rep, x(i), y(*p.Reported))
		if *p.Reported != p.Ledger {
			c.Misses = append(c.Misses, xy{coord(x(i)), coord(y(*p.Reported))})
		}
	}
	c.Ledger, c.Reported = string(led), string(rep)
	return c
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
