package store

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"
)

// RunLock is an exclusive lock on a database held for the length of a run,
// so that two runs (cron firing twice, a manual --run-once beside serve)
// never sync the same token at once. The kernel drops it when the process
// dies, so a killed run never leaves a stale lock behind.
type RunLock struct{ f *os.File }

// LockRun takes the run lock of the database at dbPath, waiting while
// another run holds it until ctx ends.
func LockRun(ctx context.Context, dbPath string) (*RunLock, error) {
	f, err := os.OpenFile(dbPath+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("run lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &RunLock{f}, nil
		}
		if err != syscall.EWOULDBLOCK {
			f.Close()
			return nil, fmt.Errorf("run lock: %w", err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("%w: another bankfeed run holds %s.lock", ErrLocked, dbPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Unlock releases the lock.
func (l *RunLock) Unlock() error { return l.f.Close() }
