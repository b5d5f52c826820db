package jobs

import (
	"context"
	"sync"
	"time"

	"bankfeed/store"
)

// RunTargets syncs only the given tokens and Items (by their database id),
// under the run lock like Run: what a webhook asks for.
func (r *Runner) RunTargets(ctx context.Context, ids []int64) (Summary, error) {
	lock, err := store.LockRun(ctx, r.Store.Path(), r.LockWait)
	if err != nil {
		return Summary{}, err
	}
	defer lock.Unlock()
	r.only = make(map[int64]bool, len(ids))
	for _, id := range ids {
		r.only[id] = true
	}
	defer func() { r.only = nil }()
	return r.run(ctx, JobSync)
}

// Coalescer turns a stream of "sync this soon" requests (webhooks) into
// few syncs: per token or Item at most one sync starts per Every, and the
// requests that arrive in between fold into the next one. Syncs run one
// at a time through Sync, which serve wraps in the same mutex as its
// scheduled jobs.
type Coalescer struct {
	Sync  func(ctx context.Context, ids []int64)
	Every time.Duration // default 2 s
	// Gather is how long a first request waits for the rest of its burst
	// (Plaid often sends several webhooks at once); default 250 ms.
	Gather time.Duration
	Now    func() time.Time

	mu      sync.Mutex
	pending map[int64]time.Time // since when
	started map[int64]time.Time
	kick    chan struct{}
}

func (c *Coalescer) init() {
	if c.kick == nil {
		c.kick = make(chan struct{}, 1)
		c.pending = map[int64]time.Time{}
		c.started = map[int64]time.Time{}
	}
}

func (c *Coalescer) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Coalescer) every() time.Duration {
	if c.Every <= 0 {
		return 2 * time.Second
	}
	return c.Every
}

// Add asks for a sync of one token or Item; it never blocks.
func (c *Coalescer) Add(id int64) {
	c.mu.Lock()
	c.init()
	if _, ok := c.pending[id]; !ok {
		c.pending[id] = c.now()
	}
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// due takes the pending ids whose last start is at least Every ago, and
// says how long until the next of the others is.
func (c *Coalescer) due() ([]int64, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	now := c.now()
	var ids []int64
	wait := time.Duration(-1)
	gather := c.Gather
	if gather <= 0 {
		gather = 250 * time.Millisecond
	}
	for id, since := range c.pending {
		next := c.started[id].Add(c.every())
		if g := since.Add(gather); g.After(next) {
			next = g
		}
		if !now.Before(next) {
			ids = append(ids, id)
			delete(c.pending, id)
			c.started[id] = now
			continue
		}
		if d := next.Sub(now); wait < 0 || d < wait {
			wait = d
		}
	}
	return ids, wait
}

// Loop runs syncs as they come due until ctx ends.
func (c *Coalescer) Loop(ctx context.Context) {
	c.mu.Lock()
	c.init()
	kick := c.kick
	c.mu.Unlock()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		ids, wait := c.due()
		if len(ids) > 0 {
			c.Sync(ctx, ids)
			continue // more may have come due while it ran
		}
		if wait < 0 {
			wait = time.Hour
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-timer.C:
		}
	}
}
