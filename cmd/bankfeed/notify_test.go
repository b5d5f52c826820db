package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The signing secret of these tests: whsec_ and base64 of 32 bytes.
var notifySecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("bankfeed-notify-test-secret-0001"))

// hook is a real HTTP receiver of bankfeed's events. Requests it holds
// (hold > 0) get no answer until the test ends.
type hook struct {
	mu   sync.Mutex
	reqs []hookReq
	hold int
	got  chan struct{}
	srv  *httptest.Server
}

type hookReq struct {
	id, typ string
	body    []byte
	signed  bool
}

func newHook(t *testing.T, hold int) *hook {
	h := &hook{hold: hold, got: make(chan struct{}, 100)}
	release := make(chan struct{})
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var env struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(body, &env)
		h.mu.Lock()
		h.reqs = append(h.reqs, hookReq{r.Header.Get("webhook-id"), env.Type, body, signedBy(notifySecret, r.Header, body)})
		held := h.hold > 0
		h.hold--
		h.mu.Unlock()
		h.got <- struct{}{}
		if held {
			<-release
		}
	}))
	t.Cleanup(h.srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: lets held requests end
	return h
}

func (h *hook) all() []hookReq {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookReq(nil), h.reqs...)
}

// signedBy checks a delivery with the Standard Webhooks project's Go
// library, as a receiver would.
func signedBy(secret string, hd http.Header, body []byte) bool {
	wh, err := standardwebhooks.NewWebhook(secret)
	return err == nil && wh.Verify(body, hd) == nil
}

func (h *hook) wait(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-h.got:
		case <-time.After(15 * time.Second):
			t.Fatalf("the receiver got %d of %d requests", len(h.all()), n)
		}
	}
}

// A bankfeed process SIGKILLed after it flagged a token (the fact and its
// event committed) and while its POST of the event was unanswered: the
// next run delivers that event, under the same webhook-id, exactly once,
// and raises no second one for the flag.
func TestNotificationSurvivesSIGKILL(t *testing.T) {
	env, _, tok := world(t)
	if r := bf(t, env, "business", "put", "biz1", "--processor-token", tok["checking"], "--processor-token", tok["broken"]); r.code != 0 {
		t.Fatalf("put: %s", r.stderr)
	}
	stall := newHook(t, 100) // holds every request: whatever the killed run sent is never answered
	env["BANKFEED_NOTIFY_URL"] = stall.srv.URL + "/hooks"
	env["BANKFEED_NOTIFY_SECRET"] = notifySecret
	env["BANKFEED_NOTIFY_TIMEOUT"] = "1s" // a killed attempt's claim ends 2 s after it began
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{"BANKFEED_TEST_MAIN=1", "BANKFEED_TEST_ARGS=--run-once"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stall.wait(t, 1)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	first := stall.all()
	for _, r := range first {
		if r.typ != "token.needs_refresh" || r.id != first[0].id {
			t.Fatalf("before the kill the receiver got %+v, want attempts of one token.needs_refresh", first)
		}
	}

	good := newHook(t, 0)
	env["BANKFEED_NOTIFY_URL"] = good.srv.URL + "/hooks"
	if r := bf(t, env, "--run-once"); r.code != 0 {
		t.Fatalf("next run: exit %d: %s", r.code, r.stderr)
	}
	got := good.all()
	if len(got) != 1 || got[0].id != first[0].id || !bytes.Equal(got[0].body, first[0].body) || !got[0].signed {
		t.Fatalf("after the kill the receiver got %+v, want the killed run's event %s once, signed", got, first[0].id)
	}
	r := bf(t, env, "notifications", "list", "--all", "--json")
	var listed []struct{ ID, Status string }
	if err := json.Unmarshal([]byte(r.stdout), &listed); err != nil || len(listed) != 1 || listed[0].Status != "delivered" {
		t.Fatalf("notifications list --all: %s %v", r.stdout, err)
	}
}

// serve delivers an event from its own goroutine within moments of the
// run that raised it, and --run-once without a URL marks events skipped.
func TestServeDeliversAndRunOnceSkipsWithoutURL(t *testing.T) {
	env, _, tok := world(t)
	bf(t, env, "business", "put", "biz1", "--processor-token", tok["broken"])
	h := newHook(t, 0)
	env["BANKFEED_NOTIFY_URL"] = h.srv.URL
	env["BANKFEED_NOTIFY_SECRET"] = notifySecret
	env["BANKFEED_SYNC_SCHEDULE"] = "@every 1s"
	cmd, log, done := startServe(t, env)
	h.wait(t, 1)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	<-done
	_ = cmd.Wait()
	if got := h.all(); len(got) != 1 || got[0].typ != "token.needs_refresh" || !got[0].signed {
		t.Fatalf("serve sent %+v\n%s", got, log)
	}
	if strings.Contains(log.String(), notifySecret[6:]) || strings.Contains(log.String(), h.srv.URL) {
		t.Errorf("serve's log names the secret or the receiver's URL:\n%s", log)
	}

	// Notifications off: the next event is recorded, then skipped.
	delete(env, "BANKFEED_NOTIFY_URL")
	bf(t, env, "business", "put", "biz1", "--processor-token", tok["broken"]) // a re-put: token.recovered
	if r := bf(t, env, "--run-once", "--job", "reconcile"); r.code != 0 {
		t.Fatalf("run: %d %s", r.code, r.stderr)
	}
	r := bf(t, env, "notifications", "list", "--all")
	if r.code != 0 || !strings.Contains(r.stdout, "token.recovered") || !strings.Contains(r.stdout, "skipped") ||
		!strings.Contains(r.stderr, "BANKFEED_NOTIFY_URL is not set") {
		t.Fatalf("notifications list --all: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := bf(t, env, "notifications", "list"); r.code != 0 || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("the default list shows delivered or skipped events:\n%s", r.stdout)
	}
}

// Bad notification settings and flags exit 2 with one line that never
// holds the secret.
func TestNotifyBadInput(t *testing.T) {
	env, _, _ := world(t)
	for _, c := range []struct {
		name string
		set  map[string]string
		args []string
		want string
	}{
		{"short secret", map[string]string{"BANKFEED_NOTIFY_URL": "https://hooks.example.com/h", "BANKFEED_NOTIFY_SECRET": "whsec_c2hvcnQtc2VjcmV0"},
			[]string{"--run-once"}, "BANKFEED_NOTIFY_SECRET: decodes to 12 bytes"},
		{"url without secret", map[string]string{"BANKFEED_NOTIFY_URL": "https://hooks.example.com/h"}, []string{"serve"}, "BANKFEED_NOTIFY_SECRET: not set"},
		{"unknown flag", nil, []string{"notifications", "list", "--pending"}, "notifications list"},
		{"extra argument", nil, []string{"notifications", "list", "all"}, `unexpected argument "all"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := env
			for k, v := range c.set {
				e = copyEnv(e, k, v)
			}
			r := bf(t, e, c.args...)
			if r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, c.want) {
				t.Fatalf("exit %d, stderr %q: want 2 and one line with %q", r.code, r.stderr, c.want)
			}
			if s := c.set["BANKFEED_NOTIFY_SECRET"]; s != "" && strings.Contains(r.stderr, s[6:]) {
				t.Error("the message holds the secret")
			}
		})
	}
}
