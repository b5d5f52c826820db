package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bankfeed/ledger"
	"bankfeed/store"
)

var doctorKey = []byte("0123456789abcdef0123456789abcdef")

func openDoctorDB(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), path, doctorKey, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// filled is a database with a business and n balanced entries, enough
// pages for a garbled middle to miss the schema.
func filledDB(t *testing.T, n int) *store.Store {
	t.Helper()
	ctx := context.Background()
	st := openDoctorDB(t, filepath.Join(t.TempDir(), "bankfeed.db"))
	if _, err := st.CreateBusiness(ctx, store.BusinessInput{ID: "biz1", LegalName: "Acme"}, "sandbox", nil); err != nil {
		t.Fatal(err)
	}
	err := st.Update(ctx, func(tx *store.Tx) error {
		if err := tx.NoteCurrency(ledger.Currency{Code: "USD", Exponent: 2}); err != nil {
			return err
		}
		for i := 1; i <= n; i++ {
			e := ledger.Entry{ID: fmt.Sprintf("e%06d", i), Kind: ledger.KindTxn, Date: "2026-10-01", TransactionID: fmt.Sprintf("t%d", i), Version: 1,
				Lines: []ledger.Line{{Account: ledger.Suspense, Currency: "USD", Amount: int64(i)}, {Account: ledger.OpeningEquity, Currency: "USD", Amount: -int64(i)}}}
			if err := tx.PostEntry("biz1", 0, e, 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestCheckFileHealthy(t *testing.T) {
	st := filledDB(t, 10)
	lines, err := st.CheckFile(context.Background())
	if err != nil || len(lines) > 0 {
		t.Fatalf("healthy file: %v %q", err, lines)
	}
}

// Foreign keys are enforced on every bankfeed connection, so a dangling one
// can only come from outside: another tool writing with them off.
func TestCheckFileReportsDanglingForeignKey(t *testing.T) {
	st := filledDB(t, 1)
	raw, err := sql.Open("sqlite3", "file:"+st.Path()+"?_foreign_keys=off&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`INSERT INTO accounts(id, business_id, plaid_account_id, type, currency, created_at, updated_at)
		VALUES (77, 'nobody', 'acc-x', 'depository', 'USD', 'x', 'x')`); err != nil {
		t.Fatal(err)
	}
	lines, err := st.CheckFile(context.Background())
	if err != nil {
		t.Fatalf("dangling doctorKey is not corruption of the file: %v", err)
	}
	want := "foreign key: accounts row 77 refers to a missing businesses row"
	if len(lines) != 1 || lines[0] != want {
		t.Fatalf("got %q, want [%q]", lines, want)
	}
}

func TestGarbledFileIsCorrupt(t *testing.T) {
	st := filledDB(t, 3000)
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	if err := st.Backup(context.Background(), copyPath); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(copyPath)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(b) / 3; i < 2*len(b)/3; i++ {
		b[i] = byte(i*7919 + i>>3)
	}
	if err := os.WriteFile(copyPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	bad, err := store.Open(context.Background(), copyPath, doctorKey, store.Options{})
	if err != nil {
		if !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("open: %v, want ErrCorrupt", err)
		}
		return
	}
	defer bad.Close()
	lines, err := bad.CheckFile(context.Background())
	if !errors.Is(err, store.ErrCorrupt) || len(lines) == 0 {
		t.Fatalf("check: %v %q, want ErrCorrupt with lines", err, lines)
	}
	for _, l := range lines {
		if strings.Contains(l, "\n") || !strings.HasPrefix(l, "integrity_check: ") {
			t.Fatalf("finding is not one plain line: %q", l)
		}
	}
}

func TestBackupIsAWholeCopy(t *testing.T) {
	ctx := context.Background()
	st := filledDB(t, 200)
	dest := filepath.Join(t.TempDir(), "backup.db")
	if err := st.Backup(ctx, dest); err != nil {
		t.Fatal(err)
	}
	want, _ := st.Journal(ctx)
	got, err := openDoctorDB(t, dest).Journal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || got[len(got)-1].ID != want[len(want)-1].ID {
		t.Fatalf("backup has %d entries, source %d", len(got), len(want))
	}
	if fi, _ := os.Stat(dest); fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup mode %v: it holds encrypted tokens, keep it private", fi.Mode().Perm())
	}
}

func TestBackupNeverOverwrites(t *testing.T) {
	st := filledDB(t, 1)
	dir := t.TempDir()
	dest := filepath.Join(dir, "keep.db")
	if err := os.WriteFile(dest, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := st.Backup(context.Background(), dest)
	if !errors.Is(err, store.ErrBackupExists) || !strings.Contains(err.Error(), dest+" exists; remove it or pick another name") {
		t.Fatalf("got %v", err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "precious" {
		t.Fatal("existing file was touched")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("left behind: %v", ents)
	}
}

func TestBackupIntoMissingFolderLeavesNothing(t *testing.T) {
	st := filledDB(t, 1)
	err := st.Backup(context.Background(), filepath.Join(t.TempDir(), "no", "such", "dir", "b.db"))
	if err == nil {
		t.Fatal("backup into a missing folder succeeded")
	}
}
