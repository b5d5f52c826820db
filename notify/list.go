package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"bankfeed/jsonarray"
	"bankfeed/store"
)

// Listed is one event of `bankfeed notifications list --json`.
type Listed struct {
	ID            string          `json:"id"` // the webhook-id
	Type          string          `json:"type"`
	Status        string          `json:"status"` // pending, delivered, failed or skipped
	CreatedAt     string          `json:"created_at"`
	Attempts      int             `json:"attempts"`
	LastAttemptAt *string         `json:"last_attempt_at"`
	NextAttemptAt *string         `json:"next_attempt_at"`
	LastError     *string         `json:"last_error"`
	DeliveredAt   *string         `json:"delivered_at"`
	Data          json.RawMessage `json:"data"`
}

const timeLayout = "2006-01-02T15:04:05Z"

func optTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(timeLayout)
	return &s
}

func listed(o store.Outboxed) (Listed, error) {
	var body struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(o.Body, &body); err != nil {
		return Listed{}, fmt.Errorf("event %s: %w", o.ID, err)
	}
	l := Listed{ID: o.ID, Type: o.Type, Status: o.Status, CreatedAt: o.CreatedAt.UTC().Format(timeLayout), Attempts: o.Attempts,
		LastAttemptAt: optTime(o.LastAttemptAt), NextAttemptAt: optTime(o.NextAttemptAt), DeliveredAt: optTime(o.DeliveredAt), Data: body.Data}
	if o.LastError != "" {
		l.LastError = &o.LastError
	}
	if o.Status != store.OutboxPending {
		l.NextAttemptAt = nil
	}
	return l, nil
}

// WriteList writes the outbox's pending and failed events (all: every
// event kept) to w, oldest first, as the contract's JSON array or as a
// table, one event at a time.
func WriteList(ctx context.Context, st *store.Store, w io.Writer, all, asJSON bool) error {
	if asJSON {
		return writeJSON(ctx, st, w, all)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CREATED\tTYPE\tABOUT\tSTATUS\tATTEMPTS\tNEXT ATTEMPT\tLAST ERROR\tEVENT ID")
	err := st.Notifications(ctx, all, func(o store.Outboxed) error {
		l, err := listed(o)
		if err != nil {
			return err
		}
		next := "-"
		if l.NextAttemptAt != nil {
			next = *l.NextAttemptAt
		}
		lastErr := "-"
		if l.LastError != nil {
			lastErr = short(*l.LastError, 60)
		}
		_, err = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", l.CreatedAt, l.Type, about(l), l.Status, l.Attempts, next, lastErr, l.ID)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

func writeJSON(ctx context.Context, st *store.Store, w io.Writer, all bool) error {
	arr := jsonarray.New(w)
	err := st.Notifications(ctx, all, func(o store.Outboxed) error {
		l, err := listed(o)
		if err != nil {
			return err
		}
		return arr.Add(l)
	})
	if err != nil {
		return err
	}
	return arr.Close()
}

// about says in a few words what an event is about, for the table.
func about(l Listed) string {
	var d struct {
		BusinessID string  `json:"business_id"`
		TokenHint  *string `json:"token_hint"`
		ItemID     *string `json:"item_id"`
		Reason     *string `json:"reason"`
		AccountID  string  `json:"account_id"`
		Date       string  `json:"date"`
		Difference string  `json:"difference"`
		Currency   string  `json:"currency"`
		RunID      string  `json:"run_id"`
		Job        string  `json:"job"`
	}
	_ = json.Unmarshal(l.Data, &d)
	var parts []string
	switch l.Type {
	case store.EventTokenNeedsRefresh, store.EventTokenRecovered:
		parts = append(parts, d.BusinessID)
		if d.TokenHint != nil {
			parts = append(parts, "…"+*d.TokenHint)
		}
		if d.ItemID != nil {
			parts = append(parts, "item "+*d.ItemID)
		}
		if d.Reason != nil {
			parts = append(parts, *d.Reason)
		}
	case store.EventReconciliationBreak:
		parts = append(parts, d.BusinessID, d.AccountID, d.Date, d.Difference, d.Currency)
	case store.EventRunFailed:
		parts = append(parts, d.Job, "run", d.RunID)
	}
	return short(strings.Join(parts, " "), 80)
}

// short keeps a cell on one line and within n characters.
func short(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
