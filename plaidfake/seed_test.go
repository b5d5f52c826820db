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
