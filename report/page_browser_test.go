package report

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"bankfeed/ledger"
	"bankfeed/testtools"
)

// busyNight is a bad night with everything the page can show, Plaid's
// 37-character ids and long names: what makes a phone scroll sideways.
func busyNight() Report {
	usd := mustCur("USD")
	at := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	chk, card := "XGB3wGz7VJX5LHz07cw0tniZ8DoFYg7d19C2R", "WJMfDJMowHO9TbKm1WRSAt2fkBdE1QBg47CS6"
	var pts []ChartPoint
	for i := range 30 {
		rep := int64(1_000_000 + 2500*i)
		if i == 29 {
			rep += 1250
		}
		pts = append(pts, ChartPoint{Date: time.Date(2026, 10, 29+i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), Ledger: 1_000_000 + 2500*int64(i), Reported: &rep})
	}
	r := Report{Date: "2026-11-27", GeneratedAt: at, RunID: "reconcile-20261127T020000Z-6f1c2a9b3e4d", Valid: true,
		Accounts: []Account{
			{BusinessID: "acme-holdings-international-limited", AccountID: chk, Name: "Gingham Bank Business Checking Premier", Mask: "0000",
				Kind: ledger.Asset, Currency: usd, Opening: 152854_23, Ledger: 1_072_500, Reported: i64(1_073_750), ReportedAt: &at,
				Difference: i64(1250), DifferenceSince: &at, CandidatesSince: &at, Status: ledger.StatusBreak, PendingTotal: -4200, PendingCount: 1,
				Candidates: []Candidate{{Source: "journal", EntryID: "txn:" + chk + ":v1", EntryKind: "txn", TransactionID: "lPNjeW1nR6CDn5okmGQ6hEpMo4lLNoSrzqDje",
					Date: "2026-11-26", Name: "STRIPE TRANSFER ST-J8K2 PAYOUT REFERENCE 0042", MerchantName: "Stripe", Amount: 1250, RecordedAt: at}},
				Pending: []Pending{{TransactionID: "demoPendingDinnerTartine0000000000001", Date: "2026-11-02", Name: "TARTINE BAKERY SAN FRANCISCO",
					MerchantName: "Tartine", Amount: -4200, AgeBusinessDays: 18, Aged: true, Anomaly: true}},
				Chart: pts},
			{BusinessID: "acme-holdings-international-limited", AccountID: card, Name: "Business Card", Mask: "4242", Kind: ledger.Liability,
				Currency: usd, Ledger: 152339, Reported: i64(152339), Difference: i64(0), Status: ledger.StatusOK, Chart: pts[:1]},
		},
		Tokens: []Token{{BusinessID: "acme-holdings-international-limited", TokenHint: "5208", Status: "needs_refresh", Reason: "ITEM_LOGIN_REQUIRED"}},
		PrecisionSuspects: []PrecisionSuspect{{BusinessID: "acme-holdings-international-limited", AccountID: chk, AccountName: "Gingham Bank Business Checking Premier",
			AccountMask: "0000", TransactionID: "bigWire0000000000000000000000000000001", Date: "2026-11-20", Amount: 1_234_567_890_12, Currency: usd}},
		TrialBalance: []TrialBalance{{Currency: usd, Lines: 1234, OK: true}},
		OpeningChecks: []OpeningCheck{{BusinessID: "acme-holdings-international-limited", AccountID: chk, Version: 1, Live: 1, Versions: 1,
			LiveEntryID: "open:" + chk + ":v1", OK: true, AccountName: "Gingham Bank Business Checking Premier", AccountMask: "0000"}},
	}
	r.Finish()
	return r
}

// The report in a real headless Chromium: at 390 px wide (a phone) the
// page does not scroll sideways; screenshots at 390 and 1280 px are kept
// for a person to look at.
func TestReportPageInABrowser(t *testing.T) {
	exe := testtools.Chromium(t)
	page, err := HTML(busyNight())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "reconciliation-2026-11-27.html")
	if err := os.WriteFile(file, page, 0o644); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Headless,
		chromedp.DisableGPU, chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.WindowSize(390, 844))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// Generous: Chromium starts slowly on a loaded 2-core machine.
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()

	for _, width := range []int64{390, 1280} {
		var scrollWidth int64
		var headline string
		var png, top []byte
		err := chromedp.Run(ctx,
			chromedp.EmulateViewport(width, 844),
			chromedp.Navigate("file://"+file),
			chromedp.WaitVisible(`#needs-action`, chromedp.ByQuery),
			chromedp.Text(`.headline`, &headline, chromedp.ByQuery),
			chromedp.Evaluate(`document.documentElement.scrollWidth`, &scrollWidth),
			chromedp.CaptureScreenshot(&top),   // the first screen: what a person sees first
			chromedp.FullScreenshot(&png, 100), // 100: PNG, not JPEG
		)
		if err != nil {
			t.Fatalf("%d px: %v", width, err)
		}
		if scrollWidth > width {
			t.Errorf("at %d px the page is %d px wide: it scrolls sideways", width, scrollWidth)
		}
		if !strings.Contains(headline, "1 account does not reconcile") {
			t.Errorf("at %d px the headline reads %q", width, headline)
		}
		for name, b := range map[string][]byte{"": png, "-top": top} {
			shot := filepath.Join(dir, "report-"+strconv.FormatInt(width, 10)+name+".png")
			if err := os.WriteFile(shot, b, 0o644); err != nil {
				t.Fatal(err)
			}
			copied := filepath.Join(os.TempDir(), "bankfeed-"+filepath.Base(shot))
			_ = os.WriteFile(copied, b, 0o644)
			t.Logf("%d px: the page is %d px wide; screenshot %s (copied to %s)", width, scrollWidth, shot, copied)
		}
	}
}
