package jobs

import "context"

// RunWithoutLock is Run without the run lock, for tests that race two runs
// of one database to prove the guard below the lock: the cursor
// compare-and-swap at apply.
func (r *Runner) RunWithoutLock(ctx context.Context, job string) (Summary, error) {
	return r.run(ctx, job)
}
