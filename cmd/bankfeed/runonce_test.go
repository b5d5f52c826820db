package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestLogFields: every JSON log line of a run names tokens by hint, never
// by internal id, and durations carry their unit in the field name.
func TestLogFields(t *testing.T) {
	env, _, tok := world(t)
	if r := bf(t, env, "business", "put", "biz1", "--processor-token", tok["checking"], "--processor-token", tok["broken"]); r.code != 0 {
		t.Fatalf("put: %d %s", r.code, r.stderr)
	}
	r := bf(t, env, "--run-once")
	if r.code != 0 {
		t.Fatalf("run: %d %s", r.code, r.stderr)
	}
	hints := map[string]bool{}
	finished := 0
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON log line: %q", line)
		}
		for k := range m {
			if k == "token_id" || k == "id" || k == "duration" || k == "timeout" {
				t.Errorf("log field %q (want the token hint, or a unit in the name): %s", k, line)
			}
		}
		if m["message"] == "token" {
			h, _ := m["token_hint"].(string)
			hints[h] = true
		}
		if m["message"] == "run finished" {
			finished++
			if _, ok := m["duration_ms"].(float64); !ok {
				t.Errorf("run finished without a numeric duration_ms: %s", line)
			}
		}
	}
	for _, name := range []string{"checking", "broken"} {
		if h := tok[name][len(tok[name])-4:]; !hints[h] {
			t.Errorf("no token line with token_hint %q (the %s token); saw %v", h, name, hints)
		}
	}
	if finished != 1 {
		t.Errorf("%d run finished lines, want 1", finished)
	}
}
