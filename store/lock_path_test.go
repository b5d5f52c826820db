package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"bankfeed/store"
)

// Two paths to one database (here a symlink in another folder) take one
// run lock: otherwise two runs sync the same tokens at once, and although
// the cursor compare-and-swap keeps the ledger exact, both call Plaid.
func TestRunLockHoldsAcrossPathsToOneDatabase(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "bankfeed.db")
	if err := os.WriteFile(real, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "other-name.db")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	first, err := store.LockRun(context.Background(), real, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Unlock()
	second, err := store.LockRun(context.Background(), link, 300*time.Millisecond)
	if err == nil {
		second.Unlock()
		t.Fatal("a second run took the lock of the same database through another path")
	}
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second lock: %v", err)
	}
}
