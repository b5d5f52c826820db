package report

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"bankfeed/ledger"
)

// night builds a report of one checking account in the given status, plus
// the given flagged tokens.
func night(status ledger.Status, tokens ...Token) Report {
	usd := mustCur("USD")
	at := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	a := Account{BusinessID: "b", AccountID: "acc-chk", Name: "Operating", Mask: "0001", Kind: ledger.Asset, Currency: usd,
		Ledger: 10000, Reported: i64(10000), Difference: i64(0), Status: status,
		Pending: []Pending{{TransactionID: "p1", Date: "2026-11-26", Name: "Fresh hold", Amount: -100, AgeBusinessDays: 1}}}
	switch status {
	case ledger.StatusTiming, ledger.StatusBreak:
		a.Reported, a.Difference = i64(10500), i64(500)
	case ledger.StatusStale:
		a.Reported, a.Difference = nil, nil
	}
	r := Report{Date: "2026-11-27", GeneratedAt: at, RunID: "run-1", Valid: true, Accounts: []Account{a}, Tokens: tokens}
	r.Finish()
	return r
}

// The headline is the night's worst status, and the needs-action section
// lists what a person must do, or says in one line that nothing is to do.
func TestHeadlineAndNeedsAction(t *testing.T) {
	flagged := Token{BusinessID: "b", TokenHint: "x9z1", Status: "needs_refresh", Reason: "ITEM_LOGIN_REQUIRED"} // never synced
	withCandidate := night(ledger.StatusBreak)
	withCandidate.Accounts[0].Candidates = []Candidate{{Source: "journal", TransactionID: "tx_9", Date: "2026-11-26", Name: "Wire", Amount: 500}}
	aged := night(ledger.StatusOK)
	aged.Accounts[0].Pending = append(aged.Accounts[0].Pending, Pending{TransactionID: "p0", Date: "2026-11-10", Name: "Old hold",
		Amount: -200, AgeBusinessDays: 13, Aged: true})
	suspect := night(ledger.StatusOK)
	suspect.PrecisionSuspects = []PrecisionSuspect{{BusinessID: "b", AccountID: "acc-chk", AccountName: "Operating", AccountMask: "0001",
		TransactionID: "tx_big", Date: "2026-11-20", Amount: 123456789012, Currency: mustCur("USD")}}
	invalid := night(ledger.StatusBreak, flagged)
	invalid.Valid, invalid.Problems = false, []string{"the journal does not balance in USD"}

	for _, tt := range []struct {
		name     string
		r        Report
		status   string
		text     string
		html     []string // in the needs-action section
		nothing  bool
		breaks   int
		tokens   int
		aged     int
		suspects int
	}{
		{name: "ok night", r: night(ledger.StatusOK), status: "ok", text: "The one account reconciles to the minor unit", nothing: true},
		{name: "timing night", r: night(ledger.StatusTiming), status: "timing", text: "1 account differs from the bank for the first time", nothing: true},
		{name: "break night without candidates", r: night(ledger.StatusBreak), status: "break", text: "1 account does not reconcile",
			html: []string{"Breaks", "Operating ••0001", "No candidates"}, breaks: 1},
		{name: "break night with a candidate", r: withCandidate, status: "break", text: "1 account does not reconcile",
			html: []string{"Operating ••0001", "tx_9", "Wire"}, breaks: 1},
		{name: "flagged-only night", r: night(ledger.StatusOK, flagged), status: "needs_refresh", text: "1 token needs refresh",
			html: []string{"Tokens that need refresh", "…x9z1", "ITEM_LOGIN_REQUIRED", "never synced"}, tokens: 1},
		{name: "break and flagged: the break leads", r: night(ledger.StatusBreak, flagged), status: "break", text: "does not reconcile",
			html: []string{"No candidates", "never synced"}, breaks: 1, tokens: 1},
		{name: "stale night", r: night(ledger.StatusStale), status: "stale", text: "no fresh bank balance for 7 days",
			html: []string{"Stale", "Operating ••0001"}},
		{name: "no anchor night", r: night(ledger.StatusNoAnchor), status: "no_anchor", text: "waits for its opening balance", nothing: true},
		{name: "aged pending on an ok night", r: aged, status: "ok", text: "The one account reconciles to the minor unit",
			html: []string{"Aged pending items", "Old hold", ">13<"}, aged: 1},
		{name: "precision suspect on an ok night", r: suspect, status: "ok", text: "The one account reconciles to the minor unit",
			html: []string{"Precision suspects", "tx_big", "1234567890.12"}, suspects: 1},
		{name: "invalid ledger leads everything", r: invalid, status: "invalid", text: "failed its own checks (1 problem)",
			html: []string{"the journal does not balance in USD", "never synced"}, breaks: 1, tokens: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.r.Headline()
			if h.Status != tt.status || !strings.Contains(h.Text, tt.text) {
				t.Errorf("headline %+v, want %s %q", h, tt.status, tt.text)
			}
			n := tt.r.NeedsAction()
			if n.Empty() != tt.nothing || len(n.Breaks) != tt.breaks || len(n.Tokens) != tt.tokens || len(n.AgedPending) != tt.aged ||
				len(n.Suspects) != tt.suspects {
				t.Errorf("needs action %+v", n)
			}
			page, err := HTML(tt.r)
			if err != nil {
				t.Fatal(err)
			}
			head, rest, _ := bytes.Cut(page, []byte(`id="needs-action"`))
			section, _, _ := bytes.Cut(rest, []byte("</section>"))
			if !bytes.Contains(head, []byte(`class="headline hl-`+tt.status+`"`)) || !bytes.Contains(head, []byte(h.Text)) {
				t.Errorf("the page does not lead with the headline %+v", h)
			}
			if got := bytes.Contains(section, []byte("Nothing needs action tonight.")); got != tt.nothing {
				t.Errorf("nothing-to-do line shown %v, want %v:\n%s", got, tt.nothing, section)
			}
			for _, want := range tt.html {
				if !bytes.Contains(section, []byte(want)) {
					t.Errorf("needs action lacks %q:\n%s", want, section)
				}
			}
			// The green banner never outshouts a bad night: ledger checks are
			// a small line, and the headline's colour is the night's.
			if bytes.Contains(page, []byte(`class="valid"`)) || (tt.r.Valid && !bytes.Contains(page, []byte(`<p class="checks">Ledger checks passed`))) {
				t.Error("ledger checks are not the small line")
			}
			var d map[string]any
			b, _ := JSON(tt.r)
			if err := json.Unmarshal(b, &d); err != nil {
				t.Fatal(err)
			}
			if hl := d["headline"].(map[string]any); hl["status"] != tt.status || hl["text"] != h.Text {
				t.Errorf("JSON headline %v", hl)
			}
		})
	}
}

// Of any two findings on one night, the headline names the worse.
func TestHeadlineOrder(t *testing.T) {
	order := []string{"invalid", "break", "needs_refresh", "stale", "no_anchor", "timing", "ok"}
	with := func(r *Report, status string) {
		switch status {
		case "invalid":
			r.Valid, r.Problems = false, []string{"the journal does not balance in USD"}
		case "break":
			r.Summary.Break++
		case "needs_refresh":
			r.Summary.NeedsRefresh++
		case "stale":
			r.Summary.Stale++
		case "no_anchor":
			r.Summary.NoAnchor++
		case "timing":
			r.Summary.Timing++
		case "ok":
			r.Summary.OK++
		}
		if status != "invalid" && status != "needs_refresh" {
			r.Summary.Accounts++
		}
	}
	for i, worse := range order {
		for _, better := range order[i:] {
			r := Report{Valid: true}
			with(&r, better)
			with(&r, worse)
			if h := r.Headline(); h.Status != worse {
				t.Errorf("%s and %s: headline %+v, want %s", worse, better, h, worse)
			}
		}
	}
}

func TestLastPerDay(t *testing.T) {
	pts := []ChartPoint{{Date: "2026-11-25", Ledger: 1}, {Date: "2026-11-26", Ledger: 2}, {Date: "2026-11-26", Ledger: 3},
		{Date: "2026-11-28", Ledger: 4}, {Date: "2026-11-28", Ledger: 5}, {Date: "2026-11-28", Ledger: 6}}
	got := LastPerDay(pts)
	var ledgers []int64
	for _, p := range got {
		ledgers = append(ledgers, p.Ledger)
	}
	if !slices.Equal(ledgers, []int64{1, 3, 6}) {
		t.Fatalf("last per day: %v", ledgers)
	}
	if pts[1].Ledger != 2 {
		t.Fatal("LastPerDay changed its input")
	}
}

func TestLabel(t *testing.T) {
	for _, tt := range []struct{ name, mask, id, want string }{
		{"Business Checking", "0000", "acc1", "Business Checking ••0000"}, {"Card", "", "acc2", "Card"},
		{"", "1111", "acc3", "acc3 ••1111"}, {"", "", "acc4", "acc4"}, {"", "", "", ""},
	} {
		if got := Label(tt.name, tt.mask, tt.id); got != tt.want {
			t.Errorf("Label(%q, %q, %q) = %q, want %q", tt.name, tt.mask, tt.id, got, tt.want)
		}
	}
}
