package notify_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"bankfeed/notify"
	"bankfeed/store"
)

// verify checks a delivery with the Standard Webhooks project's own Go
// library, as a receiver would: signature and a timestamp within 5 minutes
// of the wall clock.
func verify(secret string, h http.Header, body []byte) error {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return err
	}
	return wh.Verify(body, h)
}

// The signer reproduces the specification's published test vector.
func TestSignMatchesTheSpecificationVector(t *testing.T) {
	key, _ := base64.StdEncoding.DecodeString("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	got := notify.Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if got != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Fatalf("Sign = %s", got)
	}
}

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func key(t *testing.T) []byte {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hit is one request a receiver got.
type hit struct {
	header http.Header
	body   []byte
	status int
}

// receiver is a real HTTP endpoint that answers each request with the
// next of its scripted statuses per webhook-id (200 once they run out);
// status 0 drops the connection without an answer.
type receiver struct {
	mu     sync.Mutex
	hits   []hit
	script []int
	seen   map[string]int
	got    chan struct{}
	srv    *httptest.Server
}

func newReceiver(t *testing.T, script ...int) *receiver {
	r := &receiver{script: script, seen: map[string]int{}, got: make(chan struct{}, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		id := req.Header.Get("webhook-id")
		status := http.StatusOK
		if n := r.seen[id]; n < len(r.script) {
			status = r.script[n]
		}
		r.seen[id]++
		r.hits = append(r.hits, hit{req.Header.Clone(), body, status})
		r.mu.Unlock()
		r.got <- struct{}{}
		if status == 0 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		if status == http.StatusFound {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) all() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hit(nil), r.hits...)
}

type world struct {
	st  *store.Store
	now time.Time
	d   *notify.Deliverer
	log *bytes.Buffer
}

func newWorld(t *testing.T, url string) *world {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "b.db"), []byte("0123456789abcdef0123456789abcdef"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := &world{st: st, now: time.Now().UTC().Truncate(time.Second), log: &bytes.Buffer{}}
	st.Now = func() time.Time { return w.now }
	w.d = &notify.Deliverer{Store: st, URL: url, Key: key(t), Now: func() time.Time { return w.now }, Timeout: 2 * time.Second,
		Log: zerolog.New(zerolog.SyncWriter(w.log))}
	return w
}

// finishRun ends a run as failed, as the runner does: the one place these
// tests depend on FinishRun's signature.
func finishRun(st *store.Store, id, errText string) error {
	return st.FinishRun(context.Background(), id, "failed", nil, errText, store.RunDetail{})
}

// failRun writes a run.failed event through the store, as a run does.
func (w *world) failRun(t *testing.T, id string) {
	t.Helper()
	if err := w.st.StartRun(context.Background(), id, "sync"); err != nil {
		t.Fatal(err)
	}
	if err := finishRun(w.st, id, "Plaid answered 500"); err != nil {
		t.Fatal(err)
	}
}

func (w *world) events(t *testing.T) []store.Outboxed {
	t.Helper()
	var out []store.Outboxed
	if err := w.st.Notifications(context.Background(), true, func(o store.Outboxed) error { out = append(out, o); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// Every POST carries the envelope and the three headers, and verifies
// with the standard verifier; the verifier refuses a tampered body, a
// wrong secret and a stale timestamp (so it can fail).
func TestDeliverySignatureVerifies(t *testing.T) {
	rcv := newReceiver(t)
	w := newWorld(t, rcv.srv.URL+"/hooks")
	w.failRun(t, "run-1")
	c, err := w.d.DeliverDue(context.Background())
	if err != nil || c.Delivered != 1 {
		t.Fatalf("deliver: %+v %v", c, err)
	}
	hits := rcv.all()
	if len(hits) != 1 {
		t.Fatalf("%d requests", len(hits))
	}
	h := hits[0]
	if err := verify(secret, h.header, h.body); err != nil {
		t.Fatalf("the standard verifier refuses the delivery: %v", err)
	}
	if h.header.Get("Content-Type") != "application/json" || h.header.Get("webhook-timestamp") != strconv.FormatInt(w.now.Unix(), 10) {
		t.Errorf("headers %v", h.header)
	}
	var env struct {
		Type      string            `json:"type"`
		Timestamp string            `json:"timestamp"`
		Data      map[string]string `json:"data"`
	}
	if err := json.Unmarshal(h.body, &env); err != nil {
		t.Fatal(err)
	}
	if env.Type != "run.failed" || env.Data["run_id"] != "run-1" || env.Data["job"] != "sync" || env.Data["error"] != "Plaid answered 500" {
		t.Fatalf("body %s", h.body)
	}
	if ts, err := time.Parse(time.RFC3339, env.Timestamp); err != nil || !ts.Equal(w.now) {
		t.Errorf("timestamp %q", env.Timestamp)
	}
	if err := verify(secret, h.header, bytes.Replace(h.body, []byte("run-1"), []byte("run-2"), 1)); err == nil {
		t.Error("the verifier accepts a tampered body")
	}
	if err := verify("whsec_"+base64.StdEncoding.EncodeToString(make([]byte, 24)), h.header, h.body); err == nil {
		t.Error("the verifier accepts another secret's signature")
	}
	replay := h.header.Clone()
	replay.Set("webhook-timestamp", strconv.FormatInt(w.now.Add(-10*time.Minute).Unix(), 10))
	if err := verify(secret, replay, h.body); err == nil {
		t.Error("the verifier accepts a replayed timestamp")
	}
	if ev := w.events(t); len(ev) != 1 || ev[0].Status != store.OutboxDelivered || ev[0].DeliveredAt == nil || ev[0].Attempts != 1 {
		t.Fatalf("after delivery: %+v", ev)
	}
}

// drive runs delivery passes, moving the clock to each next due time,
// until nothing is pending or passes run out.
func (w *world) drive(t *testing.T, passes int) {
	t.Helper()
	for range passes {
		if _, err := w.d.DeliverDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		next, err := w.st.NextDue(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if next == nil {
			return
		}
		if next.After(w.now) {
			w.now = *next
		}
	}
}

// A receiver that fails three times (a 500, a redirect, a dropped
// connection) then succeeds gets each event exactly once more: four
// requests per webhook-id, all with the same id and body, one
// acknowledged, and nothing after it. The waits double from 1 s.
func TestRetriesUntilAcknowledgedOnce(t *testing.T) {
	rcv := newReceiver(t, http.StatusInternalServerError, http.StatusFound, 0)
	w := newWorld(t, rcv.srv.URL)
	w.failRun(t, "run-a")
	w.failRun(t, "run-b")
	start := w.now
	w.drive(t, 50)
	w.now = w.now.Add(30 * 24 * time.Hour)
	w.drive(t, 5) // nothing left to send

	byID := map[string][]hit{}
	for _, h := range rcv.all() {
		id := h.header.Get("webhook-id")
		byID[id] = append(byID[id], h)
		if err := verify(secret, h.header, h.body); err != nil {
			t.Errorf("attempt of %s does not verify: %v", id, err)
		}
	}
	if len(byID) != 2 {
		t.Fatalf("requests for %d webhook-ids, want 2", len(byID))
	}
	for id, hs := range byID {
		ok := 0
		for _, h := range hs {
			if h.status == http.StatusOK {
				ok++
			}
			if !bytes.Equal(h.body, hs[0].body) {
				t.Errorf("%s: a retry changed the body", id)
			}
		}
		if len(hs) != 4 || ok != 1 || hs[3].status != http.StatusOK {
			t.Errorf("%s: %d requests, %d acknowledged; want 4 requests, the last one acknowledged", id, len(hs), ok)
		}
	}
	for _, ev := range w.events(t) {
		if ev.Status != store.OutboxDelivered || ev.Attempts != 4 {
			t.Errorf("event %s: %s after %d attempts", ev.ID, ev.Status, ev.Attempts)
		}
		// Sent at +0, +1 s, +3 s, +7 s.
		if got := ev.DeliveredAt.Sub(start); got != 7*time.Second {
			t.Errorf("event %s delivered %v after it was written, want 7s (waits of 1, 2 and 4 s)", ev.ID, got)
		}
	}
}

// An event no attempt gets through is retried with waits that double up
// to an hour, and given up as failed three days after it was written; its
// last error is listed and never names the receiver's URL, which may
// carry a credential.
func TestGivesUpAfterThreeDays(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL + "/hook?access_key=receiver-credential-123"
	dead.Close() // connection refused from now on
	w := newWorld(t, url)
	w.failRun(t, "run-x")
	start := w.now
	var waits []time.Duration
	for range 200 {
		before := w.now
		w.drive(t, 1)
		if w.now.After(before) {
			waits = append(waits, w.now.Sub(before))
		}
		if w.events(t)[0].Status != store.OutboxPending {
			break
		}
	}
	ev := w.events(t)[0]
	if ev.Status != store.OutboxFailed {
		t.Fatalf("after %d attempts over %v: %s", ev.Attempts, w.now.Sub(start), ev.Status)
	}
	if age := ev.LastAttemptAt.Sub(start); age < 72*time.Hour || age > 73*time.Hour {
		t.Errorf("given up %v after it was written, want 3 days (within the last 1 h wait)", age)
	}
	if waits[0] != time.Second || waits[1] != 2*time.Second || waits[len(waits)-2] != time.Hour {
		t.Errorf("waits %v: want 1 s, 2 s, ... capped at 1 h", waits)
	}
	if !strings.Contains(ev.LastError, "POST failed") || strings.Contains(ev.LastError, "receiver-credential") || strings.Contains(w.log.String(), "receiver-credential") {
		t.Errorf("last error %q (or the log) names the URL", ev.LastError)
	}
	if strings.Contains(w.log.String(), "MfKQ9r8") {
		t.Error("the log holds the signing secret")
	}
}

// With no URL configured, pending events are marked skipped rather than
// kept for a receiver that may be configured weeks later.
func TestNoURLSkips(t *testing.T) {
	w := newWorld(t, "")
	w.failRun(t, "run-1")
	c, err := w.d.DeliverDue(context.Background())
	if err != nil || c.Skipped != 1 {
		t.Fatalf("%+v %v", c, err)
	}
	if ev := w.events(t); ev[0].Status != store.OutboxSkipped {
		t.Fatalf("%+v", ev)
	}
}

// serve's deliverer runs in its own goroutine and is woken by the write
// of an event: it delivers within moments though its poll is an hour.
func TestRunWakesOnWrite(t *testing.T) {
	rcv := newReceiver(t)
	w := newWorld(t, rcv.srv.URL)
	w.d.Now = nil // real time
	w.st.Now = func() time.Time { return time.Now().UTC() }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.d.Run(ctx, time.Hour); close(done) }()
	for i := range 3 {
		w.failRun(t, fmt.Sprintf("run-%d", i))
		select {
		case <-rcv.got:
		case <-time.After(10 * time.Second):
			t.Fatalf("event %d not delivered", i)
		}
	}
	cancel()
	<-done
}

// Drain, --run-once's bounded delivery, waits for retries that fall due
// within its window and leaves the rest to the next process.
func TestDrainIsBounded(t *testing.T) {
	rcv := newReceiver(t, http.StatusServiceUnavailable)
	w := newWorld(t, rcv.srv.URL)
	w.d.Now = nil
	w.st.Now = func() time.Time { return time.Now().UTC() }
	w.failRun(t, "run-1")
	c, err := w.d.Drain(context.Background(), 5*time.Second)
	if err != nil || c.Delivered != 1 || c.Retrying != 1 {
		t.Fatalf("drain: %+v %v (want the 1 s retry inside the window)", c, err)
	}
	slow := newReceiver(t, http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusServiceUnavailable)
	w.d.URL = slow.srv.URL
	w.failRun(t, "run-2")
	started := time.Now()
	c, err = w.d.Drain(context.Background(), 2500*time.Millisecond)
	if took := time.Since(started); err != nil || c.Delivered != 0 || took > 10*time.Second {
		t.Fatalf("drain: %+v %v after %v", c, err, took)
	}
	if ev := w.events(t); ev[1].Status != store.OutboxPending {
		t.Fatalf("the undelivered event is %s, want pending for the next process", ev[1].Status)
	}
}

// BenchmarkWriteAndDeliver is the cost of one event end to end: written
// with its fact (a failed run), claimed, signed, POSTed to a loopback
// receiver and marked delivered.
func BenchmarkWriteAndDeliver(b *testing.B) {
	rcv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer rcv.Close()
	st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "b.db"), []byte("0123456789abcdef0123456789abcdef"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	d := &notify.Deliverer{Store: st, URL: rcv.URL, Key: []byte("0123456789abcdef01234567"), Log: zerolog.Nop()}
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		id := fmt.Sprintf("run-%d", i)
		if err := st.StartRun(ctx, id, "sync"); err != nil {
			b.Fatal(err)
		}
		if err := finishRun(st, id, "boom"); err != nil {
			b.Fatal(err)
		}
		if c, err := d.DeliverDue(ctx); err != nil || c.Delivered != 1 {
			b.Fatalf("%+v %v", c, err)
		}
	}
}
