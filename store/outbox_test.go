package store_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"bankfeed/store"
)

// FinishRun raises run.failed, in its own transaction, for a failed run
// and for no other outcome; the event names the run, its job and error.
func TestRunFailedEvent(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "b.db"), key1, store.Options{})
	defer st.Close()
	for _, r := range []struct{ id, status, err string }{
		{"run-ok", "ok", ""}, {"run-partial", "partial", "some tokens failed"}, {"run-int", "interrupted", "context canceled"},
		{"run-bad", "failed", "database is locked " + strings.Repeat("é", 3000)},
	} {
		if err := st.StartRun(ctx, r.id, "sync"); err != nil {
			t.Fatal(err)
		}
		if err := finishRun(st, r.id, r.status, r.err); err != nil {
			t.Fatal(err)
		}
	}
	var got []store.Outboxed
	if err := st.Notifications(ctx, true, func(o store.Outboxed) error { got = append(got, o); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Type != store.EventRunFailed || got[0].Status != store.OutboxPending || !strings.HasPrefix(got[0].ID, "msg_") {
		t.Fatalf("events %+v, want one pending run.failed", got)
	}
	var body struct {
		Type string `json:"type"`
		Data struct {
			RunID string `json:"run_id"`
			Job   string `json:"job"`
			Error string `json:"error"`
		} `json:"data"`
	}
	if err := json.Unmarshal(got[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Type != "run.failed" || body.Data.RunID != "run-bad" || body.Data.Job != "sync" || !strings.HasPrefix(body.Data.Error, "database is locked") ||
		len(body.Data.Error) > 2100 || !utf8.ValidString(body.Data.Error) || strings.Contains(body.Data.Error, "\uFFFD") {
		t.Fatalf("run.failed body %+v (error of %d bytes)", body, len(body.Data.Error))
	}
}

// The outbox's life: a claim counts the attempt and hides the event for
// the lease; a failed attempt is due again when told; a stale attempt's
// outcome changes nothing; delivered and skipped events leave the
// pending list; pruning removes finished events only.
func TestOutboxLifecycle(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "b.db"), key1, store.Options{})
	defer st.Close()
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	st.Now = func() time.Time { return t0 }
	for _, id := range []string{"r1", "r2"} {
		st.StartRun(ctx, id, "sync")
		if err := finishRun(st, id, "failed", "boom"); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-st.OutboxSignal():
	default:
		t.Fatal("writing an event did not signal the deliverer")
	}
	due, err := st.ClaimDue(ctx, t0, time.Minute, 10)
	if err != nil || len(due) != 2 || due[0].Attempts != 1 {
		t.Fatalf("claim: %+v %v", due, err)
	}
	if again, _ := st.ClaimDue(ctx, t0.Add(59*time.Second), time.Minute, 10); len(again) != 0 {
		t.Fatalf("claimed events were due again within their lease: %+v", again)
	}
	if err := st.MarkDelivered(ctx, due[0].Seq, due[0].Attempts, t0); err != nil {
		t.Fatal(err)
	}
	next := t0.Add(5 * time.Second)
	if err := st.MarkFailed(ctx, due[1].Seq, due[1].Attempts, "HTTP 500", &next); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.NextDue(ctx); n == nil || !n.Equal(next) {
		t.Fatalf("next due %v, want %v", n, next)
	}
	// The lease-expired event is claimed by someone else; the first
	// claimant's late "delivered" must not overwrite the newer attempt.
	second, _ := st.ClaimDue(ctx, next, time.Minute, 10)
	if len(second) != 1 || second[0].Attempts != 2 {
		t.Fatalf("second claim %+v", second)
	}
	if err := st.MarkDelivered(ctx, due[1].Seq, 1, next); err != nil {
		t.Fatal(err)
	}
	var list []store.Outboxed
	st.Notifications(ctx, false, func(o store.Outboxed) error { list = append(list, o); return nil })
	if len(list) != 1 || list[0].Status != store.OutboxPending || list[0].LastError != "HTTP 500" || list[0].Attempts != 2 {
		t.Fatalf("pending list %+v", list)
	}
	if n, err := st.SkipPending(ctx, "off"); n != 1 || err != nil {
		t.Fatalf("skip: %d %v", n, err)
	}
	if n, _ := st.NextDue(ctx); n != nil {
		t.Fatalf("a skipped event is still due at %v", n)
	}
	st.StartRun(ctx, "r3", "sync")
	finishRun(st, "r3", "failed", "boom")
	if n, err := st.PruneOutbox(ctx, t0.Add(time.Second)); n != 2 || err != nil {
		t.Fatalf("prune removed %d (%v), want the delivered and the skipped event", n, err)
	}
	list = nil
	st.Notifications(ctx, true, func(o store.Outboxed) error { list = append(list, o); return nil })
	if len(list) != 1 || list[0].Status != store.OutboxPending {
		t.Fatalf("after pruning: %+v", list)
	}
}

// finishRun ends a run as the runner does; the one place these tests
// depend on FinishRun's signature.
func finishRun(st *store.Store, id, status, errText string) error {
	return st.FinishRun(context.Background(), id, status, map[string]int{"tokens": 1}, errText, store.RunDetail{})
}
