package main

import (
	"encoding/json"
	"strings"
	"testing"

	"bankfeed/plaidfake"
)

// A token whose history Plaid is still gathering does not fail the run:
// exit 0, and tokens list says not_ready (JSON and text).
func TestNotReadyTokenExitsZero(t *testing.T) {
	env, srv, tok := world(t)
	_, staged := srv.AddAccount(plaidfake.Account{ID: "acc_new", Type: "depository", Subtype: "checking", Opening: "1.00", History: plaidfake.HistoryStaged})
	if r := bf(t, env, "business", "put", "biz1", "--processor-token", tok["checking"], "--processor-token", staged); r.code != 0 {
		t.Fatalf("put: %d %s", r.code, r.stderr)
	}
	if r := bf(t, env, "--run-once"); r.code != 0 || !strings.Contains(r.stdout, `"outcome":"not_ready"`) {
		t.Fatalf("run-once exit %d: %s\n%s", r.code, r.stderr, r.stdout)
	}
	r := bf(t, env, "tokens", "list", "--json")
	var toks []struct {
		TokenHint string  `json:"token_hint"`
		History   *string `json:"history"`
		Status    string  `json:"status"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &toks); err != nil || len(toks) != 2 {
		t.Fatalf("tokens list --json: %v %s", err, r.stdout)
	}
	want := map[string]string{tok["checking"][len(tok["checking"])-4:]: "complete", staged[len(staged)-4:]: "not_ready"}
	for _, x := range toks {
		if x.History == nil || *x.History != want[x.TokenHint] || x.Status != "active" {
			t.Errorf("token …%s: status %s, history %v, want active and %s", x.TokenHint, x.Status, x.History, want[x.TokenHint])
		}
	}
	if r = bf(t, env, "tokens", "list"); !strings.Contains(r.stdout, "HISTORY") || !strings.Contains(r.stdout, "not_ready") {
		t.Fatalf("tokens list:\n%s", r.stdout)
	}
}

func TestRealtimeBalancesSettingIsChecked(t *testing.T) {
	env, _, _ := world(t)
	env["BANKFEED_REALTIME_BALANCES"] = "hourly"
	r := bf(t, env, "--run-once")
	if r.code != exitUsage || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 ||
		!strings.Contains(r.stderr, `BANKFEED_REALTIME_BALANCES: got "hourly"; use one of: off, daily`) {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}
