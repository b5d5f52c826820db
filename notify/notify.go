// Package notify delivers the events of the store's outbox to the
// platform's endpoint (BANKFEED_NOTIFY_URL) as Standard Webhooks: a JSON
// POST signed with HMAC-SHA256 under the headers webhook-id,
// webhook-timestamp and webhook-signature. Delivery is at least once: an
// event leaves the outbox only when a 2xx acknowledges it, and is tried
// again with exponential backoff for three days otherwise.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"bankfeed/store"
)

// Delivery policy (the contract: from 1 s up to 1 h, for 3 days).
const (
	DefaultBaseDelay   = time.Second
	DefaultMaxDelay    = time.Hour
	DefaultGiveUpAfter = 72 * time.Hour
	DefaultTimeout     = 10 * time.Second
	// KeepFor is how long finished events stay listed (notifications list
	// --all) before they are pruned.
	KeepFor = 30 * 24 * time.Hour
	// batch is how many due events one claim takes.
	batch = 50
)

// Sign is the Standard Webhooks signature of one attempt:
// "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)).
func Sign(key []byte, id string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(timestamp, 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Deliverer posts due outbox events to URL.
type Deliverer struct {
	Store *store.Store
	// URL is BANKFEED_NOTIFY_URL; "" means notifications are off, and
	// pending events are marked skipped instead of sent.
	URL string
	// Key is the decoded signing secret (the bytes after whsec_).
	Key []byte
	Log zerolog.Logger
	// Timeout bounds one POST; a claim lasts Timeout plus a second, so a
	// killed deliverer's event is due again soon after.
	Timeout     time.Duration
	BaseDelay   time.Duration
	MaxDelay    time.Duration
	GiveUpAfter time.Duration
	Now         func() time.Time
	// Client sends the POSTs; nil is a client that follows no redirect
	// (a 3xx is not an acknowledgement).
	Client *http.Client

	lastPrune time.Time
}

func (d *Deliverer) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC()
	}
	return time.Now().UTC()
}

func orDefault(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

func (d *Deliverer) client() *http.Client {
	if d.Client != nil {
		return d.Client
	}
	d.Client = &http.Client{
		Timeout:       orDefault(d.Timeout, DefaultTimeout),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return d.Client
}

// Backoff is the wait after the attempt-th failed attempt: 1 s, 2 s,
// 4 s, ... capped at MaxDelay.
func (d *Deliverer) Backoff(attempt int) time.Duration {
	base, ceil := orDefault(d.BaseDelay, DefaultBaseDelay), orDefault(d.MaxDelay, DefaultMaxDelay)
	delay := base
	for i := 1; i < attempt && delay < ceil; i++ {
		delay *= 2
	}
	return min(delay, ceil)
}

// Counts says what one pass did.
type Counts struct {
	Delivered, Retrying, Failed, Skipped int
}

// DeliverDue makes one attempt at every event due now, oldest first, and
// records each outcome. Events that fail are not in the way of the others.
func (d *Deliverer) DeliverDue(ctx context.Context) (Counts, error) {
	var c Counts
	if err := d.prune(ctx); err != nil {
		return c, err
	}
	// A read first: polling an outbox with nothing due takes no write lock.
	if next, err := d.Store.NextDue(ctx); err != nil || next == nil || (d.URL != "" && next.After(d.now())) {
		return c, err
	}
	if d.URL == "" {
		n, err := d.Store.SkipPending(ctx, "BANKFEED_NOTIFY_URL is not set")
		c.Skipped = n
		return c, err
	}
	lease := orDefault(d.Timeout, DefaultTimeout) + time.Second
	for ctx.Err() == nil {
		due, err := d.Store.ClaimDue(ctx, d.now(), lease, batch)
		if err != nil || len(due) == 0 {
			return c, err
		}
		for _, ev := range due {
			if err := d.attempt(ctx, ev, &c); err != nil {
				return c, err
			}
		}
	}
	return c, ctx.Err()
}

// attempt posts one claimed event and records the outcome.
func (d *Deliverer) attempt(ctx context.Context, ev store.Outboxed, c *Counts) error {
	started := time.Now()
	at := d.now()
	status, err := d.post(ctx, ev, at)
	log := d.Log.With().Str("event_id", ev.ID).Str("event_type", ev.Type).Int("attempt", ev.Attempts).
		Int64("duration_ms", time.Since(started).Milliseconds()).Logger()
	// Recorded even when ctx ended mid-POST: the claim must not be lost.
	wctx := context.WithoutCancel(ctx)
	if err == nil && status/100 == 2 {
		log.Info().Int("http_status", status).Msg("notification delivered")
		c.Delivered++
		return d.Store.MarkDelivered(wctx, ev.Seq, ev.Attempts, d.now())
	}
	msg := fmt.Sprintf("HTTP %d", status)
	if err != nil {
		msg = err.Error()
	}
	done := d.now()
	if done.Sub(ev.CreatedAt) >= orDefault(d.GiveUpAfter, DefaultGiveUpAfter) {
		log.Error().Str("error", msg).Msg("notification given up: its retry window has passed")
		c.Failed++
		return d.Store.MarkFailed(wctx, ev.Seq, ev.Attempts, msg, nil)
	}
	next := done.Add(d.Backoff(ev.Attempts))
	log.Warn().Str("error", msg).Time("next_attempt_at", next).Msg("notification not acknowledged; will retry")
	c.Retrying++
	return d.Store.MarkFailed(wctx, ev.Seq, ev.Attempts, msg, &next)
}

// post sends one attempt. Its error never names the URL, which may carry
// a credential of the receiver's.
func (d *Deliverer) post(ctx context.Context, ev store.Outboxed, at time.Time) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(ev.Body))
	if err != nil {
		return 0, errors.New("BANKFEED_NOTIFY_URL is not a usable URL")
	}
	stamp := at.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bankfeed")
	req.Header.Set("webhook-id", ev.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(stamp, 10))
	req.Header.Set("webhook-signature", Sign(d.Key, ev.ID, stamp, ev.Body))
	resp, err := d.client().Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("POST failed: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

func (d *Deliverer) prune(ctx context.Context) error {
	now := d.now()
	if now.Sub(d.lastPrune) < time.Hour {
		return nil
	}
	n, err := d.Store.PruneOutbox(ctx, now.Add(-KeepFor))
	if err != nil {
		return err
	}
	d.lastPrune = now
	if n > 0 {
		d.Log.Info().Int("events", n).Msg("pruned finished notifications older than 30 days")
	}
	return nil
}

// Drain delivers what is due, and what falls due within window, then
// returns: --run-once's bounded delivery after its jobs. What is left is
// the next process's (the outbox keeps it).
func (d *Deliverer) Drain(ctx context.Context, window time.Duration) (Counts, error) {
	ctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	var total Counts
	for {
		c, err := d.DeliverDue(ctx)
		total.add(c)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return total, nil // the window is over
			}
			return total, err
		}
		next, err := d.Store.NextDue(ctx)
		if err != nil || next == nil {
			return total, err
		}
		if !d.sleepUntil(ctx, *next, nil) {
			return total, nil
		}
	}
}

// Run delivers until ctx ends: serve's deliverer, in its own goroutine so
// that no job ever waits on a receiver. It wakes when this process writes
// an event, when the next retry falls due, and at least every poll (for
// events other processes wrote).
func (d *Deliverer) Run(ctx context.Context, poll time.Duration) {
	for ctx.Err() == nil {
		if _, err := d.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			d.Log.Error().Err(err).Msg("notifications: delivery pass failed")
		}
		wake := d.now().Add(poll)
		if next, err := d.Store.NextDue(ctx); err == nil && next != nil && next.Before(wake) {
			wake = *next
		}
		d.sleepUntil(ctx, wake, d.Store.OutboxSignal())
	}
}

// sleepUntil waits until t (by d's clock), a signal, or ctx's end; false
// when ctx ended.
func (d *Deliverer) sleepUntil(ctx context.Context, t time.Time, sig <-chan struct{}) bool {
	wait := t.Sub(d.now())
	if wait <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
	case <-sig:
	}
	return true
}

func (c *Counts) add(o Counts) {
	c.Delivered += o.Delivered
	c.Retrying += o.Retrying
	c.Failed += o.Failed
	c.Skipped += o.Skipped
}
