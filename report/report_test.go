package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bankfeed/ledger"
)

func sp(s string) *string { return &s }

// testCurrencies stand for the exponents a database stores.
var testCurrencies = ledger.Currencies{
	"USD": {Code: "USD", Exponent: 2}, "JPY": {Code: "JPY", Exponent: 0}, "BTC": {Code: "BTC", Exponent: 8},
}

func sample() Report {
	r := Report{Date: "2026-11-27", GeneratedAt: "2026-11-27T02:00:00Z", RunID: "run-1", Valid: true,
		Accounts: []Account{
			{BusinessID: "b", AccountID: "z-card", Currency: "USD", OpeningBalance: "150.00", LedgerBalance: "300.00",
				ReportedCurrent: sp("312.50"), Difference: sp("12.50"), PendingTotal: "0.00", Status: ledger.StatusTiming,
				Name: "+Card", Kind: "liability",
				Candidates: []Candidate{{Source: "journal", Name: "-cmd", MerchantName: `=HYPERLINK("x")`, Amount: "12.50"}},
				Chart: []Point{{Date: "2026-11-26", Reported: sp("300.00"), Ledger: "300.00", Status: "ok"},
					{Date: "2026-11-27", Reported: sp("312.50"), Ledger: "300.00", Status: "timing"}}},
			{BusinessID: "b", AccountID: "a-chk", Currency: "USD", OpeningBalance: "1150.00", LedgerBalance: "-1000.00",
				ReportedCurrent: sp("-1000.00"), Difference: sp("0.00"), PendingTotal: "-9.99", Status: ledger.StatusOK,
				Name: "<b>Checking</b>", Kind: "asset", PendingCount: 1,
				Pending: []Pending{{Name: "Hold", MerchantName: "@SUM(1)", Amount: "-9.99", AgeBusinessDays: 3}}},
			{BusinessID: "b", AccountID: "m-yen", Currency: "JPY", OpeningBalance: "0", LedgerBalance: "1200",
				PendingTotal: "0", Status: ledger.StatusNoAnchor, Name: "\tYen", Kind: "asset"},
		},
		Currencies: testCurrencies}
	if err := r.Finish(); err != nil {
		panic(err)
	}
	return r
}

func TestFinishSortsAndCounts(t *testing.T) {
	r := sample()
	if r.Accounts[0].AccountID != "a-chk" || r.Accounts[2].AccountID != "z-card" {
		t.Fatalf("order %v", []string{r.Accounts[0].AccountID, r.Accounts[1].AccountID, r.Accounts[2].AccountID})
	}
	want := Summary{Accounts: 3, OK: 1, Timing: 1, NoAnchor: 1}
	if r.Summary != want {
		t.Fatalf("summary %+v", r.Summary)
	}
	if got := r.Summary.String(); got != "3 accounts: 1 ok, 1 timing, 0 break, 0 stale, 1 no_anchor, 0 needs_refresh" {
		t.Fatal(got)
	}
	if len(r.Totals) != 3 || r.Totals[0].Currency != "JPY" || r.Totals[2].Kind != "liability" || r.Totals[2].Difference != "12.50" {
		t.Fatalf("totals %+v", r.Totals)
	}
	if c := r.Counts(); c["invalid"] != 0 || c["timing"] != 1 || c["accounts"] != 3 {
		t.Fatalf("counts %v", c)
	}
}

func TestContractShape(t *testing.T) {
	b, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"date", "generated_at", "accounts", "summary"} {
		if _, ok := m[k]; !ok {
			t.Errorf("missing %s", k)
		}
	}
	a := m["accounts"].([]any)[2].(map[string]any)
	for _, k := range []string{"business_id", "account_id", "currency", "opening_balance", "ledger_balance", "reported_current", "difference", "pending_total", "status"} {
		if _, ok := a[k]; !ok {
			t.Errorf("account lacks %s", k)
		}
	}
	if _, isString := a["difference"].(string); !isString {
		t.Errorf("difference is %T, want a string", a["difference"])
	}
	if yen := m["accounts"].([]any)[1].(map[string]any); yen["reported_current"] != nil || yen["difference"] != nil {
		t.Errorf("no_anchor account: %v", yen)
	}
	s := m["summary"].(map[string]any)
	for _, k := range []string{"accounts", "ok", "timing", "break", "stale", "no_anchor", "needs_refresh"} {
		if _, ok := s[k]; !ok {
			t.Errorf("summary lacks %s", k)
		}
	}
	// The JSON round-trips to the same bytes: a stored report renders again identically.
	r2, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := Encode(r2)
	if !bytes.Equal(b, b2) {
		t.Fatal("JSON does not round-trip")
	}
	// The currencies are the database's, not the report's: a re-render
	// reads them again from the store.
	r2.Currencies = testCurrencies
	h1, _ := HTML(sample())
	h2, _ := HTML(r2)
	c1, _ := CSV(sample())
	c2, _ := CSV(r2)
	if !bytes.Equal(h1, h2) || !bytes.Equal(c1, c2) {
		t.Fatal("HTML or CSV differ after a JSON round trip")
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
	for _, tt := range []struct{ in, want string }{{"-12.50", "-12.50"}, {"1200", "1200"}, {"0.00", "0.00"}, {"-1+1", "'-1+1"}, {"=1", "'=1"}} {
		if got := Amount(tt.in); got != tt.want {
			t.Errorf("Amount(%q) = %q, want %q", tt.in, got, tt.want)
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
	if chk[col["oldest_pending"]] != "'@SUM(1)" || card[col["first_candidate"]] != `'=HYPERLINK("x")` || card[col["name"]] != "'+Card" {
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
	r.Valid, r.Problems = false, []string{"<b>journal</b> does not balance"}
	b, err := HTML(r)
	if err != nil {
		t.Fatal(err)
	}
	lower := bytes.ToLower(b)
	for _, bad := range []string{"<script", "src=", `href="http`, "<link", "<img", "@import", "url("} {
		if bytes.Contains(lower, []byte(bad)) {
			t.Errorf("html contains %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;b&gt;journal&lt;/b&gt;", "<svg", `class="miss"`,
		"st-timing", "st-ok", "st-no_anchor", "invalid", "<style>"} {
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

// The stored form is compact JSON, and the JSON file is indented from it:
// both must give exactly what encoding the report gives, so a run renders
// the same bytes today and when a past date is rendered again.
func TestCompactRendersLikeEncode(t *testing.T) {
	r := sample()
	r.Accounts[0].Name = "<b>\u2028 é \x01 \"q\" & +"
	r.Problems = []string{"a\tb"}
	compact, err := Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	encoded, err := Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(compact, []byte("\n")) || len(compact) >= len(encoded) {
		t.Fatalf("Marshal is not compact: %d bytes against %d", len(compact), len(encoded))
	}
	fromCompact, err := Render(r, func() ([]byte, error) { return compact, nil })
	if err != nil {
		t.Fatal(err)
	}
	fromReport, err := Render(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fromCompact.JSON, encoded) || !bytes.Equal(fromReport.JSON, encoded) {
		t.Fatalf("JSON file differs from Encode:\n%s", fromCompact.JSON)
	}
	h, _ := HTML(r)
	c, _ := CSV(r)
	if !bytes.Equal(fromCompact.HTML, h) || !bytes.Equal(fromCompact.CSV, c) {
		t.Fatal("rendered HTML or CSV differ from HTML and CSV")
	}
	back, err := Decode(compact)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Encode(back)
	if !bytes.Equal(again, encoded) {
		t.Fatal("the compact form does not decode to the same report")
	}
}

// Staged files are complete on disk but invisible until Commit; Abort
// leaves the folder as it was.
func TestStageCommitAbort(t *testing.T) {
	dir := t.TempDir()
	f, err := Render(sample(), nil)
	if err != nil {
		t.Fatal(err)
	}
	names := func() []string {
		ents, _ := os.ReadDir(dir)
		var out []string
		for _, e := range ents {
			out = append(out, e.Name())
		}
		return out
	}
	s, err := f.Stage(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names() {
		if !strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".tmp") {
			t.Fatalf("staged file %s is visible", n)
		}
	}
	s.Abort()
	if n := names(); len(n) != 0 {
		t.Fatalf("abort left %v", n)
	}
	s, err = f.Stage(dir)
	if err != nil {
		t.Fatal(err)
	}
	paths, err := s.Commit()
	if err != nil || len(paths) != 3 {
		t.Fatalf("commit: %v %v", paths, err)
	}
	s.Abort() // after Commit: nothing to remove
	for i, want := range [][]byte{f.JSON, f.CSV, f.HTML} {
		got, err := os.ReadFile(paths[i])
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: %v", paths[i], err)
		}
	}
	if n := names(); len(n) != 3 {
		t.Fatalf("folder holds %v", n)
	}
	var none *Staged
	none.Abort()
}

// Marshal puts json.Marshal's bytes together from parts; they must be the
// same bytes, and the file indented from them must be Encode's.
func TestMarshalMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	reports := []Report{sample(), {Date: "2026-11-27"}}
	for range 300 {
		reports = append(reports, randomReport(rng))
	}
	for n, r := range reports {
		got, err := Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		r.normalize()
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("report %d: Marshal differs from json.Marshal\n%s", n, firstDifference(got, want))
		}
		encoded, err := Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		if file := indent(got); !bytes.Equal(file, encoded) {
			t.Fatalf("report %d: the file indented from Marshal differs from Encode\n%s", n, firstDifference(file, encoded))
		}
	}
}

func TestRenderStaged(t *testing.T) {
	dir := t.TempDir()
	r := sample()
	want, err := Render(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	compact, _ := Marshal(r)
	s, err := RenderStaged(r, func() ([]byte, error) { return compact, nil }, dir)
	if err != nil {
		t.Fatal(err)
	}
	paths, err := s.Commit()
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range [][]byte{want.JSON, want.CSV, want.HTML} {
		if got, _ := os.ReadFile(paths[i]); !bytes.Equal(got, b) {
			t.Errorf("%s differs from Render's", paths[i])
		}
	}
	// A file that fails to render leaves no staged file behind.
	other := t.TempDir()
	if _, err := RenderStaged(r, func() ([]byte, error) { return nil, errors.New("no") }, other); err == nil || !strings.Contains(err.Error(), "report json") {
		t.Fatalf("err = %v", err)
	}
	if ents, _ := os.ReadDir(other); len(ents) != 0 {
		t.Fatalf("left %d files", len(ents))
	}
}

// Many accounts are encoded in two halves at once; the bytes are still
// json.Marshal's.
func TestMarshalManyAccounts(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	var r Report
	for len(r.Accounts) < 2501 {
		r.Accounts = append(r.Accounts, randomReport(rng).Accounts...)
	}
	r.Date, r.GeneratedAt = "2026-11-27", "2026-11-27T02:00:00Z"
	got, err := Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	r.normalize()
	want, _ := json.Marshal(r)
	if !bytes.Equal(got, want) {
		t.Fatalf("Marshal differs from json.Marshal\n%s", firstDifference(got, want))
	}
	acc := MarshalAccounts("2026-11-28", r.GeneratedAt, r.Accounts)
	if _, err := MarshalWith(r, &acc); err == nil {
		t.Fatal("accounts encoded for another date were accepted")
	}
}
