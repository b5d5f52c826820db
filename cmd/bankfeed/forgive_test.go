package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rs/zerolog"

	"bankfeed/api"
	"bankfeed/store"
)

// TestPathsThatCannotExist: a path in a folder that does not exist is a
// usage error (exit 2, one line naming it), not a runtime failure a retry
// might fix, and nothing is synced before it is found.
func TestPathsThatCannotExist(t *testing.T) {
	env, srv, tok := world(t)
	if r := bf(t, env, "business", "put", "biz1", "--processor-token", tok["checking"]); r.code != 0 {
		t.Fatalf("put: %d %s", r.code, r.stderr)
	}
	missing := filepath.Join(t.TempDir(), "no-such-folder")
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range env {
			m[a] = b
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"db folder, run-once", with("BANKFEED_DB", filepath.Join(missing, "bankfeed.db")), []string{"--run-once"}, missing},
		{"db folder, business put", with("BANKFEED_DB", filepath.Join(missing, "bankfeed.db")), []string{"business", "put", "b", "--processor-token", tok["card"]}, missing},
		{"db folder, serve", with("BANKFEED_DB", filepath.Join(missing, "bankfeed.db")), []string{"serve"}, missing},
		{"db folder, tokens list", with("BANKFEED_DB", filepath.Join(missing, "bankfeed.db")), []string{"tokens", "list"}, missing},
		{"backup folder", env, []string{"backup", filepath.Join(missing, "copy.db")}, missing},
		{"report folder, run-once", with("BANKFEED_REPORT_DIR", filepath.Join(missing, "reports")), []string{"--run-once"}, "BANKFEED_REPORT_DIR"},
		{"report folder, run-once reconcile", with("BANKFEED_REPORT_DIR", filepath.Join(missing, "reports")), []string{"--run-once", "--job", "reconcile"}, missing},
		{"report folder, serve", with("BANKFEED_REPORT_DIR", filepath.Join(missing, "reports")), []string{"serve"}, missing},
		{"report folder, report reconcile", with("BANKFEED_REPORT_DIR", filepath.Join(missing, "reports")), []string{"report", "reconcile"}, "BANKFEED_REPORT_DIR"},
		{"--out folder", env, []string{"report", "reconcile", "--out", filepath.Join(missing, "out")}, "--out"},
		{"report folder is a file", with("BANKFEED_REPORT_DIR", file), []string{"--run-once"}, "is a file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bf(t, tt.env, tt.args...)
			if r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and one line naming %q", r.code, r.stderr, tt.want)
			}
			if strings.Contains(r.stderr, "retry") {
				t.Fatalf("a path that cannot exist is not worth a retry: %q", r.stderr)
			}
		})
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("a command created the missing folder: %v", err)
	}
	if n := srv.Calls(tok["checking"], "/processor/transactions/sync"); n != 0 {
		t.Fatalf("%d syncs before the bad report folder was found; want none", n)
	}
	// The report folder itself may be new: bankfeed makes it.
	if r := bf(t, with("BANKFEED_REPORT_DIR", filepath.Join(t.TempDir(), "new")), "--run-once"); r.code != 0 {
		t.Fatalf("run into a new report folder: %d %s", r.code, r.stderr)
	}
}

// TestReadCommandsNeverCreate: with a mistyped BANKFEED_DB, every command
// that reads or maintains a database exits 2 naming the path and how to
// create one, and leaves no file behind.
func TestReadCommandsNeverCreate(t *testing.T) {
	env, _, _ := world(t)
	keyFile := filepath.Join(t.TempDir(), "new.key")
	if err := os.WriteFile(keyFile, []byte("ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "mistyped.db")
	env["BANKFEED_DB"] = db
	for _, args := range [][]string{
		{"tokens", "list"}, {"tokens", "list", "--json"}, {"accounts", "list"}, {"items", "list"}, {"ledger", "balances"},
		{"report", "reconcile"}, {"report", "reconcile", "--date", "2020-01-01"}, {"doctor"}, {"backup", filepath.Join(t.TempDir(), "copy.db")},
		{"link", "biz1"}, {"tokens", "rotate-key", "--new-key-file", keyFile}, {"business", "put", "biz1", "--remove-all"},
	} {
		r := bf(t, env, args...)
		if r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, db) ||
			!strings.Contains(r.stderr, "bankfeed business put") || !strings.Contains(r.stderr, "--run-once") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line naming %s and how to create one", args, r.code, r.stderr, db)
		}
		for _, f := range []string{db, db + "-wal", db + "-shm"} {
			if _, err := os.Stat(f); !os.IsNotExist(err) {
				t.Fatalf("%v created %s", args, f)
			}
		}
	}
}

// TestBusinessPutRemoveAll: listing no token removes a business's tokens
// only with --remove-all; without it the tokens stay and the exit is 2.
func TestBusinessPutRemoveAll(t *testing.T) {
	env, _, tok := world(t)
	if r := bf(t, env, "business", "put", "biz1", "--processor-token", tok["checking"], "--processor-token", tok["card"]); r.code != 0 {
		t.Fatalf("put: %d %s", r.code, r.stderr)
	}
	empty := filepath.Join(t.TempDir(), "tokens.txt")
	if err := os.WriteFile(empty, []byte("# none yet\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"business", "put", "biz1"}, "--remove-all"},
		{[]string{"business", "put", "biz1", "--processor-tokens-file", empty}, "lists no token"},
		{[]string{"business", "put", "biz1", "--remove-all", "--processor-token", tok["card"]}, "--remove-all lists no tokens"},
		{[]string{"business", "put", "nobody", "--remove-all"}, "no such business"},
	}
	for _, tt := range tests {
		r := bf(t, env, tt.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tt.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
	if r := bf(t, env, "tokens", "list", "--json"); strings.Count(r.stdout, `"token_hint"`) != 2 {
		t.Fatalf("a refused put changed the tokens:\n%s", r.stdout)
	}
	if r := bf(t, env, "tokens", "list", "--business", "nobody"); r.code != 2 {
		t.Fatalf("--remove-all created the unknown business: exit %d", r.code)
	}
	r := bf(t, env, "business", "put", "biz1", "--remove-all")
	if r.code != 0 || !strings.Contains(r.stdout, "business biz1 now has 0 processor token(s)") {
		t.Fatalf("--remove-all: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	// A business with nothing to lose may be created, or put, empty.
	for _, id := range []string{"biz1", "biz-new"} {
		if r := bf(t, env, "business", "put", id); r.code != 0 || !strings.Contains(r.stdout, "0 processor token(s)") {
			t.Fatalf("empty put of %s: exit %d %q", id, r.code, r.stderr)
		}
	}
}

// TestBusinessIDRule: the CLI and the API refuse the same ids with the
// same words (exit 2; 400), and accept the same ones.
func TestBusinessIDRule(t *testing.T) {
	env, _, tok := world(t)
	if r := bf(t, env, "business", "put", "seed", "--processor-token", tok["broken"]); r.code != 0 {
		t.Fatalf("put: %d %s", r.code, r.stderr)
	}
	st := openDB(t, env, false)
	defer st.Close()
	hs := httptest.NewServer(api.NewHandler(st, api.Options{APIKeys: []string{"api-key-0123456789abcdef"}, Env: "sandbox", Log: zerolog.Nop()}))
	defer hs.Close()
	post := func(id string) (int, string) {
		body, _ := json.Marshal(map[string]any{"id": id})
		req, _ := http.NewRequest(http.MethodPost, hs.URL+"/v1/businesses", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer api-key-0123456789abcdef")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, &e)
		return resp.StatusCode, e.Error.Message
	}
	rule := store.ErrBadBusinessID.Error()
	for _, id := range []string{"has space", ".leading-dot", "slash/in/it", strings.Repeat("x", 129), "ünïcode", "semi;colon"} {
		r := bf(t, env, "business", "put", id, "--processor-token", tok["card"])
		if r.code != 2 || !strings.Contains(r.stderr, rule) {
			t.Errorf("CLI %q: exit %d, stderr %q; want 2 and the rule", id, r.code, r.stderr)
		}
		if code, msg := post(id); code != http.StatusBadRequest || msg != rule {
			t.Errorf("API %q: %d %q; want 400 and the rule", id, code, msg)
		}
	}
	for _, id := range []string{"biz_1", "org:acme.eu-2", strings.Repeat("y", 128)} {
		if r := bf(t, env, "business", "put", id); r.code != 0 {
			t.Errorf("CLI %q: exit %d %s", id, r.code, r.stderr)
		}
		apiID := "A" + id[1:] // another business, of the same form
		if code, msg := post(apiID); code != http.StatusCreated {
			t.Errorf("API %q: %d %q", apiID, code, msg)
		}
	}
}

// TestDatabaseMode0600: the database and its -wal and -shm are created
// readable by their owner only, whatever the umask.
func TestDatabaseMode0600(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	env, _, tok := world(t)
	if r := bf(t, env, "business", "put", "biz1", "--processor-token", tok["checking"]); r.code != 0 {
		t.Fatalf("put: %d %s", r.code, r.stderr)
	}
	// Keep it open so that -wal and -shm exist while they are checked.
	st := openDB(t, env, false)
	defer st.Close()
	if _, err := st.Business(context.Background(), "biz1"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"", "-wal", "-shm", ".lock"} {
		if f == ".lock" {
			if r := bf(t, env, "--run-once"); r.code != 0 {
				t.Fatalf("run: %d %s", r.code, r.stderr)
			}
		}
		fi, err := os.Stat(env["BANKFEED_DB"] + f)
		if err != nil {
			t.Fatalf("bankfeed.db%s: %v", f, err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("bankfeed.db%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
}
