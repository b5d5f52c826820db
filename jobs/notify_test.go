package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"bankfeed/jobs"
	"bankfeed/store"
)

// event is one outbox event as its receiver will read it.
type event struct {
	ID        string
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      struct {
		BusinessID string  `json:"business_id"`
		TokenHint  *string `json:"token_hint"`
		ItemID     *string `json:"item_id"`
		Reason     *string `json:"reason"`
		AccountID  *string `json:"account_id"`
		Date       string  `json:"date"`
		Currency   string  `json:"currency"`
		Difference string  `json:"difference"`
	} `json:"data"`
}

// outbox reads every event the store holds, oldest first.
func outbox(t *testing.T, st *store.Store) []event {
	t.Helper()
	var out []event
	err := st.Notifications(context.Background(), true, func(o store.Outboxed) error {
		var ev event
		if err := json.Unmarshal(o.Body, &ev); err != nil {
			return err
		}
		if ev.Type != o.Type {
			t.Errorf("event %s: body type %q, row type %q", o.ID, ev.Type, o.Type)
		}
		ev.ID = o.ID
		out = append(out, ev)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ofType(evs []event, typ string) []event {
	var out []event
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// A token flagged and still flagged across three syncs (two probes that
// find it still broken) raises token.needs_refresh once; the probe that
// finds it repaired raises token.recovered once; a platform's re-put of a
// flagged token is a recovery too. Each event names the token by its hint.
func TestTokenEventsOnTransitionsOnly(t *testing.T) {
	e := newEnv(t)
	_, tok := seedChecking(e)
	e.put("biz1", tok)
	e.run("all")
	if evs := outbox(t, e.store); len(evs) != 0 {
		t.Fatalf("a clean sync raised %+v", evs)
	}

	e.srv.SetItemError(tok, "ITEM_LOGIN_REQUIRED")
	for i := range 3 {
		sum := e.run("sync")
		if sum.Counts["flagged"]+sum.Counts["still_flagged"] != 1 {
			t.Fatalf("sync %d: %v", i+1, sum.Counts)
		}
		e.now = e.now.Add(e.runner.ProbeInterval + time.Minute) // the next sync probes it again
	}
	flagged := ofType(outbox(t, e.store), store.EventTokenNeedsRefresh)
	if len(flagged) != 1 {
		t.Fatalf("three syncs of a flagged token raised %d token.needs_refresh events, want 1", len(flagged))
	}
	d := flagged[0].Data
	if d.BusinessID != "biz1" || d.TokenHint == nil || *d.TokenHint != tok[len(tok)-4:] || d.Reason == nil || *d.Reason != "ITEM_LOGIN_REQUIRED" ||
		d.ItemID != nil || d.AccountID == nil {
		t.Fatalf("token.needs_refresh data: %+v", d)
	}

	e.srv.SetItemError(tok, "")
	e.run("probe")
	e.run("probe") // nothing left to recover
	rec := ofType(outbox(t, e.store), store.EventTokenRecovered)
	if len(rec) != 1 || rec[0].Data.Reason == nil || *rec[0].Data.Reason != "ITEM_LOGIN_REQUIRED" || *rec[0].Data.TokenHint != *d.TokenHint {
		t.Fatalf("after the repair: token.recovered events %+v", rec)
	}

	// Flagged again, then re-put by the platform: needs_refresh, recovered.
	e.srv.SetItemError(tok, "ITEM_LOGIN_REQUIRED")
	e.run("sync")
	e.put("biz1", tok)
	e.put("biz1", tok) // re-putting an active token recovers nothing
	evs := outbox(t, e.store)
	if n, r := len(ofType(evs, store.EventTokenNeedsRefresh)), len(ofType(evs, store.EventTokenRecovered)); n != 2 || r != 2 {
		t.Fatalf("after a second flag and a re-put: %d needs_refresh, %d recovered, want 2 and 2", n, r)
	}
	for _, ev := range evs {
		if _, err := time.Parse(time.RFC3339, ev.Timestamp); err != nil || ev.Timestamp[len(ev.Timestamp)-1] != 'Z' {
			t.Errorf("timestamp %q is not RFC 3339 UTC", ev.Timestamp)
		}
	}
}

// reconcileBreak reconciles today and returns the report's error: nil or
// one wrapping jobs.ErrBreak.
func (e *env) reconcileAt() error {
	e.t.Helper()
	_, _, err := jobs.Reconcile(context.Background(), e.store, jobs.ReconcileOptions{Location: time.UTC, Now: func() time.Time { return e.now }})
	if err != nil && !errors.Is(err, jobs.ErrBreak) {
		e.t.Fatalf("reconcile: %v", err)
	}
	return err
}

// A break raises reconciliation.break once per account and report date:
// reconciling the same date again does not raise it again; the next day's
// reconciliation of a break that persists does. Timing raises nothing.
func TestBreakEventOncePerDate(t *testing.T) {
	e := newEnv(t)
	chk, tok := seedChecking(e)
	e.put("biz1", tok)
	e.run("all")
	if err := e.reconcileAt(); err != nil {
		t.Fatalf("first reconcile: %v", err)
	}
	e.now = e.now.Add(time.Hour)
	e.srv.AdjustBalance(chk, "-25.00")
	e.run("all")
	if err := e.reconcileAt(); err != nil {
		t.Fatalf("timing reconcile: %v", err)
	}
	if evs := outbox(t, e.store); len(evs) != 0 {
		t.Fatalf("timing raised %+v", evs)
	}
	e.now = e.now.Add(time.Hour)
	e.run("all")
	for range 2 {
		if err := e.reconcileAt(); !errors.Is(err, jobs.ErrBreak) {
			t.Fatalf("want a break, got %v", err)
		}
		e.now = e.now.Add(time.Minute)
	}
	breaks := ofType(outbox(t, e.store), store.EventReconciliationBreak)
	if len(breaks) != 1 {
		t.Fatalf("two reconciliations of one date raised %d reconciliation.break events, want 1", len(breaks))
	}
	d := breaks[0].Data
	if d.BusinessID != "biz1" || d.AccountID == nil || *d.AccountID != chk || d.Date != "2026-11-26" || d.Currency != "USD" || d.Difference != "-25.00" {
		t.Fatalf("reconciliation.break data: %+v", d)
	}

	e.now = e.now.Add(24 * time.Hour)
	e.run("all")
	if err := e.reconcileAt(); !errors.Is(err, jobs.ErrBreak) {
		t.Fatalf("next day: want a break, got %v", err)
	}
	breaks = ofType(outbox(t, e.store), store.EventReconciliationBreak)
	if len(breaks) != 2 || breaks[1].Data.Date != "2026-11-27" {
		t.Fatalf("the next day's break: %+v", breaks)
	}
}
