package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// RunLock is an exclusive lock on a database held for the length of a run,
// so that two runs (cron firing twice, a manual --run-once beside serve)
// never sync the same token at once. The kernel drops it when the process
// dies, so a killed run never leaves a stale lock behind.
type RunLock struct{ f *os.File }

// LockRun takes the run lock of the database at dbPath: the one lock every
// writer of a whole run takes (runs, serve's jobs, report, doctor,
// rotate-key). It waits while another process holds it, for at most wait
// (0: until ctx ends). Waiting out wait is ErrLocked (exit status 4); ctx
// ending first is ctx's error (an interrupt, not a lock).
func LockRun(ctx context.Context, dbPath string, wait time.Duration) (*RunLock, error) {
	f, err := os.OpenFile(lockPath(dbPath), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("run lock: %w", err)
	}
	var deadline <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for told := false; ; told = true {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &RunLock{f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("run lock: %w", err)
		}
		if waiting, ok := ctx.Value(lockWaitingKey{}).(func(string, time.Duration)); ok && !told {
			waiting(dbPath, wait)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-deadline:
			f.Close()
			return nil, fmt.Errorf("%w: another bankfeed run holds %s.lock", ErrLocked, dbPath)
		case <-tick.C:
		}
	}
}

type lockWaitingKey struct{}

// WithLockWaiting returns a context under which LockRun calls waiting once
// when another process holds the lock and it starts to wait, so that a
// command can say why it is quiet. A context carries it (as
// net/http/httptrace does) because every taker of the lock, in any
// package, should tell, without each passing it down.
func WithLockWaiting(ctx context.Context, waiting func(dbPath string, wait time.Duration)) context.Context {
	return context.WithValue(ctx, lockWaitingKey{}, waiting)
}

// lockPath names the lock beside the database's real file, so that two
// paths to one database (a symlink, a symlinked folder) share one lock.
// The database file itself cannot carry the lock: closing any descriptor
// of it would drop SQLite's own POSIX locks held by this process.
func lockPath(dbPath string) string {
	if real, err := filepath.EvalSymlinks(dbPath); err == nil {
		return real + ".lock"
	}
	// Not created yet: resolve its folder.
	if dir, err := filepath.EvalSymlinks(filepath.Dir(dbPath)); err == nil {
		return filepath.Join(dir, filepath.Base(dbPath)) + ".lock"
	}
	return dbPath + ".lock"
}

// Unlock releases the lock.
func (l *RunLock) Unlock() error { return l.f.Close() }
