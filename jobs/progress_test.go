package jobs_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestSyncProgressLines: a sync that goes on longer than ProgressEvery
// logs how far it has got, by token hint, with pages and changes growing,
// then that it is applying; one that is quicker logs no progress.
func TestSyncProgressLines(t *testing.T) {
	for _, every := range []time.Duration{time.Nanosecond, time.Hour} {
		e := newEnv(t)
		_, tok := seedChecking(e) // 12 transactions: 2 pages of 7
		e.put("biz1", tok)
		var buf bytes.Buffer
		e.runner.Log = zerolog.New(&buf)
		e.runner.ProgressEvery = every
		e.run("sync")
		var fetching, applying []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("not JSON: %q", line)
			}
			msg, _ := m["message"].(string)
			switch {
			case strings.HasPrefix(msg, "sync progress: fetching"):
				fetching = append(fetching, m)
			case strings.HasPrefix(msg, "sync progress: all pages fetched"):
				applying = append(applying, m)
			}
		}
		if every == time.Hour {
			if len(fetching)+len(applying) != 0 {
				t.Fatalf("a quick sync logged progress:\n%s", buf.String())
			}
			continue
		}
		if len(fetching) != 2 || len(applying) != 1 {
			t.Fatalf("%d fetching and %d applying lines, want 2 and 1:\n%s", len(fetching), len(applying), buf.String())
		}
		for i, m := range append(fetching, applying...) {
			wantPages, wantChanges := float64(min(i+1, 2)), float64(min(7*(i+1), 12))
			if m["token_hint"] != tok[len(tok)-4:] || m["business_id"] != "biz1" || m["run_id"] == nil ||
				m["pages"] != wantPages || m["changes"] != wantChanges {
				t.Errorf("progress line %d: %v; want token_hint %q, pages %v, changes %v", i, m, tok[len(tok)-4:], wantPages, wantChanges)
			}
		}
	}
}
