package main

import (
	"context"
	"testing"
	"time"

	"bankfeed/plaidfake"
	"bankfeed/store"
)

// tokensByHint reads the stored tokens keyed by their last four characters.
func tokensByHint(t *testing.T, env map[string]string) map[string]store.Token {
	t.Helper()
	st := openDB(t, env, true)
	defer st.Close()
	toks, err := st.Tokens(context.Background(), store.TokenFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.Token{}
	for _, tk := range toks {
		out[tk.Hint] = tk
	}
	return out
}

func hintOf(tok string) string { return tok[len(tok)-4:] }

// TestRunOnceProbeJob runs `--run-once --job probe` as an operator would:
// BANKFEED_PROBE_INTERVAL sets when a token flagged with a login error is
// due; before then the probe calls Plaid for nobody; once it is due (the
// stored probe time moved into the past, as if the interval had passed) a
// repaired login is reactivated and the next sync takes it up again; a
// revoked token is never probed.
func TestRunOnceProbeJob(t *testing.T) {
	env, srv, tok := world(t)
	_, dead := srv.AddAccount(plaidfake.Account{ID: "acc_dead", Type: "depository", Subtype: "savings", Opening: "1.00"})
	srv.InvalidateToken(dead)
	if r := bf(t, env, "business", "put", "biz1", "--processor-token", tok["checking"], "--processor-token", tok["broken"], "--processor-token", dead); r.code != 0 {
		t.Fatalf("put: %d %s", r.code, r.stderr)
	}
	env["BANKFEED_PROBE_INTERVAL"] = "1h"
	flagged := time.Now()
	if r := bf(t, env, "--run-once", "--job", "sync"); r.code != 0 {
		t.Fatalf("sync: %d %s", r.code, r.stderr)
	}
	toks := tokensByHint(t, env)
	login, revoked := toks[hintOf(tok["broken"])], toks[hintOf(dead)]
	if login.Status != store.StatusNeedsRefresh || login.NextProbeAt == nil ||
		login.NextProbeAt.Before(flagged.Add(time.Hour-time.Minute)) || login.NextProbeAt.After(time.Now().Add(time.Hour)) {
		t.Fatalf("login token after the sync: %+v, want a probe due in BANKFEED_PROBE_INTERVAL", login)
	}
	if revoked.Status != store.StatusNeedsRefresh || revoked.NextProbeAt != nil {
		t.Fatalf("revoked token after the sync: %+v, want no probe", revoked)
	}

	srv.SetItemError(tok["broken"], "") // the owner repairs the login
	calls := func(tok string) int {
		return srv.Calls(tok, "/processor/account/get") + srv.Calls(tok, "/processor/transactions/sync") + srv.Calls(tok, "/processor/balance/get")
	}
	loginCalls, deadCalls := calls(tok["broken"]), calls(dead)
	if r := bf(t, env, "--run-once", "--job", "probe"); r.code != 0 {
		t.Fatalf("probe: %d %s", r.code, r.stderr)
	}
	if got := calls(tok["broken"]); got != loginCalls {
		t.Fatalf("login token probed %d time(s) before its interval", got-loginCalls)
	}

	st := openDB(t, env, false)
	err := st.SetNextProbe(context.Background(), login.ID, time.Now().Add(-time.Second))
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if r := bf(t, env, "--run-once", "--job", "probe"); r.code != 0 {
		t.Fatalf("probe: %d %s", r.code, r.stderr)
	}
	toks = tokensByHint(t, env)
	if tk := toks[hintOf(tok["broken"])]; tk.Status != store.StatusActive || tk.Reason != "" {
		t.Fatalf("login token after a due probe: %+v", tk)
	}
	if tk := toks[hintOf(dead)]; tk.Status != store.StatusNeedsRefresh || calls(dead) != deadCalls {
		t.Fatalf("revoked token: %+v, %d call(s) since it was flagged", tk, calls(dead)-deadCalls)
	}

	if r := bf(t, env, "--run-once", "--job", "sync"); r.code != 0 {
		t.Fatalf("sync after the repair: %d %s", r.code, r.stderr)
	}
	if tk := tokensByHint(t, env)[hintOf(tok["broken"])]; tk.Status != store.StatusActive || tk.Cursor == "" || tk.PlaidAccountID != "acc_broken" {
		t.Fatalf("repaired token after the next sync: %+v", tk)
	}
	if got := calls(dead); got != deadCalls {
		t.Fatalf("revoked token called %d time(s)", got-deadCalls)
	}
}
