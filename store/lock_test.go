package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"bankfeed/store"
)

// The run lock: a holder makes another taker wait; waiting past wait is
// ErrLocked (exit 4), an interrupt while waiting is the context's error
// (exit 130), and the lock is free again once released.
func TestRunLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.db")
	held, err := store.LockRun(context.Background(), path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.LockRun(context.Background(), path, 150*time.Millisecond); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("waited past wait: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(150*time.Millisecond, cancel)
	if _, err := store.LockRun(ctx, path, time.Minute); !errors.Is(err, context.Canceled) || errors.Is(err, store.ErrLocked) {
		t.Fatalf("interrupted while waiting: %v", err)
	}
	released := make(chan error, 1)
	go func() {
		l, err := store.LockRun(context.Background(), path, time.Minute)
		if err == nil {
			err = l.Unlock()
		}
		released <- err
	}()
	time.Sleep(150 * time.Millisecond)
	if err := held.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-released; err != nil {
		t.Fatalf("after release: %v", err)
	}
}
