package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"
)

// command is one entry of the command table: the dispatcher, the usage
// text, `help COMMAND` and the unknown-command message all read it, so a
// new command is one entry here.
type command struct {
	name  string   // the words that select it: "tokens list"
	usage string   // the synopsis, without "bankfeed "
	about string   // 2-4 lines; the first is the summary in --help
	flags []string // "--flag ARG\twhat it does"
	run   func(a *app, ctx context.Context, args []string) error
}

// runOnceName is the table's entry for the global --run-once flag, which
// the dispatcher handles before any command word.
const runOnceName = "--run-once"

// commands lists every command in the order --help shows them.
var commands = []command{
	{name: runOnceName, usage: "[--config FILE] --run-once [--job sync|balances|reconcile|probe|all]",
		about: `Run the jobs once and exit (default: all).
Syncs active tokens, probes flagged ones, takes balances, reconciles and writes the report.
Exit status: 0 ok, 1 a retry may help, 2 fix the setup, 3 a break, 4 locked (see the README).
On a terminal it ends with a short summary and the report's path; otherwise JSON log lines only.`,
		flags: []string{"--config FILE\tsettings file (KEY=VALUE lines); the environment wins", "--job NAME\tsync, balances, reconcile, probe or all (default all)"}},
	{name: "serve", usage: "[--config FILE] serve",
		about: `Run the scheduler in the foreground (the container's default command).
Runs each job on its BANKFEED_*_SCHEDULE and catches up a run missed while it was stopped.
Always listens on BANKFEED_LISTEN: /metrics, /healthz, /readyz and /plaid/webhook need no key;
the business API answers only with BANKFEED_API_KEYS. Delivers notifications from its own goroutine.`,
		run: (*app).cmdServe},
	{name: "business put", usage: "business put BUSINESS_ID --processor-token T [--processor-token T ...] | --processor-tokens-file F|- | --remove-all",
		about: `Create the business if needed and replace its processor tokens.
Tokens not listed are removed; removing every token needs --remove-all (a forgotten flag never empties a business).
Only a token's form is checked (processor-<env>-<id>, <env> matching PLAID_ENV); Plaid first sees it on the next run.`,
		flags: []string{"--processor-token T\ta processor token (repeatable)", "--processor-tokens-file F\tfile with one token a line (# comments), - for stdin",
			"--remove-all\tremove every token of the business (and list none)"},
		run: (*app).cmdBusinessPut},
	{name: "tokens list", usage: "tokens list [--business ID] [--json]",
		about: `List processor tokens and Items, each by its hint (never whole).
Shows status, Plaid's reason when flagged, account, last sync, history state,
and what to do about a flagged one.`,
		flags: listFlagDocs, run: (*app).cmdTokensList},
	{name: "tokens rotate-key", usage: "tokens rotate-key --new-key-file F",
		about: `Re-encrypt every token under a new key.
One transaction, holding the run lock. Then set BANKFEED_TOKEN_KEY to the new key and restart every bankfeed using this database.`,
		flags: []string{"--new-key-file F\tfile holding the new 32-byte key, base64 (head -c 32 /dev/urandom | base64)"},
		run:   (*app).cmdRotateKey},
	{name: "accounts list", usage: "accounts list [--business ID] [--json]",
		about: `List Plaid accounts ("List Plaid Accounts").
Each account with its token, the balance of its newest sync,
and the account a re-linked one continues (or is continued by).`,
		flags: listFlagDocs, run: (*app).cmdAccountsList},
	{name: "items list", usage: "items list [--business ID] [--json]",
		about: `List the Plaid Items bankfeed linked itself.
Items come from the Bank Linking page; shows status, reason, accounts and last sync.`,
		flags: listFlagDocs, run: (*app).cmdItemsList},
	{name: "link", usage: "link BUSINESS_ID [--base-url URL]",
		about: `Print the Bank Linking page's URL for a business.
The URL carries a fresh scoped token (valid 15 minutes, this business only) for an operator
to hand to the business; serve must be running to answer it.`,
		flags: []string{"--base-url URL\tpublic URL of serve (default: http:// and BANKFEED_LISTEN)"},
		run:   (*app).cmdLink},
	{name: "transactions list", usage: "transactions list [--business ID] [--account ID] [--transaction ID] [--since D] [--until D] [--status S] [--json|--csv]",
		about: `List every bank transaction bankfeed holds, in the order it stored them.
Each with its status (posted, pending, removed: a hold that settled or vanished, duplicate: a re-linked copy),
its effect on the account's balance, Plaid's amount, and its live journal entry.
Dates are YYYY-MM-DD, inclusive; output is streamed (table, JSON array, or CSV).`,
		flags: []string{"--business ID\tonly this business (an unknown one is an error, exit 2)", "--account ID\tonly this account (Plaid's account_id)",
			"--transaction ID\tonly this transaction (Plaid's transaction_id), whatever its status", "--since D\ton or after this date", "--until D\ton or before this date", "--status S\tposted, pending, removed or duplicate",
			"--json\tthe contract JSON array", "--csv\tCSV with a header"},
		run: (*app).cmdTransactionsList},
	{name: "ledger balances", usage: "ledger balances [--all] [--business ID] [--json]",
		about: `Show each bank account's ledger balance.
One row per ledger account: the balance (opening included), the posted transactions
counted once, and pending transactions with their natural-sign total.
--all: every ledger account by name (bank, suspense, opening equity) as a trial balance that must total 0 per currency.`,
		flags: append([]string{"--all\tevery ledger account, with a per-currency total (exit 1 when it is not 0)"}, listFlagDocs...),
		run:   (*app).cmdLedgerBalances},
	{name: "ledger entries", usage: "ledger entries [--business ID] [--account ID] [--transaction ID] [--since D] [--json|--csv]",
		about: `List journal entries in date order with their kind (txn, reversal, opening) and every line.
A reversal names the entry it undoes; the table and CSV show each line's running balance in the account's natural sign.
With --since it starts from the balance carried in; --account follows a re-linked account's whole book;
--transaction shows one transaction's story: posted, reversed, posted again (the balance is its net effect).`,
		flags: []string{"--business ID\tonly this business (an unknown one is an error, exit 2)", "--account ID\tonly this bank account's book",
			"--transaction ID\tonly the entries of this Plaid transaction", "--since D\tentries on or after this date", "--json\tthe contract JSON array", "--csv\tCSV with a header"},
		run: (*app).cmdLedgerEntries},
	{name: "ledger export", usage: "ledger export --business ID --format csv|json|beancount [--since D]",
		about: `Write one business's books to stdout, streamed.
beancount gives a file bean-check accepts, with balance assertions that prove it adds up to the books;
with --since, the earlier history is one balancing transaction.`,
		flags: []string{"--business ID\tthe business (required)", "--format F\tcsv, json or beancount (required)", "--since D\tentries on or after this date"},
		run:   (*app).cmdLedgerExport},
	{name: "runs list", usage: "runs list [--json]",
		about: `List job runs, newest first: one row per job.
Job, start and finish, outcome (ok, partial, failed, interrupted; running while it runs), tokens, changes, errors.`,
		flags: []string{"--json\tthe contract JSON array"}, run: (*app).cmdRunsList},
	{name: "runs show", usage: "runs show RUN_ID [--json]",
		about: `Show everything recorded of one run.
Duration, pages, every count, the error, the tokens that failed or were flagged (hint and Plaid code only)
and a reconcile's report files. An unknown id exits 2.`,
		flags: []string{"--json\tJSON instead of text"}, run: (*app).cmdRunsShow},
	{name: "notifications list", usage: "notifications list [--all] [--json]",
		about: `List events not yet delivered to BANKFEED_NOTIFY_URL.
Pending ones with their attempts, next attempt and last error, and failed ones (given up after 3 days of retries).
--all adds delivered and skipped events (kept 30 days).`,
		flags: []string{"--all\tdelivered and skipped events too", "--json\tJSON instead of a table"},
		run:   (*app).cmdNotificationsList},
	{name: "report reconcile", usage: "report reconcile [--date YYYY-MM-DD] [--out DIR]",
		about: `Reconcile and write the report.
Writes DIR/reconciliation-DATE.{json,csv,html}; a past --date re-renders the stored
reconciliation of that day. Exit 3 when an account is in break.`,
		flags: []string{"--date YYYY-MM-DD\tdefault today (BANKFEED_TZ); a past date re-renders from stored data",
			"--out DIR\tfolder for the files (default BANKFEED_REPORT_DIR); its parent folder must exist"},
		run: (*app).cmdReport},
	{name: "doctor", usage: "doctor",
		about: `Check the database.
Integrity, journal invariants, running balances, and the journal rebuilt from the raw sync pages.
Takes the run lock; exit 1 with one line per problem found.`,
		run: (*app).cmdDoctor},
	{name: "backup", usage: "backup DEST",
		about: `Write a consistent copy of the database to DEST.
SQLite's online backup API, safe while a run writes. Never overwrites DEST; the copy has mode 0600 (it holds the encrypted tokens). DEST's folder must exist.`,
		run: (*app).cmdBackup},
	{name: "sandbox", usage: "sandbox [--listen ADDR] [--webhook-url URL] [--every D]",
		about: `Serve the built-in Plaid-compatible server with the demo world.
Prints the PLAID_BASE_URL and tokens to use. With --webhook-url it keeps adding
transactions and tells a running serve.`,
		flags: []string{"--listen ADDR\taddress to listen on (default 127.0.0.1:8090)",
			"--webhook-url URL\ta running serve's /plaid/webhook, told of each new transaction",
			"--every D\twith --webhook-url: how often the bank changes (default 30s)"},
		run: (*app).cmdSandbox},
	{name: "demo", usage: "demo [--dir DIR] [--relink]",
		about: `Show bankfeed at work, offline.
The sandbox, a sample business, a bank linked through the page flow, two runs and a report.
--relink then re-links the checking account and shows the pair as one ledger account.`,
		flags: []string{"--dir DIR\tfolder for the demo database and report (default: a new temporary folder)",
			"--relink\tthen re-link the checking account as its customer would after a broken login"},
		run: (*app).cmdDemo},
	{name: "version", usage: "version",
		about: `Print bankfeed's version.
The module version, the commit it was built from (when the build recorded one) and the Go version.
bankfeed --version prints the same.`,
		run: (*app).cmdVersion},
	{name: "help", usage: "help [COMMAND]",
		about: `Show the commands, or one command's usage, flags and what it does.
bankfeed COMMAND --help shows the same.`},
	// run: cmdHelp, set by the dispatcher (help reads this table)
}

var listFlagDocs = []string{"--business ID\tonly this business (an unknown one is an error, exit 2)", "--json\tthe contract JSON instead of a table"}

const helpFooter = `Settings come from the environment (see the README); --config FILE sets the same keys, the environment wins.
Run bankfeed help COMMAND for a command's flags and what it does.`

// usage is the text of bankfeed --help: every command's synopsis with the
// first line of what it does.
func usage() string {
	var b strings.Builder
	b.WriteString("bankfeed keeps a double-entry ledger in step with bank accounts linked through Plaid.\n\nusage:\n")
	for _, c := range commands {
		summary, _, _ := strings.Cut(c.about, "\n")
		fmt.Fprintf(&b, "  bankfeed %s\n      %s\n", c.usage, summary)
	}
	b.WriteString("\n" + helpFooter + "\n")
	return b.String()
}

// help is the text of bankfeed help COMMAND.
func (c command) help() string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: bankfeed %s\n\n%s\n", c.usage, c.about)
	if len(c.flags) > 0 {
		b.WriteString("\nflags:\n")
		width := 0
		for _, f := range c.flags {
			name, _, _ := strings.Cut(f, "\t")
			width = max(width, len(name))
		}
		for _, f := range c.flags {
			name, what, _ := strings.Cut(f, "\t")
			fmt.Fprintf(&b, "  %-*s  %s\n", width, name, what)
		}
	}
	return b.String()
}

// lookup finds the command args start with, and the arguments after its
// words. A bare "--run-once" or "run-once" names the run-once entry (for help).
func lookup(args []string) (command, []string, bool) {
	if len(args) > 0 && (args[0] == "run-once" || args[0] == runOnceName) {
		return commands[0], args[1:], true
	}
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && slices.Equal(args[:len(words)], words) {
			return c, args[len(words):], true
		}
	}
	return command{}, nil, false
}

// unknownCommand says what there is instead: the sub-commands of a known
// first word, or every command.
func unknownCommand(args []string) error {
	if args[0] == "run-once" {
		return usagef("run-once is a flag: bankfeed --run-once (see bankfeed help run-once)")
	}
	var subs, all []string
	for _, c := range commands {
		if c.name == runOnceName {
			continue
		}
		all = append(all, c.name)
		if first, rest, ok := strings.Cut(c.name, " "); ok && first == args[0] {
			subs = append(subs, rest)
		}
	}
	if len(subs) > 0 {
		got := args[0]
		if len(args) > 1 {
			got += " " + args[1]
		}
		return usagef("unknown command %q: %s takes %s (see bankfeed help %s)", got, args[0], strings.Join(subs, ", "), args[0]+" "+subs[0])
	}
	return usagef("unknown command %q: the commands are %s (see bankfeed --help)", args[0], strings.Join(all, ", "))
}

// wantsHelp reports whether the arguments ask for help: -h, -help or
// --help before any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

func (a *app) cmdHelp(_ context.Context, args []string) error {
	if len(args) == 0 {
		_, err := io.WriteString(a.stdout, usage())
		return err
	}
	c, rest, ok := lookup(args)
	if !ok && len(args) == 1 {
		// A group's first word: its commands, as --help shows them.
		var b strings.Builder
		for _, c := range commands {
			if first, _, sub := strings.Cut(c.name, " "); sub && first == args[0] {
				summary, _, _ := strings.Cut(c.about, "\n")
				fmt.Fprintf(&b, "  bankfeed %s\n      %s\n", c.usage, summary)
			}
		}
		if b.Len() > 0 {
			_, err := io.WriteString(a.stdout, "usage:\n"+b.String())
			return err
		}
	}
	if !ok || len(rest) > 0 {
		return unknownCommand(args)
	}
	_, err := io.WriteString(a.stdout, c.help())
	return err
}

func (a *app) cmdVersion(_ context.Context, args []string) error {
	if len(args) > 0 {
		return usagef("version takes no arguments")
	}
	_, err := fmt.Fprintln(a.stdout, version())
	return err
}

// version describes the build from what the Go toolchain recorded in the
// binary: the module version (a tag when built with go install), the
// commit and whether the tree had local changes.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "bankfeed (no build information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	s := "bankfeed " + v
	settings := map[string]string{}
	for _, kv := range bi.Settings {
		settings[kv.Key] = kv.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		s += " commit " + rev[:min(12, len(rev))]
		if t := settings["vcs.time"]; t != "" {
			s += " " + t
		}
		if settings["vcs.modified"] == "true" {
			s += " (modified)"
		}
	}
	if settings["vcs.revision"] == "" {
		s += " (no commit recorded: built outside git or with -buildvcs=false)"
	}
	return s + " " + bi.GoVersion
}
