package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"bankfeed/api"
	"bankfeed/config"
	"bankfeed/jobs"
	"bankfeed/plaidfake"
	"bankfeed/report"
	"bankfeed/store"
)

func parseDate(s string) (time.Time, error) { return time.Parse("2006-01-02", s) }

// cmdSandbox serves the built-in Plaid-compatible server with the demo
// world, for trying bankfeed without Plaid credentials.
func (a *app) cmdSandbox(ctx context.Context, args []string) error {
	fs := newFlagSet("sandbox")
	listen := fs.String("listen", "127.0.0.1:8090", "address to listen on")
	hook := fs.String("webhook-url", "", "a running serve's /plaid/webhook: the sandbox then posts a new transaction to the checking account every --every and tells serve with SYNC_UPDATES_AVAILABLE (Items linked through it send theirs too)")
	every := fs.Duration("every", 30*time.Second, "with --webhook-url: how often the bank changes")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var opts []plaidfake.Option
	if *hook != "" {
		if u, err := url.Parse(*hook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usagef("sandbox --webhook-url %q: use an absolute http(s) URL such as http://127.0.0.1:8080/plaid/webhook", *hook)
		}
		if *every <= 0 {
			return usagef("sandbox --every %s: use a positive duration such as 30s", *every)
		}
		// Items linked through the sandbox send their own webhooks to the
		// URL their link token named.
		opts = append(opts, plaidfake.WithWebhooks())
	}
	srv, tokens := plaidfake.Demo(opts...)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return usagef("sandbox --listen %s: %v", *listen, err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	fmt.Fprintf(a.stdout, "Plaid-compatible sandbox on http://%s\n", ln.Addr())
	fmt.Fprintf(a.stdout, "  export PLAID_BASE_URL=http://%s PLAID_CLIENT_ID=sandbox PLAID_SECRET=sandbox\n", ln.Addr())
	fmt.Fprintf(a.stdout, "  bankfeed business put demo --processor-token %s --processor-token %s --processor-token %s --processor-token %s\n",
		tokens["checking"], tokens["card"], tokens["broken"], tokens["staged"])
	if *hook != "" {
		fmt.Fprintf(a.stdout, "  every %s: a new checking transaction, and SYNC_UPDATES_AVAILABLE to %s\n", *every, *hook)
		go pushChanges(ctx, srv, tokens["checking"], *hook, *every, a.stderr)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}

// cmdDemo runs the whole product offline: the built-in server, a sample
// business, one run and a reconciliation report.
func (a *app) cmdDemo(ctx context.Context, args []string) error {
	fs := newFlagSet("demo")
	dir := fs.String("dir", "", "folder for the demo database and report (default: a new temporary folder)")
	relink := fs.Bool("relink", false, "then re-link the checking account as its customer would after a broken login, run again and show the pair as one ledger account")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "bankfeed-demo-")
		if err != nil {
			return err
		}
		*dir = d
	} else if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	} else if _, err := os.Stat(filepath.Join(*dir, "bankfeed.db")); err == nil {
		// Its tokens and cursors belong to the bank of an earlier demo,
		// which lived only as long as that process: syncing them against
		// a new one fails.
		return usagef("--dir %s: already holds the database of an earlier demo, whose bank is gone; remove it or pick another --dir", *dir)
	}
	// The bank's world is dated from the demo's own clock: its pending
	// items are days old, not months.
	srv, tokens := plaidfake.Demo(plaidfake.WithClock(a.now))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()

	db := filepath.Join(*dir, "bankfeed.db")
	reports := filepath.Join(*dir, "reports")
	demoEnv := map[string]string{
		"BANKFEED_DB": db, "PLAID_BASE_URL": "http://" + ln.Addr().String(), "PLAID_CLIENT_ID": "demo",
		"PLAID_SECRET": "demo", "BANKFEED_REPORT_DIR": reports, "BANKFEED_LOG_LEVEL": "error",
	}
	a.getenv = func(k string) string { return demoEnv[k] }
	a.configFile = ""
	cfg, err := config.Load(a.getenv, "")
	if err != nil {
		return err
	}
	st, err := a.openStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer st.Close()
	st.Now = a.now // what the demo records follows the same clock as its bank
	if _, err := st.PutTokens(ctx, "demo-business", cfg.PlaidEnv, []string{tokens["checking"], tokens["card"], tokens["broken"], tokens["staged"]}, true); err != nil {
		return err
	}
	// A second business links its bank through the Bank Linking page's
	// API: scoped token, link token, Plaid Link, public token, exchange.
	item, linkedAccts, err := demoLink(ctx, st, a.plaidClient(cfg), srv, "demo-linked", a.now)
	if err != nil {
		return fmt.Errorf("demo: link a bank through the page flow: %w", err)
	}
	log := a.logger(cfg)
	r := a.runner(cfg, st, log)
	// Two runs, as two nights would: the second sees the pending dinner
	// post with a tip.
	if _, err := r.Run(ctx, jobs.JobAll); err != nil && !errors.Is(err, jobs.ErrBreak) {
		return err
	}
	plaidfake.DemoPostTip(srv)
	sum, runErr := r.Run(ctx, jobs.JobAll)
	if runErr != nil && !errors.Is(runErr, jobs.ErrBreak) {
		return runErr
	}

	fmt.Fprintln(a.stdout, "bankfeed demo: two businesses, synced twice from the built-in Plaid-compatible server")
	fmt.Fprintln(a.stdout, "  demo-business: four accounts through the platform's processor tokens")
	fmt.Fprintf(a.stdout, "  demo-linked:   a bank linked by bankfeed itself through the Bank Linking page flow (scoped token -> link token -> Plaid Link -> public token -> exchange): Item %s at %s, %d accounts, %s\n",
		item.ItemID, orDash(item.InstitutionID), linkedAccts, item.Status)
	if err := a.demoTable(ctx, st); err != nil {
		return err
	}
	toks, err := api.ListTokens(ctx, st, "", a.now())
	if err != nil {
		return err
	}
	for _, t := range toks {
		switch {
		case t.Status == "needs_refresh":
			fmt.Fprintf(a.stdout, "token …%s needs refresh (%s): %s\n", t.TokenHint, orDash(t.Reason), orDash(t.Remedy))
		case t.History != nil && *t.History == "not_ready":
			fmt.Fprintf(a.stdout, "token …%s: Plaid is still gathering its history (not_ready); nothing is stored yet and each run asks again\n", t.TokenHint)
		case t.History != nil && *t.History == "initial":
			fmt.Fprintf(a.stdout, "token …%s: recent transactions only (initial); the opening balance waits for the full history\n", t.TokenHint)
		}
	}
	if sum.Counts != nil {
		fmt.Fprintf(a.stdout, "last run: %d synced, %d not ready, %d flagged, no paid real-time balance calls (BANKFEED_REALTIME_BALANCES=off)\n",
			sum.Counts["synced"], sum.Counts["not_ready"], sum.Counts["needs_refresh"]+sum.Counts["flagged"])
	}
	if sum.Report != nil {
		fmt.Fprintf(a.stdout, "reconciliation: %d ok, %d timing, %d break, %d needs_refresh\n",
			sum.Report["ok"], sum.Report["timing"], sum.Report["break"], sum.Report["needs_refresh"])
	}
	if err := a.demoHeadline(reports, cfg.Location); err != nil {
		return err
	}
	if *relink {
		if err := a.demoRelink(ctx, st, r, srv, tokens, cfg.PlaidEnv); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.stdout, "database: %s\nreports:  %s (open the .html in a browser)\n", db, reports)
	a.demoNext(db, reports, "demo-business")
	return nil
}

// demoHeadline prints the headline of the report the last run wrote: the
// line a person reads first.
func (a *app) demoHeadline(reports string, loc *time.Location) error {
	path := report.FileNames(reports, a.now().In(loc).Format(time.DateOnly))[0]
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("demo: read the report: %w", err)
	}
	var d struct {
		Headline report.Headline `json:"headline"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return fmt.Errorf("demo: read %s: %w", path, err)
	}
	fmt.Fprintf(a.stdout, "report headline: %s: %s\n", d.Headline.Status, d.Headline.Text)
	return nil
}

// demoNext ends the demo with commands to try on its database, each
// with the setting it needs in front so that it works when pasted.
func (a *app) demoNext(db, reports, business string) {
	env := "BANKFEED_DB=" + shellQuote(db)
	// The demo usually runs through go run, which leaves no binary behind.
	fmt.Fprintln(a.stdout, "\ntry next (build it first: go build -o bankfeed ./cmd/bankfeed; each reads the demo's database):")
	for _, c := range []string{
		"transactions list --business " + business,
		"ledger entries --business " + business,
		"ledger balances --all",
		"ledger export --business " + business + " --format beancount",
		"runs list",
		"report reconcile --out " + shellQuote(reports),
	} {
		fmt.Fprintf(a.stdout, "  %s ./bankfeed %s\n", env, c)
	}
}

// shellQuote quotes s for a POSIX shell unless it is plainly safe.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:,=@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// pushChanges plays a bank that keeps moving: a new transaction on the
// checking account, then the processor webhook Plaid would send.
func pushChanges(ctx context.Context, srv *plaidfake.Server, checking, hook string, every time.Duration, stderr io.Writer) {
	acct, _ := srv.ProcessorSyncUpdatesAvailable(checking)["account_id"].(string)
	t := time.NewTicker(every)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		srv.AddTxn(plaidfake.Txn{AccountID: acct, Date: time.Now().UTC().Format(time.DateOnly),
			Name: fmt.Sprintf("SANDBOX CARD PURCHASE %d", n), Amount: "9.99"})
		if err := srv.SendWebhook(hook, srv.ProcessorSyncUpdatesAvailable(checking)); err != nil {
			fmt.Fprintf(stderr, "sandbox: webhook: %v\n", err)
		}
	}
}

// demoTable shows each account with what its bank says and its ledger
// account: a re-linked pair has one ledger account, shown on the newer.
func (a *app) demoTable(ctx context.Context, st *store.Store) error {
	accts, err := api.ListAccounts(ctx, st, "")
	if err != nil {
		return err
	}
	bals, err := api.ListLedgerBalances(ctx, st, "")
	if err != nil {
		return err
	}
	byAcct := map[string]api.LedgerBalanceOut{}
	for _, b := range bals {
		byAcct[b.AccountID] = b
	}
	var rows [][]string
	for _, x := range accts {
		b, ok := byAcct[x.AccountID]
		ledgerBal, posted, pending := "-", "-", "-"
		if ok {
			ledgerBal, posted, pending = b.LedgerBalance, fmt.Sprint(b.PostedCount), fmt.Sprint(b.PendingCount)
		}
		rows = append(rows, []string{x.BusinessID, x.Name, x.Mask, x.Type, x.TokenStatus, orDash(x.CurrentBalance), ledgerBal, posted, pending})
	}
	return a.table("BUSINESS\tACCOUNT\tMASK\tTYPE\tLINK\tBANK SAYS\tLEDGER\tPOSTED\tPENDING", rows)
}

// demoRelink re-links the demo's checking account as its customer would
// after its login broke (a new Plaid Item: new account and transaction ids
// for the same history), puts the new token in place of the old one
// (replace semantics), runs, and shows that the pair is one ledger account.
func (a *app) demoRelink(ctx context.Context, st *store.Store, r *jobs.Runner, srv *plaidfake.Server, tokens map[string]string, env string) error {
	fmt.Fprintln(a.stdout, "\nre-link: the checking account's login broke and its customer linked the bank again: a new Plaid Item")
	fmt.Fprintln(a.stdout, "with new account and transaction ids for the same account and history, plus one new deposit")
	tokens["checking"] = plaidfake.DemoRelink(srv)
	if _, err := st.PutTokens(ctx, "demo-business", env, []string{tokens["checking"], tokens["card"], tokens["broken"], tokens["staged"]}, true); err != nil {
		return err
	}
	sum, err := r.Run(ctx, jobs.JobAll)
	if err != nil && !errors.Is(err, jobs.ErrBreak) {
		return err
	}
	if err := a.demoTable(ctx, st); err != nil {
		return err
	}
	for _, res := range sum.Results {
		if c := res.Applied; c.Succeeds != "" {
			fmt.Fprintf(a.stdout, "the new checking account continues the ledger account of %s: %d transactions the new link delivered again were matched and not posted twice; %d new posted\n",
				c.Succeeds, c.Duplicates, c.Posted)
		}
	}
	fmt.Fprintln(a.stdout, "\n$ bankfeed accounts list")
	if err := a.cmdAccountsList(ctx, nil); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, "\n$ bankfeed ledger balances")
	if err := a.cmdLedgerBalances(ctx, nil); err != nil {
		return err
	}
	if sum.Report != nil {
		fmt.Fprintf(a.stdout, "reconciliation: %d ok, %d timing, %d break, %d needs_refresh\n",
			sum.Report["ok"], sum.Report["timing"], sum.Report["break"], sum.Report["needs_refresh"])
	}
	return nil
}
