package main

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestHelp: --help, -h and help print every command to stdout and exit 0;
// so do help COMMAND and COMMAND --help for each command, without running
// it (no database appears).
func TestHelp(t *testing.T) {
	env := map[string]string{"BANKFEED_DB": filepath.Join(t.TempDir(), "bankfeed.db")}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"--config", "x.conf", "--help"}} {
		r := bf(t, env, args...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
		for _, c := range commands {
			if !strings.Contains(r.stdout, "bankfeed "+c.usage+"\n") {
				t.Errorf("%v does not show %q", args, c.usage)
			}
		}
		if strings.Count(r.stdout, "\n") < len(commands) {
			t.Errorf("%v: not one line per command:\n%s", args, r.stdout)
		}
	}
	for _, c := range commands {
		asked := [][]string{append([]string{"help"}, strings.Fields(c.name)...), append(strings.Fields(c.name), "--help")}
		if c.name == runOnceName {
			asked = [][]string{{"help", "run-once"}, {"help", "--run-once"}, {"--run-once", "--help"}, {"--run-once", "-h"}}
		}
		for _, args := range asked {
			r := bf(t, env, args...)
			if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "usage: bankfeed "+c.usage+"\n\n"+c.about) {
				t.Errorf("%v: exit %d, stderr %q, stdout:\n%s", args, r.code, r.stderr, r.stdout)
			}
			for _, f := range c.flags {
				name, _, _ := strings.Cut(f, "\t")
				if !strings.Contains(r.stdout, "  "+name+"  ") {
					t.Errorf("%v does not list flag %s", args, name)
				}
			}
		}
	}
	// A group's word lists its commands.
	r := bf(t, env, "help", "tokens")
	if r.code != 0 || !strings.Contains(r.stdout, "bankfeed tokens list [--business ID] [--json]\n") || !strings.Contains(r.stdout, "bankfeed tokens rotate-key") {
		t.Fatalf("help tokens: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = bf(t, env, "business", "put", "biz1", "--remove-all", "--help")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: bankfeed business put") {
		t.Fatalf("business put --help: exit %d %q", r.code, r.stdout)
	}
	if _, err := os.Stat(env["BANKFEED_DB"]); !os.IsNotExist(err) {
		t.Fatalf("help ran the command: %s exists (%v)", env["BANKFEED_DB"], err)
	}
}

// TestCommandTable keeps the table fit for the texts built from it: a
// unique name, a synopsis starting with the name, and a description of
// 2-4 lines whose first line stands alone as the summary.
func TestCommandTable(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range commands {
		if seen[c.name] {
			t.Errorf("%s: listed twice", c.name)
		}
		seen[c.name] = true
		if !strings.Contains(c.usage, c.name) {
			t.Errorf("%s: usage %q does not name it", c.name, c.usage)
		}
		lines := strings.Split(c.about, "\n")
		if len(lines) < 2 || len(lines) > 4 {
			t.Errorf("%s: description has %d lines, want 2-4", c.name, len(lines))
		}
		if !strings.HasSuffix(lines[0], ".") {
			t.Errorf("%s: summary %q is not a sentence", c.name, lines[0])
		}
		for _, f := range c.flags {
			if name, what, ok := strings.Cut(f, "\t"); !ok || !strings.HasPrefix(name, "--") || what == "" {
				t.Errorf("%s: flag doc %q is not \"--flag ARG\\twhat\"", c.name, f)
			}
		}
		if c.run == nil && c.name != runOnceName && c.name != "help" {
			t.Errorf("%s: no run function", c.name)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"launch"}, []string{`unknown command "launch"`, "tokens list", "report reconcile", "version"}},
		{[]string{"tokens", "frob"}, []string{`unknown command "tokens frob"`, "tokens takes list, rotate-key"}},
		{[]string{"ledger"}, []string{`unknown command "ledger"`, "ledger takes balances"}},
		{[]string{"help", "tokens", "frob"}, []string{`unknown command "tokens frob"`}},
		{[]string{"run-once"}, []string{"bankfeed --run-once"}},
		{[]string{"help", "nosuch"}, []string{`unknown command "nosuch"`}},
		{nil, []string{"no command given", "bankfeed --help"}},
	}
	for _, tt := range tests {
		r := bf(t, map[string]string{}, tt.args...)
		if r.code != 2 || r.stdout != "" || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and one line", tt.args, r.code, r.stdout, r.stderr)
		}
		for _, w := range tt.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%v: stderr %q lacks %q", tt.args, r.stderr, w)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := bf(t, map[string]string{}, args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "bankfeed ") || !strings.HasSuffix(r.stdout, runtime.Version()+"\n") {
			t.Fatalf("%v: exit %d %q %q", args, r.code, r.stdout, r.stderr)
		}
	}
	if r := bf(t, map[string]string{}, "version", "extra"); r.code != 2 {
		t.Fatalf("version extra: exit %d", r.code)
	}
}

// TestHelpListsEveryFlag: each command's help lists exactly the flags it
// defines, so a flag added to a command cannot stay undocumented (as
// --transaction once did) and a removed one cannot linger in the help.
func TestHelpListsEveryFlag(t *testing.T) {
	defined := map[string]map[string]bool{}
	sawFlags = func(fs *flag.FlagSet) {
		if defined[fs.Name()] == nil {
			defined[fs.Name()] = map[string]bool{}
		}
		fs.VisitAll(func(f *flag.Flag) { defined[fs.Name()]["--"+f.Name] = true })
	}
	t.Cleanup(func() { sawFlags = nil })
	env := map[string]string{"BANKFEED_DB": filepath.Join(t.TempDir(), "bankfeed.db")}
	for _, c := range commands {
		if c.run == nil || c.name == "help" {
			continue
		}
		words := strings.Fields(c.name)
		// An unknown flag stops every command at its parse, before it does
		// anything; some take an argument (BUSINESS_ID, RUN_ID) before it.
		args := append(words, "--zz-not-a-flag")
		if rest := strings.Fields(strings.TrimPrefix(c.usage, c.name)); len(rest) > 0 && rest[0] == strings.ToUpper(rest[0]) && !strings.HasPrefix(rest[0], "[") {
			args = append(words, "X", "--zz-not-a-flag")
		}
		if r := bf(t, env, args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (an unknown flag)", args, r.code)
		}
		got := defined[c.name]
		if c.name == runOnceName {
			got = defined["bankfeed"]
			delete(got, "--run-once")
		}
		documented := map[string]bool{}
		for _, f := range c.flags {
			name, _, _ := strings.Cut(f, "\t")
			name, _, _ = strings.Cut(name, " ")
			documented[name] = true
		}
		for name := range got {
			if !documented[name] {
				t.Errorf("%s defines %s, which its help does not list", c.name, name)
			}
		}
		for name := range documented {
			if !got[name] {
				t.Errorf("%s's help lists %s, which it does not define", c.name, name)
			}
		}
	}
}
