package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"bankfeed/api"
	"bankfeed/config"
	"bankfeed/jobs"
	"bankfeed/store"
)

// stringsFlag collects a repeatable flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return fmt.Sprintf("%d values", len(*s)) }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

func (a *app) cmdBusinessPut(ctx context.Context, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usagef("business put needs a BUSINESS_ID first: bankfeed business put BUSINESS_ID --processor-token T ...")
	}
	id := args[0]
	fs := newFlagSet("business put")
	var toks stringsFlag
	var file string
	var removeAll bool
	fs.Var(&toks, "processor-token", "a processor token (repeatable)")
	fs.StringVar(&file, "processor-tokens-file", "", "file with one token per line, - for stdin")
	fs.BoolVar(&removeAll, "remove-all", false, "remove every token of the business")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("business put: unexpected argument %q", fs.Arg(0))
	}
	if removeAll && (len(toks) > 0 || file != "") {
		return usagef("business put: --remove-all lists no tokens; drop it to replace the tokens, or drop the tokens to remove them all")
	}
	if file != "" {
		if len(toks) > 0 {
			return usagef("business put: use --processor-token or --processor-tokens-file, not both")
		}
		fromFile, err := a.readTokens(file)
		if err != nil {
			return err
		}
		toks = fromFile
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	// Removing tokens needs a business that has them: never a new
	// database or a new business made only to be empty.
	open := a.openStore
	if removeAll {
		open = func(ctx context.Context, cfg config.Config, _ bool) (*store.Store, error) {
			return a.existingStore(ctx, cfg)
		}
	}
	st, err := open(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer st.Close()
	if len(toks) == 0 && !removeAll {
		// A forgotten flag must not empty a business: listing none is
		// refused when there is something to lose (a new or empty business
		// is created or kept as it is).
		b, err := st.Business(ctx, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if n := len(b.Tokens); n > 0 {
			given := "no tokens given"
			if file != "" {
				given = "--processor-tokens-file " + file + " lists no token"
			}
			return usagef("business put %s: %s, which would remove its %d processor token(s); pass --processor-token T or --processor-tokens-file F, or --remove-all to remove them all", id, given, n)
		}
	}
	b, err := st.PutTokens(ctx, id, cfg.PlaidEnv, dedupe(toks), !removeAll)
	if errors.Is(err, store.ErrNotFound) {
		return usagef("business put %s --remove-all: no such business (bankfeed tokens list shows the businesses there are)", id)
	}
	if err != nil {
		return fmt.Errorf("business put %s: %w", id, err)
	}
	fmt.Fprintf(a.stdout, "business %s now has %d processor token(s)\n", b.ID, len(b.Tokens))
	for _, t := range b.Tokens {
		fmt.Fprintf(a.stdout, "  …%s  %s\n", t.Hint, t.Status)
	}
	return nil
}

func (a *app) readTokens(file string) ([]string, error) {
	var r io.Reader = a.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, usagef("--processor-tokens-file: %v", err)
		}
		defer f.Close()
		r = f
	}
	var out []string
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out, sc.Err()
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// listFlags parses the common --business and --json flags.
func listFlags(name string, args []string) (business string, asJSON bool, err error) {
	fs := newFlagSet(name)
	fs.StringVar(&business, "business", "", "only this business")
	fs.BoolVar(&asJSON, "json", false, "JSON output")
	if err := parseFlags(fs, args); err != nil {
		return "", false, err
	}
	if fs.NArg() > 0 {
		return "", false, usagef("%s: unexpected argument %q", name, fs.Arg(0))
	}
	return business, asJSON, nil
}

// readStore opens the database of a command that reads it: it must exist.
func (a *app) readStore(ctx context.Context) (*store.Store, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	return a.existingStore(ctx, cfg)
}

// checkBusiness refuses a --business filter naming no business (exit 2),
// as the API answers 404: an empty list would hide a typo.
func checkBusiness(ctx context.Context, st *store.Store, id string) error {
	if id == "" {
		return nil
	}
	_, err := st.Business(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return usagef("unknown business %q (bankfeed tokens list shows the businesses there are)", id)
	}
	return err
}

func (a *app) writeJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (a *app) table(header string, rows [][]string) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

func orDash(p *string) string {
	if p == nil || *p == "" {
		return "-"
	}
	return *p
}

// list runs one of the list commands: the same flags, the same store, and
// either the contract JSON or a table for people.
func list[T any](ctx context.Context, a *app, name string, args []string, fetch func(context.Context, *store.Store, string) ([]T, error),
	header string, row func(T) []string) error {
	business, asJSON, err := listFlags(name, args)
	if err != nil {
		return err
	}
	return listParsed(ctx, a, business, asJSON, fetch, header, row)
}

// listParsed is list once its flags are parsed.
func listParsed[T any](ctx context.Context, a *app, business string, asJSON bool, fetch func(context.Context, *store.Store, string) ([]T, error),
	header string, row func(T) []string) error {
	st, err := a.readStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := checkBusiness(ctx, st, business); err != nil {
		return err
	}
	out, err := fetch(ctx, st, business)
	if err != nil {
		return err
	}
	if asJSON {
		return a.writeJSON(out)
	}
	rows := make([][]string, 0, len(out))
	for _, x := range out {
		rows = append(rows, row(x))
	}
	return a.table(header, rows)
}

func (a *app) cmdTokensList(ctx context.Context, args []string) error {
	fetch := func(ctx context.Context, st *store.Store, b string) ([]api.TokenOut, error) {
		return api.ListTokens(ctx, st, b, a.now())
	}
	return list(ctx, a, "tokens list", args, fetch, "BUSINESS\tTOKEN\tSTATUS\tREASON\tACCOUNT\tLAST SYNC\tHISTORY\tTO FIX",
		func(t api.TokenOut) []string {
			return []string{t.BusinessID, "…" + t.TokenHint, t.Status, orDash(t.Reason), orDash(t.AccountID), orDash(t.LastSyncedAt),
				orDash(t.History), orDash(t.Remedy)}
		})
}

func (a *app) cmdAccountsList(ctx context.Context, args []string) error {
	return list(ctx, a, "accounts list", args, api.ListAccounts, "BUSINESS\tACCOUNT\tNAME\tMASK\tTYPE\tCUR\tTOKEN\tTOKEN STATUS\tCURRENT\tAS OF\tRE-LINK",
		func(x api.AccountOut) []string {
			return []string{x.BusinessID, x.AccountID, x.Name, x.Mask, x.Type + "/" + x.Subtype, x.Currency,
				tokenCol(x), x.TokenStatus, orDash(x.CurrentBalance), orDash(x.BalanceAsOf), relinkCell(x)}
		})
}

// relinkCell says which account a re-linked one continues, or which
// continues it.
func relinkCell(x api.AccountOut) string {
	switch {
	case x.Replaces != nil:
		return "replaces " + *x.Replaces
	case x.ReplacedBy != nil:
		return "replaced by " + *x.ReplacedBy
	}
	return "-"
}

func (a *app) cmdLedgerBalances(ctx context.Context, args []string) error {
	fs := newFlagSet("ledger balances")
	var business string
	var asJSON, all bool
	fs.StringVar(&business, "business", "", "only this business")
	fs.BoolVar(&asJSON, "json", false, "JSON output")
	fs.BoolVar(&all, "all", false, "every ledger account: a trial balance")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("ledger balances: unexpected argument %q", fs.Arg(0))
	}
	if all {
		return a.cmdLedgerTrial(ctx, business, asJSON)
	}
	return listParsed(ctx, a, business, asJSON, api.ListLedgerBalances, "BUSINESS\tACCOUNT\tCUR\tLEDGER BALANCE\tPOSTED\tPENDING\tPENDING TOTAL",
		func(x api.LedgerBalanceOut) []string {
			return []string{x.BusinessID, x.AccountID, x.Currency, x.LedgerBalance, fmt.Sprint(x.PostedCount), fmt.Sprint(x.PendingCount), x.PendingTotal}
		})
}

func (a *app) cmdReport(ctx context.Context, args []string) error {
	fs := newFlagSet("report reconcile")
	var date, out string
	fs.StringVar(&date, "date", "", "YYYY-MM-DD (default today); a past date re-renders from stored data")
	fs.StringVar(&out, "out", "", "folder for the files (default BANKFEED_REPORT_DIR)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("report reconcile: unexpected argument %q", fs.Arg(0))
	}
	if date != "" && !validDate(date) {
		return usagef("--date %q: use YYYY-MM-DD", date)
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	if out == "" {
		out = cfg.ReportDir
	}
	if today := a.now().In(cfg.Location).Format("2006-01-02"); date > today {
		return usagef("--date %s is in the future (today is %s in %s)", date, today, cfg.Location)
	}
	setting := "--out"
	if out == cfg.ReportDir {
		setting = "BANKFEED_REPORT_DIR"
	}
	if err := checkReportDir(setting, out); err != nil {
		return err
	}
	st, err := a.existingStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	lock, err := store.LockRun(ctx, cfg.DBPath, cfg.LockWait)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	rep, paths, err := jobs.Reconcile(ctx, st, jobs.ReconcileOptions{Date: date, Dir: out, Now: a.now, Location: cfg.Location})
	if err != nil && !errors.Is(err, jobs.ErrBreak) {
		return err
	}
	s := rep.Summary
	fmt.Fprintf(a.stdout, "reconciliation %s: %d accounts: %d ok, %d timing, %d break, %d stale, %d no_anchor, %d needs_refresh\n",
		rep.Date, s.Accounts, s.OK, s.Timing, s.Break, s.Stale, s.NoAnchor, s.NeedsRefresh)
	h := rep.Headline()
	fmt.Fprintf(a.stdout, "  %s: %s\n", h.Status, h.Text)
	for _, p := range paths {
		fmt.Fprintln(a.stdout, "  wrote "+p)
	}
	return err
}

func (a *app) cmdRotateKey(ctx context.Context, args []string) error {
	fs := newFlagSet("tokens rotate-key")
	var keyFile string
	fs.StringVar(&keyFile, "new-key-file", "", "file holding the new 32-byte key, base64")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if keyFile == "" {
		return usagef("tokens rotate-key needs --new-key-file F (generate one with: head -c 32 /dev/urandom | base64)")
	}
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		return usagef("--new-key-file: %v", errors.Unwrap(err))
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(key) != config.TokenKeySize {
		return usagef("--new-key-file: must hold 32 bytes of base64 (generate one with: head -c 32 /dev/urandom | base64)")
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	st, err := a.existingStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	// No run may reveal a token between the re-seal and the restart.
	lock, err := store.LockRun(ctx, cfg.DBPath, cfg.LockWait)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	n, err := st.RotateKey(ctx, key)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "re-encrypted %d processor token(s); set BANKFEED_TOKEN_KEY to the new key before the next run\n", n)
	return nil
}

func validDate(s string) bool {
	return len(s) == 10 && s[4] == '-' && s[7] == '-' && func() bool {
		_, err := parseDate(s)
		return err == nil
	}()
}

// tokenCol names what syncs an account: its processor token by hint, or
// the Item bankfeed linked.
func tokenCol(x api.AccountOut) string {
	if x.TokenHint == nil {
		return "item " + orDash(x.ItemID)
	}
	return "…" + *x.TokenHint
}
