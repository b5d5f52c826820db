package api

import (
	"context"
	"encoding/json"
	"testing"

	"bankfeed/store"
)

// Plaid's ITEM webhooks raise the same events as a sync: ERROR flags the
// Item once however often it repeats, LOGIN_REPAIRED recovers it, and the
// events name the Item by item_id, never by a token hint.
func TestItemWebhooksRaiseEventsOnTransitions(t *testing.T) {
	l := newLinkHarness(t)
	itemID, _, _ := l.linked("biz-n")
	l.srv.SetItemErrorByID(itemID, "ITEM_LOGIN_REQUIRED")
	for range 3 {
		l.hook(l.srv.ItemWebhook(itemID, "ERROR"), 200)
	}
	l.hook(l.srv.ItemWebhook(itemID, "LOGIN_REPAIRED"), 200)
	l.hook(l.srv.ItemWebhook(itemID, "LOGIN_REPAIRED"), 200)

	type data struct {
		BusinessID string  `json:"business_id"`
		TokenHint  *string `json:"token_hint"`
		ItemID     *string `json:"item_id"`
		Reason     *string `json:"reason"`
	}
	var types []string
	var got []data
	err := l.st.Notifications(context.Background(), true, func(o store.Outboxed) error {
		var ev struct {
			Data data `json:"data"`
		}
		types = append(types, o.Type)
		if err := json.Unmarshal(o.Body, &ev); err != nil {
			return err
		}
		got = append(got, ev.Data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(types) != 2 || types[0] != store.EventTokenNeedsRefresh || types[1] != store.EventTokenRecovered {
		t.Fatalf("events %v, want one token.needs_refresh then one token.recovered", types)
	}
	for _, d := range got {
		if d.BusinessID != "biz-n" || d.ItemID == nil || *d.ItemID != itemID || d.TokenHint != nil || d.Reason == nil || *d.Reason != "ITEM_LOGIN_REQUIRED" {
			t.Errorf("event data %+v", d)
		}
	}
}
