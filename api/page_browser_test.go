package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"

	"bankfeed/testtools"
)

// fakeLinkJS stands in for Plaid's link-initialize.js: Plaid.create(...)
// .open() "completes Link" by asking the test for the public token the
// sandbox hands over for that link token, then calls onSuccess.
const fakeLinkJS = `window.Plaid = { create: function (cfg) { return {
  open: function () {
    fetch("/test/link-success?link_token=" + encodeURIComponent(cfg.token)).then(function (r) { return r.text(); })
      .then(function (pt) { setTimeout(function () { cfg.onSuccess(pt, { institution: { institution_id: "ins_109508" } }); }, 10); });
  },
  exit: function () {}, destroy: function () {}
}; } };`

// The Bank Linking page in a real headless Chromium: Link completes with
// a sandbox public token, the page posts it and lists the accounts, a
// flagged Item shows Reconnect (update mode), and at 390 px wide nothing
// scrolls sideways.
func TestLinkPageInABrowser(t *testing.T) {
	exe := testtools.Chromium(t)
	l := newLinkHarness(t)
	l.business("biz-ui")
	scoped := l.scopedToken("biz-ui")

	mux := http.NewServeMux()
	mux.HandleFunc("GET /test/link-initialize.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, fakeLinkJS)
	})
	mux.HandleFunc("GET /test/link-success", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, l.srv.LinkSuccess(r.URL.Query().Get("link_token")))
	})
	mux.Handle("/", (&checkedServer{}).checked(t, NewHandler(l.st, Options{APIKeys: []string{apiKey}, Env: "sandbox", Log: zerolog.New(l.log), Now: l.clock,
		Plaid: l.client, LinkJSURL: "/test/link-initialize.js"})))
	hs := httptest.NewServer(mux)
	defer hs.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Headless,
		chromedp.DisableGPU, chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.WindowSize(390, 844))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// Generous: Chromium starts slowly on a loaded 2-core machine (it timed out at 60 s under CI load).
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()

	page := hs.URL + "/link?token=" + scoped
	var listed, href string
	err := chromedp.Run(ctx,
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(page),
		chromedp.WaitVisible(`#bf-link:not([disabled])`, chromedp.ByQuery),
		chromedp.Location(&href),
		chromedp.Click(`#bf-link`, chromedp.ByQuery),
		chromedp.WaitVisible(`li.bf-account`, chromedp.ByQuery),
		chromedp.Text(`#bf-items`, &listed, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("link in the browser: %v\nlog:\n%s", err, l.log.String())
	}
	if strings.Contains(href, scoped) {
		t.Errorf("the address bar still holds the scoped token: %s", href)
	}
	items, err := l.st.Items(context.Background(), "biz-ui")
	if err != nil || len(items) != 1 {
		t.Fatalf("the page linked %d Items: %v", len(items), err)
	}
	for _, want := range []string{"Plaid Checking", "Plaid Credit Card", "Connected"} {
		if !strings.Contains(listed, want) {
			t.Errorf("the page lists %q, not %q", listed, want)
		}
	}

	// The bank wants the login again: the page offers Reconnect.
	l.srv.SetItemErrorByID(items[0].ItemID, "ITEM_LOGIN_REQUIRED")
	l.run()
	var status string
	var noHScroll bool
	var png []byte
	// A new tab for the second visit: queries in a tab whose document is
	// being replaced can wait on the old one.
	tab, closeTab := chromedp.NewContext(ctx)
	defer closeTab()
	err = chromedp.Run(tab,
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(page),
		chromedp.WaitVisible(`button.bf-reconnect`, chromedp.ByQuery),
		chromedp.Text(`#bf-items`, &listed, chromedp.ByQuery),
		chromedp.Evaluate(`document.documentElement.scrollWidth <= window.innerWidth`, &noHScroll),
		chromedp.FullScreenshot(&png, 100), // 100: PNG, not JPEG,
		chromedp.Click(`button.bf-reconnect`, chromedp.ByQuery),
		chromedp.WaitVisible(`//p[@id="bf-status" and contains(., "Reconnected")]`, chromedp.BySearch),
		chromedp.Text(`#bf-status`, &status, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("reconnect in the browser: %v", err)
	}
	if !strings.Contains(listed, "Needs your login again") || !strings.Contains(listed, "ITEM_LOGIN_REQUIRED") {
		t.Errorf("a flagged Item shows %q", listed)
	}
	reqs := l.srv.LinkTokenRequests()
	if last := reqs[len(reqs)-1]; last.AccessToken == "" {
		t.Error("Reconnect did not ask for an update-mode link token")
	}
	if it, _ := l.st.ItemByPlaidID(context.Background(), items[0].ItemID); it.NextProbeAt == nil || it.NextProbeAt.After(l.clock()) {
		t.Errorf("after Reconnect the Item's probe is not due now: %v", it.NextProbeAt)
	}
	if !noHScroll {
		t.Error("at 390 px the page scrolls sideways")
	}
	shot := filepath.Join(t.TempDir(), "link-390.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile("/tmp/bankfeed-link-390.png", png, 0o644)
	t.Logf("screenshot: %s (copied to /tmp/bankfeed-link-390.png)", shot)
	if strings.Contains(l.log.String(), scoped) {
		t.Error("the request log holds the scoped token")
	}
}
