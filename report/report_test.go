package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bankfeed/ledger"
)

func i64(n int64) *int64 { return &n }

func mustCur(code string) ledger.Currency {
	c, err := ledger.ISO(code)
	if err != nil {
		panic(err)
	}
	return c
}

func sample() Report {
	usd, jpy := mustCur("USD"), mustCur("JPY")
	at := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	r := Report{Date: "2026-11-27", GeneratedAt: at, RunID: "run-1", Valid: true,
		Accounts: []Account{
			{BusinessID: "b", AccountID: "z-card", Currency: usd, Opening: 15000, Ledger: 30000,
				Reported: i64(31250), ReportedAt: &at, Difference: i64(1250), PendingTotal: 0, Status: ledger.StatusTiming,
				Name: "+Card", Kind: ledger.Liability,
				Candidates: []Candidate{{Source: "journal", Name: "-cmd", MerchantName: `=HYPERLINK("x")`, Amount: 1250, RecordedAt: at}},
				Chart:      []ChartPoint{{Date: "2026-11-26", Ledger: 30000, Reported: i64(30000)}, {Date: "2026-11-27", Ledger: 30000, Reported: i64(31250)}}},
			{BusinessID: "b", AccountID: "a-chk", Currency: usd, Opening: 115000, Ledger: -100000,
				Reported: i64(-100000), Difference: i64(0), PendingTotal: -999, Status: ledger.StatusOK,
				Name: "<b>Checking</b>", Kind: ledger.Asset, PendingCount: 1,
				Pending: []Pending{{Name: "Hold", MerchantName: "@SUM(1)", Date: "2026-11-24", Amount: -999, AgeBusinessDays: 3}}},
			{BusinessID: "b", AccountID: "m-yen", Currency: jpy, Opening: 0, Ledger: 1200,
				PendingTotal: 0, Status: ledger.StatusNoAnchor, Name: "\tYen", Kind: ledger.Asset},
		},
		Tokens: []Token{{BusinessID: "b", TokenHint: "x9z1", Status: "needs_refresh", Reason: "ITEM_LOGIN_REQUIRED"}}}
	r.Finish()
	return r
}

func TestFinishSortsAndCounts(t *testing.T) {
	r := sample()
	if r.Accounts[0].AccountID != "a-chk" || r.Accounts[2].AccountID != "z-card" {
		t.Fatalf("order %v", []string{r.Accounts[0].AccountID, r.Accounts[1].AccountID, r.Accounts[2].AccountID})
	}
	// needs_refresh counts the flagged token, whose account is unknown.
	want := Summary{Accounts: 3, OK: 1, Timing: 1, NoAnchor: 1, NeedsRefresh: 1}
	if r.Summary != want {
		t.Fatalf("summary %+v", r.Summary)
	}
	if got := r.Summary.String(); got != "3 accounts: 1 ok, 1 timing, 0 break, 0 stale, 1 no_anchor, 1 needs_refresh" {
		t.Fatal(got)
	}
	if len(r.Totals) != 3 || r.Totals[0].Currency.Code != "JPY" || r.Totals[2].Kind != ledger.Liability || r.Totals[2].Difference != 1250 {
		t.Fatalf("totals %+v", r.Totals)
	}
	if c := r.Counts(); c["invalid"] != 0 || c["timing"] != 1 || c["accounts"] != 3 {
		t.Fatalf("counts %v", c)
	}
}

func TestContractShape(t *testing.T) {
	b, err := JSON(sample())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"date", "generated_at", "accounts", "summary", "tokens"} {
		if _, ok := m[k]; !ok {
			t.Errorf("missing %s", k)
		}
	}
	if m["generated_at"] != "2026-11-27T02:00:00Z" {
		t.Errorf("generated_at %v", m["generated_at"])
	}
	card := m["accounts"].([]any)[2].(map[string]any)
	for k, want := range map[string]any{"business_id": "b", "account_id": "z-card", "currency": "USD", "opening_balance": "150.00",
		"ledger_balance": "300.00", "reported_current": "312.50", "difference": "12.50", "pending_total": "0.00", "status": "timing"} {
		if card[k] != want {
			t.Errorf("account %s = %#v, want %#v", k, card[k], want)
		}
	}
	if _, chart := card["chart"]; chart {
		t.Error("the JSON carries a chart")
	}
	chk := m["accounts"].([]any)[0].(map[string]any)
	if chk["ledger_balance"] != "-1000.00" || chk["pending_total"] != "-9.99" {
		t.Errorf("checking %v", chk)
	}
	if yen := m["accounts"].([]any)[1].(map[string]any); yen["reported_current"] != nil || yen["difference"] != nil || yen["ledger_balance"] != "1200" {
		t.Errorf("no_anchor account: %v", yen)
	}
	s := m["summary"].(map[string]any)
	for _, k := range []string{"accounts", "ok", "timing", "break", "stale", "no_anchor", "needs_refresh"} {
		if _, ok := s[k]; !ok {
			t.Errorf("summary lacks %s", k)
		}
	}
	tok := m["tokens"].([]any)[0].(map[string]any)
	if tok["token_hint"] != "x9z1" || tok["status"] != "needs_refresh" || tok["reason"] != "ITEM_LOGIN_REQUIRED" || tok["account_id"] != nil {
		t.Errorf("token %v", tok)
	}
	// The stored form round-trips: a stored report renders again identically.
	stored, err := Marshal(sample())
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Unmarshal(stored)
	if err != nil {
		t.Fatal(err)
	}
	r2.Accounts[2].Chart = sample().Accounts[2].Chart // charts are rebuilt from the table, not stored
	f1, err := Render(sample())
	if err != nil {
		t.Fatal(err)
	}
	f2, err := Render(r2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f1.JSON, f2.JSON) || !bytes.Equal(f1.CSV, f2.CSV) || !bytes.Equal(f1.HTML, f2.HTML) {
		t.Fatal("files differ after a round trip through the stored form")
	}
	// A report stored in the JSON file's shape (by an earlier bankfeed) is refused.
	if _, err := Unmarshal(b); err == nil {
		t.Error("a report in another shape was accepted")
	}
}

func TestCSVNeutralisesTextNotAmounts(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"}, {"@SUM(1)", "'@SUM(1)"}, {"+1", "'+1"}, {"-cmd", "'-cmd"},
		{"\tx", "'\tx"}, {"\rx", "'\rx"}, {"Coffee", "Coffee"}, {"", ""}, {"a=b", "a=b"},
	} {
		if got := Text(tt.in); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	b, err := CSV(sample())
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("not RFC 4180: %v", err)
	}
	if len(recs) != 4 || len(recs[0]) != len(CSVHeader) {
		t.Fatalf("%d rows", len(recs))
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	chk, yen, card := recs[1], recs[2], recs[3]
	if chk[col["ledger_balance"]] != "-1000.00" || chk[col["pending_total"]] != "-9.99" {
		t.Errorf("negative amounts must stay numbers: %q", chk)
	}
	if chk[col["oldest_pending"]] != "2026-11-24" || chk[col["oldest_pending_age_business_days"]] != "3" || yen[col["oldest_pending"]] != "" {
		t.Errorf("oldest pending is a date with its age beside it: %q / %q", chk, yen)
	}
	if card[col["first_candidate"]] != `'=HYPERLINK("x")` || card[col["name"]] != "'+Card" {
		t.Errorf("text cells not neutralised: %q / %q", chk, card)
	}
	if yen[col["name"]] != "'\tYen" || yen[col["reported_current"]] != "" || yen[col["difference"]] != "" {
		t.Errorf("yen row %q", yen)
	}
	if !bytes.Contains(b, []byte("\r\n")) {
		t.Error("RFC 4180 wants CRLF")
	}
}

func TestHTMLIsSelfContainedAndEscaped(t *testing.T) {
	r := sample()
	r.Accounts[0].Pending[0].MerchantName = "<script>alert(1)</script>"
	r.Accounts[0].Name = `"><img onerror=alert(1)>`
	r.Tokens[0].Reason = "<i>x</i>"
	r.Valid, r.Problems = false, []string{"<b>journal</b> does not balance"}
	b, err := HTML(r)
	if err != nil {
		t.Fatal(err)
	}
	lower := bytes.ToLower(b)
	for _, bad := range []string{"<script", "src=", `href="http`, "<link", "<img", "@import"} {
		if bytes.Contains(lower, []byte(bad)) {
			t.Errorf("html contains %q", bad)
		}
	}
	// url() only within the page: the charts' markers, url(#id).
	if n, local := bytes.Count(lower, []byte("url(")), bytes.Count(lower, []byte("url(#")); n != local {
		t.Errorf("html has %d url() outside the page", n-local)
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;b&gt;journal&lt;/b&gt;", "&lt;i&gt;x&lt;/i&gt;", "<svg", `class="miss"`,
		"st-timing", "st-ok", "st-no_anchor", "invalid", "<style>", "…x9z1", "2 day(s), 300.00 to 312.50", ">2026-11-26</text>", ">2026-11-27</text>"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("html lacks %q", want)
		}
	}
	// One mismatching point in the card's chart: one highlighted circle.
	if n := bytes.Count(b, []byte(`class="miss"`)); n != 1 {
		t.Errorf("%d highlighted points, want 1", n)
	}
}

func TestWriteFilesAtomicOverwrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	r := sample()
	paths, err := WriteFiles(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"reconciliation-2026-11-27.json", "reconciliation-2026-11-27.csv", "reconciliation-2026-11-27.html"}
	for i, p := range paths {
		if filepath.Base(p) != want[i] {
			t.Fatalf("paths %v", paths)
		}
	}
	first, _ := os.ReadFile(paths[0])
	r.RunID = "run-2"
	if _, err := WriteFiles(dir, r); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(paths[0])
	if bytes.Equal(first, second) || !bytes.Contains(second, []byte("run-2")) {
		t.Fatal("rerun did not overwrite")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("leftover files: %s", strings.Join(names, ", "))
	}
	r.Date = "27/11/2026"
	if _, err := WriteFiles(dir, r); err == nil {
		t.Fatal("bad date accepted")
	}
}
