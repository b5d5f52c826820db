package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const plain = "hunter2-plaid-secret-value"

func TestSecretNeverPrints(t *testing.T) {
	s := NewSecret(plain)
	if s.Reveal() != plain || s.IsZero() || !NewSecret("").IsZero() || !(Secret{}).IsZero() {
		t.Fatal("Reveal/IsZero broken")
	}
	if !s.Matches(plain) || s.Matches(plain+"x") || (Secret{}).Matches("") {
		t.Fatal("Matches broken")
	}

	cfg := Default()
	cfg.PlaidSecret = s
	cfg.TokenKey = NewSecret(plain + "-key")
	cfg.APIKeys = []Secret{NewSecret(plain + "-api")}
	type holder struct{ cfg Config } // unexported: fmt cannot call Secret's methods here
	values := map[string]any{"secret": s, "pointer": &s, "config": cfg, "config pointer": &cfg, "unexported field": holder{cfg}, "slice": cfg.APIKeys}

	var out []string
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T", "%p", "%t", "%b", "%o", "%e", "%c", "%U", "%10.3s", "%-20v"} {
			out = append(out, name+" "+verb+": "+fmt.Sprintf(verb, v))
		}
		out = append(out, fmt.Sprint(v), fmt.Sprintln(v))
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%s): %v", name, err)
		}
		out = append(out, string(b))
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("m", "v", v)
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("m", "v", v)
		out = append(out, buf.String())
	}
	text, _ := s.MarshalText()
	out = append(out, string(text), s.String(), s.GoString())

	for _, o := range out {
		if strings.Contains(o, "hunter2") || strings.Contains(o, fmt.Sprintf("%x", "hunter2")) {
			t.Errorf("secret leaked: %s", o)
		}
	}
	if got := fmt.Sprintf("%v %q", s, s); got != "[REDACTED] [REDACTED]" {
		t.Errorf("Sprintf = %q", got)
	}
	if !strings.Contains(out[len(out)-1], redacted) {
		t.Errorf("GoString = %q", out[len(out)-1])
	}
}

func TestLoadErrorsNeverPrintSecrets(t *testing.T) {
	dir := t.TempDir()
	shortKey := filepath.Join(dir, "key")
	if err := os.WriteFile(shortKey, []byte("aHVudGVyMi1wbGFpZA=="), 0o600); err != nil { // "hunter2-plaid", too short
		t.Fatal(err)
	}
	_, err := Load(envOf(map[string]string{
		"PLAID_SECRET_FILE":       plain, // the classic slip: the secret itself instead of its path
		"BANKFEED_TOKEN_KEY_FILE": shortKey,
		"BANKFEED_API_KEYS":       "hunter2,hunter2-but-long-enough",
	}), "")
	p := problems(t, err)
	if len(p) != 3 {
		t.Fatalf("problems = %q", p)
	}
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "aHVudGVy") {
		t.Fatalf("secret in error: %v", err)
	}

	conf := filepath.Join(dir, "bankfeed.env")
	if err := os.WriteFile(conf, []byte("PLAID_SECRET hunter2\nPLAID_SECRET='hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(envOf(nil), conf)
	if p := problems(t, err); len(p) != 2 || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("problems = %q", p)
	}
}
