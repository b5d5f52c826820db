package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mattn/go-sqlite3"

	"bankfeed/store"
)

var (
	key1 = []byte("0123456789abcdef0123456789abcdef")
	key2 = []byte("fedcba9876543210fedcba9876543210")
)

const tok = "processor-sandbox-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"

func open(t *testing.T, path string, key []byte, o store.Options) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), path, key, o)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestTokensEncryptedAndKeyRotation(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "b.db")
	st := open(t, path, key1, store.Options{})
	b, err := st.PutTokens(ctx, "biz", "sandbox", []string{tok}, true)
	if err != nil || len(b.Tokens) != 1 || b.Tokens[0].Hint != "4c5d" {
		t.Fatalf("put: %v %+v", err, b)
	}
	got, err := st.Reveal(ctx, b.Tokens[0].ID)
	if err != nil || got != tok {
		t.Fatalf("reveal: %v", err)
	}
	for _, f := range []string{path, path + "-wal"} {
		raw, _ := os.ReadFile(f)
		if bytes.Contains(raw, []byte(tok)) || bytes.Contains(raw, []byte("0a1b2c3d")) {
			t.Fatalf("token stored in clear in %s", filepath.Base(f))
		}
	}
	// Re-putting the same token finds it by fingerprint: no duplicate.
	if b, err = st.PutTokens(ctx, "biz", "sandbox", []string{tok}, false); err != nil || len(b.Tokens) != 1 {
		t.Fatalf("re-put: %v %d", err, len(b.Tokens))
	}
	if _, err := st.PutTokens(ctx, "other", "sandbox", []string{tok}, true); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("token owned elsewhere: %v", err)
	}
	n, err := st.RotateKey(ctx, key2)
	if err != nil || n != 1 {
		t.Fatalf("rotate: %d %v", n, err)
	}
	st.Close()
	if _, err := store.Open(ctx, path, key1, store.Options{}); !errors.Is(err, store.ErrWrongKey) {
		t.Fatalf("old key after rotation: %v", err)
	}
	st = open(t, path, key2, store.Options{})
	defer st.Close()
	if got, err := st.Reveal(ctx, b.Tokens[0].ID); err != nil || got != tok {
		t.Fatalf("reveal after rotation: %v", err)
	}
	if b, err = st.PutTokens(ctx, "biz", "sandbox", []string{tok}, false); err != nil || len(b.Tokens) != 1 {
		t.Fatalf("fingerprint after rotation: %v %d", err, len(b.Tokens))
	}
}

func TestDatabaseFaults(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "b.db")
	st := open(t, path, key1, store.Options{})
	if err := st.Exec(ctx, "PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := store.Open(ctx, path, key1, store.Options{}); !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("newer schema: %v", err)
	}

	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, bytes.Repeat([]byte("not a database "), 1000), 0o600)
	_, err := store.Open(ctx, garbage, key1, store.Options{})
	var se sqlite3.Error
	if !errors.Is(err, store.ErrCorrupt) || !errors.As(err, &se) || se.Code != sqlite3.ErrNotADB {
		t.Fatalf("garbage file: %v (driver error %+v)", err, se)
	}

	full := filepath.Join(dir, "full.db")
	st = open(t, full, key1, store.Options{MaxPageCount: 40})
	defer st.Close()
	err = nil
	for i := 0; i < 2000 && err == nil; i++ {
		_, err = st.PutTokens(ctx, "biz"+string(rune('a'+i%26))+string(rune('a'+i/26%26))+string(rune('a'+i/676)), "sandbox",
			[]string{"processor-sandbox-" + string(rune('a'+i%26)) + "aaaa" + string(rune('a'+i/26%26)) + string(rune('a'+i/676))}, true)
	}
	if !errors.Is(err, store.ErrDiskFull) || !errors.As(err, &se) || se.Code != sqlite3.ErrFull {
		t.Fatalf("disk full: %v (driver error %+v)", err, se)
	}
}

func TestCheckTokenForm(t *testing.T) {
	for _, tt := range []struct {
		tok, env string
		ok       bool
	}{
		{tok, "sandbox", true},
		{tok, "production", false},
		{"access-sandbox-123456", "sandbox", false},
		{"processor-sandbox-", "sandbox", false},
		{"processor-sandbox-ab cd", "sandbox", false},
	} {
		err := store.CheckTokenForm(tt.tok, tt.env)
		if (err == nil) != tt.ok {
			t.Errorf("%q in %s: %v", tt.tok, tt.env, err)
		}
		if err != nil && bytes.Contains([]byte(err.Error()), []byte("0a1b2c3d")) {
			t.Errorf("error repeats the token: %v", err)
		}
	}
}

// A path holding URI syntax opens that very file, for the database, its
// read pool and a backup alike.
func TestPathWithURICharacters(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"a#b.db", "a?mode=memory.db", "100%25.db", "odd %20 name.db"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			st := open(t, path, key1, store.Options{})
			if _, err := st.PutTokens(ctx, "biz", "sandbox", []string{tok}, true); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Business(ctx, "biz"); err != nil {
				t.Fatalf("read back through the reader pool: %v", err)
			}
			dest := filepath.Join(dir, "copy "+name)
			if err := st.Backup(ctx, dest); err != nil {
				t.Fatal(err)
			}
			st.Close()
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			for _, want := range []string{name, "copy " + name} {
				if fi, err := os.Stat(filepath.Join(dir, want)); err != nil || fi.Size() == 0 {
					t.Fatalf("%q not written (dir holds %q)", want, names)
				}
			}
			st = open(t, path, key1, store.Options{ReadOnly: true})
			defer st.Close()
			if _, err := st.Business(ctx, "biz"); err != nil {
				t.Fatalf("reopen read-only: %v", err)
			}
		})
	}
}
