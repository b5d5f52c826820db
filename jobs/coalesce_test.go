package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"bankfeed/jobs"
)

// The coalescer on a test clock: per id at most one sync starts per
// Every; requests in between fold into the next one.
func TestCoalescerFoldsBursts(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	runs := make(chan []int64, 100)
	c := &jobs.Coalescer{Now: clock, Every: 2 * time.Second, Gather: 250 * time.Millisecond,
		Sync: func(_ context.Context, ids []int64) { runs <- ids }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Loop(ctx)

	next := func() []int64 {
		t.Helper()
		// The loop sleeps on a real timer; kick it after moving the clock.
		for i := 0; i < 200; i++ {
			select {
			case ids := <-runs:
				return ids
			case <-time.After(5 * time.Millisecond):
				c.Add(-1) // a probe id, never synced before the others
			}
		}
		t.Fatal("no sync")
		return nil
	}
	for i := 0; i < 50; i++ {
		c.Add(7)
	}
	advance(300 * time.Millisecond)
	got := next()
	if len(got) != 1 || got[0] != 7 {
		t.Fatalf("first sync %v, want [7] once for the burst of 50", got)
	}
	for i := 0; i < 50; i++ {
		c.Add(7) // during the 2 s after the first start
	}
	advance(time.Second)
	select {
	case ids := <-runs:
		for _, id := range ids {
			if id == 7 {
				t.Fatalf("a second sync of 7 started 1 s after the first")
			}
		}
	case <-time.After(50 * time.Millisecond):
	}
	advance(1100 * time.Millisecond)
	seen := 0
	deadline := time.After(2 * time.Second)
	for seen == 0 {
		select {
		case ids := <-runs:
			for _, id := range ids {
				if id == 7 {
					seen++
				}
			}
		case <-time.After(5 * time.Millisecond):
			c.Add(-1)
		case <-deadline:
			t.Fatal("the folded requests never synced")
		}
	}
}
