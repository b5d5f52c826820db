package plaidfake_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"bankfeed/plaidfake"
)

func TestSeedBuildsALargeWorldThatSyncsInOrder(t *testing.T) {
	start := time.Now()
	s := plaidfake.New()
	n := 100_000
	if raceEnabled {
		n = 10_000 // decoding, not the server, would take half a minute
	}
	toks := s.Seed(1, n, 7)
	t.Logf("seeded %d transactions in %v", n, time.Since(start))

	// plaid-go's decoding of 100k transactions would dwarf the server's own
	// work, so this loop decodes only what paging needs.
	h := attach(t, s)
	start = time.Now()
	seen, cursor, pages := map[string]bool{}, "", 0
	for more := true; more; pages++ {
		body := map[string]any{"processor_token": toks[0], "count": 500}
		if cursor != "" {
			body["cursor"] = cursor
		}
		resp, b := h.post("/processor/transactions/sync", body, creds)
		var page struct {
			Added []struct {
				ID string `json:"transaction_id"`
			} `json:"added"`
			HasMore    bool   `json:"has_more"`
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal(b, &page); err != nil || resp.StatusCode != 200 {
			t.Fatalf("page %d: %d %v", pages, resp.StatusCode, err)
		}
		for _, a := range page.Added {
			seen[a.ID] = true
		}
		more, cursor = page.HasMore, page.NextCursor
	}
	t.Logf("synced them in %d pages in %v", pages, time.Since(start))
	if len(seen) != n || pages != n/500 {
		t.Fatalf("added %d in %d pages", len(seen), pages)
	}

	other := plaidfake.New().Seed(1, n, 7)
	if other[0] != toks[0] {
		t.Fatal("Seed is not deterministic")
	}
	many := plaidfake.New().Seed(10_000, 2, 1)
	if len(many) != 10_000 || len(slices.Compact(slices.Sorted(slices.Values(many)))) != 10_000 {
		t.Fatal("tokens not unique")
	}
}

func TestDemoWorld(t *testing.T) {
	s, toks := plaidfake.Demo()
	h := attach(t, s)
	chk := h.syncAll(toks["checking"], "", 500)
	card := h.syncAll(toks["card"], "", 500)
	if len(chk.added) < 35 || len(card.added) < 18 {
		t.Fatalf("checking %d, card %d", len(chk.added), len(card.added))
	}
	if !chk.added[plaidfake.DemoPendingDinnerID].Pending || !chk.added[plaidfake.DemoPendingRideID].Pending {
		t.Fatal("demo pendings missing")
	}
	_, r, err := h.page(toks["broken"], "", 100)
	wantPlaidErr(t, err, r, 400, "ITEM_ERROR", "ITEM_LOGIN_REQUIRED")
	if st, _, err := h.page(toks["staged"], "", 100); err != nil || st.TransactionsUpdateStatus != "NOT_READY" || st.NextCursor != "" {
		t.Fatalf("staged account: %s %q %v", st.TransactionsUpdateStatus, st.NextCursor, err)
	}

	posted := plaidfake.DemoPostTip(s)
	u := h.syncAll(toks["checking"], chk.cursor, 100)
	if p := u.added[posted]; p.Amount != 50.4 || p.GetPendingTransactionId() != plaidfake.DemoPendingDinnerID ||
		!slices.Equal(u.removed, []string{plaidfake.DemoPendingDinnerID}) {
		t.Fatalf("tip posting: %+v", u)
	}
}

// The demo world is dated from its clock's today: three months of history
// ending today, pendings two and three days old, nothing in the future;
// the same clock gives the same dates.
func TestDemoWorldIsDatedFromToday(t *testing.T) {
	for _, today := range []time.Time{time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC), time.Date(2031, 2, 3, 23, 59, 0, 0, time.UTC)} {
		s, toks := plaidfake.Demo(plaidfake.WithClock(func() time.Time { return today }))
		h := attach(t, s)
		chk := h.syncAll(toks["checking"], "", 500)
		day := func(d string) int {
			tt, err := time.Parse(time.DateOnly, d)
			if err != nil {
				t.Fatal(err)
			}
			return int(today.Truncate(24*time.Hour).Sub(tt).Hours() / 24)
		}
		oldest, newest := 0, 1<<30
		for _, tx := range chk.added {
			oldest, newest = max(oldest, day(tx.Date)), min(newest, day(tx.Date))
		}
		if oldest < 80 || oldest > 100 || newest < 0 {
			t.Errorf("%s: checking history runs from %d to %d days ago, want about three months up to today", today, oldest, newest)
		}
		if d, r := day(chk.added[plaidfake.DemoPendingDinnerID].Date), day(chk.added[plaidfake.DemoPendingRideID].Date); d != 3 || r != 2 {
			t.Errorf("%s: pendings %d and %d days old, want 3 and 2", today, d, r)
		}
		posted := plaidfake.DemoPostTip(s)
		if u := h.syncAll(toks["checking"], chk.cursor, 100); day(u.added[posted].Date) != 1 {
			t.Errorf("%s: the tip posts %s", today, u.added[posted].Date)
		}
		again, _ := plaidfake.Demo(plaidfake.WithClock(func() time.Time { return today }))
		if a, b := s.Txns(chk.added[plaidfake.DemoPendingRideID].AccountId), again.Txns(chk.added[plaidfake.DemoPendingRideID].AccountId); len(a) == 0 || a[0].Date != b[0].Date {
			t.Errorf("%s: the same clock dates the world differently", today)
		}
	}
}
