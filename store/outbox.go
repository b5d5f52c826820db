package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"bankfeed/ledger"
)

// Event types written to the outbox (the contract's notification types).
const (
	EventTokenNeedsRefresh   = "token.needs_refresh"
	EventTokenRecovered      = "token.recovered"
	EventReconciliationBreak = "reconciliation.break"
	EventRunFailed           = "run.failed"
)

// Outbox statuses.
const (
	OutboxPending   = "pending"
	OutboxDelivered = "delivered"
	OutboxFailed    = "failed"
	OutboxSkipped   = "skipped"
)

// Events are written whatever the configuration: the store does not know
// whether notifications are on, and a fact never depends on it. A process
// that would deliver but has no BANKFEED_NOTIFY_URL marks them skipped
// (SkipPending), so that turning notifications on later does not replay
// stale events, and PruneOutbox keeps the table from growing forever.

// eventTimeLayout is RFC 3339 UTC to the microsecond: two events of one
// second keep their order.
const eventTimeLayout = "2006-01-02T15:04:05.000000Z"

// envelope is the body POSTed for every event.
type envelope struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      any    `json:"data"`
}

// TokenEvent is the data of token.needs_refresh and token.recovered: the
// token by its hint (a processor token) or item_id (an Item), never whole.
type TokenEvent struct {
	BusinessID string  `json:"business_id"`
	TokenHint  *string `json:"token_hint"`
	ItemID     *string `json:"item_id"`
	Reason     *string `json:"reason"`
	AccountID  *string `json:"account_id"`
}

// BreakEvent is the data of reconciliation.break.
type BreakEvent struct {
	BusinessID string `json:"business_id"`
	AccountID  string `json:"account_id"`
	Currency   string `json:"currency"`
	Date       string `json:"date"`
	Difference string `json:"difference"`
}

// RunFailedEvent is the data of run.failed.
type RunFailedEvent struct {
	RunID string `json:"run_id"`
	Job   string `json:"job"`
	Error string `json:"error"`
}

// maxEventError bounds the error text of run.failed: a joined error of
// many tokens must not make an unbounded body.
const maxEventError = 2000

var eventIDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newEventID is a webhook-id: random, so that two databases (a restore, a
// copy) never reuse one for different events.
func newEventID() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return "msg_" + strings.ToLower(eventIDEncoding.EncodeToString(b))
}

const enqueueSQL = `INSERT INTO outbox(id, type, body, dedup, status, created_at, next_attempt_at)
	VALUES (?,?,?,?,'pending',?,?) ON CONFLICT(dedup) DO NOTHING`

// enqueue writes one event inside the fact's transaction. dedup "" means
// the event is not once-only.
func (s *Store) enqueue(ctx context.Context, tx *sql.Tx, typ, dedup string, data any) error {
	now := s.Now().UTC()
	body, err := json.Marshal(envelope{Type: typ, Timestamp: now.Format(eventTimeLayout), Data: data})
	if err != nil {
		return fmt.Errorf("event %s: %w", typ, err)
	}
	_, err = tx.ExecContext(ctx, enqueueSQL, newEventID(), typ, string(body), nullStr(dedup), ts(now), ts(now))
	if err != nil {
		return fmt.Errorf("event %s: %w", typ, err)
	}
	return nil
}

// tokenEvent reads what a token event says about token id.
func tokenEvent(ctx context.Context, tx *sql.Tx, id int64, reason string) (TokenEvent, error) {
	var ev TokenEvent
	var hint, kind string
	var item, account sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT t.business_id, t.hint, t.kind, t.item_id, a.plaid_account_id
		FROM tokens t LEFT JOIN accounts a ON a.id = t.account_id WHERE t.id = ?`, id).Scan(&ev.BusinessID, &hint, &kind, &item, &account)
	if err != nil {
		return ev, fmt.Errorf("token %d: %w", id, err)
	}
	if kind == KindItem {
		ev.ItemID = &item.String
	} else {
		ev.TokenHint = &hint
		if account.Valid {
			ev.AccountID = &account.String
		}
	}
	if reason != "" {
		ev.Reason = &reason
	}
	return ev, nil
}

func (s *Store) tokenEvent(ctx context.Context, tx *sql.Tx, typ string, id int64, reason string) error {
	ev, err := tokenEvent(ctx, tx, id, reason)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, tx, typ, "", ev)
}

// breakEvents raises reconciliation.break for the rows of a run that are
// breaks, once per account, currency and report date: reconciling the
// same date again does not raise it again.
func (s *Store) breakEvents(ctx context.Context, tx *sql.Tx, date string, rows []Reconciliation) error {
	for _, rc := range rows {
		if rc.Status != string(ledger.StatusBreak) || rc.Difference == nil {
			continue
		}
		var ev BreakEvent
		var exp sql.NullInt32
		err := tx.QueryRowContext(ctx, `SELECT a.business_id, a.plaid_account_id, `+storedExponent("?")+` FROM accounts a WHERE a.id = ?`,
			rc.Currency, rc.AccountID).Scan(&ev.BusinessID, &ev.AccountID, &exp)
		if err != nil {
			return fmt.Errorf("break event of account %d: %w", rc.AccountID, err)
		}
		if !exp.Valid {
			return fmt.Errorf("break event of account %d: %w: the exponent of %q is not stored", rc.AccountID, ledger.ErrCurrency, rc.Currency)
		}
		ev.Currency, ev.Date = rc.Currency, date
		ev.Difference = ledger.Format(*rc.Difference, ledger.Currency{Code: rc.Currency, Exponent: exp.Int32})
		dedup := fmt.Sprintf("%s/%d/%s/%s", EventReconciliationBreak, rc.AccountID, rc.Currency, date)
		if err := s.enqueue(ctx, tx, EventReconciliationBreak, dedup, ev); err != nil {
			return err
		}
	}
	return nil
}

// runFailedEvent raises run.failed for run id.
func (s *Store) runFailedEvent(ctx context.Context, tx *sql.Tx, id, errText string) error {
	ev := RunFailedEvent{RunID: id, Error: errText}
	if err := tx.QueryRowContext(ctx, `SELECT job FROM job_runs WHERE id = ?`, id).Scan(&ev.Job); err != nil {
		return fmt.Errorf("run.failed event of run %s: %w", id, err)
	}
	if len(ev.Error) > maxEventError {
		cut := maxEventError
		for cut > 0 && !utf8.RuneStart(ev.Error[cut]) {
			cut-- // never half a character
		}
		ev.Error = ev.Error[:cut] + "…"
	}
	return s.enqueue(ctx, tx, EventRunFailed, "", ev)
}

// Outboxed is one event as the outbox holds it.
type Outboxed struct {
	Seq           int64
	ID            string // webhook-id
	Type          string
	Body          []byte
	Status        string
	Attempts      int
	CreatedAt     time.Time
	NextAttemptAt *time.Time
	LastAttemptAt *time.Time
	LastError     string
	DeliveredAt   *time.Time
}

const outboxCols = `seq, id, type, body, status, attempts, created_at, next_attempt_at, last_attempt_at, last_error, delivered_at`

func scanOutboxed(r scanner) (Outboxed, error) {
	var o Outboxed
	var body, created string
	var next, last, lastErr, delivered sql.NullString
	if err := r.Scan(&o.Seq, &o.ID, &o.Type, &body, &o.Status, &o.Attempts, &created, &next, &last, &lastErr, &delivered); err != nil {
		return o, err
	}
	o.Body, o.LastError = []byte(body), lastErr.String
	if c := parseTS(sql.NullString{String: created, Valid: true}); c != nil {
		o.CreatedAt = *c
	}
	o.NextAttemptAt, o.LastAttemptAt, o.DeliveredAt = parseTS(next), parseTS(last), parseTS(delivered)
	return o, nil
}

const claimDueSQL = `SELECT ` + outboxCols + ` FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?
	ORDER BY next_attempt_at, seq LIMIT ?`

// ClaimDue takes up to limit events due at now for one delivery attempt
// each: it counts the attempt and moves the event's next attempt to
// now+lease before anything is sent, so that another deliverer leaves it
// alone while this one tries, and a deliverer killed mid-attempt leaves it
// due again once the lease ends (at least once, never lost).
func (s *Store) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Outboxed, error) {
	var out []Outboxed
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if out, err = dueEvents(ctx, tx, now, limit); err != nil {
			return err
		}
		until := now.Add(lease)
		for i := range out {
			out[i].Attempts++
			out[i].LastAttemptAt, out[i].NextAttemptAt = &now, &until
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET attempts = ?, last_attempt_at = ?, next_attempt_at = ? WHERE seq = ?`,
				out[i].Attempts, ts(now), ts(until), out[i].Seq); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

func dueEvents(ctx context.Context, tx *sql.Tx, now time.Time, limit int) ([]Outboxed, error) {
	rows, err := tx.QueryContext(ctx, claimDueSQL, ts(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Outboxed
	for rows.Next() {
		o, err := scanOutboxed(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// MarkDelivered records that attempt number attempt of event seq was
// acknowledged. An attempt that another deliverer has since superseded
// changes nothing.
func (s *Store) MarkDelivered(ctx context.Context, seq int64, attempt int, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'delivered', delivered_at = ?, next_attempt_at = NULL, last_error = NULL
			WHERE seq = ? AND attempts = ? AND status = 'pending'`, ts(at), seq, attempt)
		return err
	})
}

// MarkFailed records a failed attempt: the event is tried again at next,
// or, with next nil, given up (status failed).
func (s *Store) MarkFailed(ctx context.Context, seq int64, attempt int, msg string, next *time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if next == nil {
			_, err = tx.ExecContext(ctx, `UPDATE outbox SET status = 'failed', next_attempt_at = NULL, last_error = ?
				WHERE seq = ? AND attempts = ? AND status = 'pending'`, msg, seq, attempt)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = ?, last_error = ?
				WHERE seq = ? AND attempts = ? AND status = 'pending'`, ts(*next), msg, seq, attempt)
		}
		return err
	})
}

const nextDueSQL = `SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending'`

// NextDue is when the earliest pending event is due; nil when none is.
func (s *Store) NextDue(ctx context.Context) (*time.Time, error) {
	var next sql.NullString
	if err := s.rdb.QueryRowContext(ctx, nextDueSQL).Scan(&next); err != nil {
		return nil, Classify(err)
	}
	return parseTS(next), nil
}

// SkipPending marks every pending event skipped, with why: used where
// notifications are off, so that they are not sent when turned on later.
func (s *Store) SkipPending(ctx context.Context, why string) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'skipped', next_attempt_at = NULL, last_error = ? WHERE status = 'pending'`, why)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

const pruneOutboxSQL = `DELETE FROM outbox WHERE status = ? AND created_at < ?`

// PruneOutbox deletes finished events (delivered, failed, skipped)
// created before before; pending ones stay whatever their age.
func (s *Store) PruneOutbox(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, st := range []string{OutboxDelivered, OutboxFailed, OutboxSkipped} {
			res, err := tx.ExecContext(ctx, pruneOutboxSQL, st, ts(before))
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return int(n), err
}

const notificationsSQL = `SELECT ` + outboxCols + ` FROM outbox WHERE status IN ('pending', 'failed') ORDER BY seq`
const allNotificationsSQL = `SELECT ` + outboxCols + ` FROM outbox ORDER BY seq`

// Notifications streams the outbox's events in the order they were
// written to fn: pending and failed ones, or with all every one kept.
func (s *Store) Notifications(ctx context.Context, all bool, fn func(Outboxed) error) error {
	q := notificationsSQL
	if all {
		q = allNotificationsSQL
	}
	rows, err := s.rdb.QueryContext(ctx, q)
	if err != nil {
		return Classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scanOutboxed(rows)
		if err != nil {
			return Classify(err)
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return Classify(rows.Err())
}

// OutboxSignal receives after a transaction that may have written an
// event commits in this process: the deliverer in serve waits on it
// instead of polling. It never blocks a writer (one pending signal is
// kept; more fold into it).
func (s *Store) OutboxSignal() <-chan struct{} { return s.outboxSig }

func (s *Store) signalOutbox() {
	select {
	case s.outboxSig <- struct{}{}:
	default:
	}
}
