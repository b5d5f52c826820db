package config

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// problems returns the lines of a Load error, failing unless it is a config error.
func problems(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		t.Fatal("Load: want an error, got none")
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Load error %v does not match ErrInvalid", err)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Load error %T is not *Error", err)
	}
	if got := strings.Join(e.Problems, "\n"); got != err.Error() {
		t.Errorf("Error() = %q, want the problems one per line", err.Error())
	}
	return e.Problems
}

func mustLoad(t *testing.T, env map[string]string, file string) Config {
	t.Helper()
	c, err := Load(envOf(env), file)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

var key32 = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

func TestDefaults(t *testing.T) {
	c := mustLoad(t, nil, "")
	if !reflect.DeepEqual(c, Default()) {
		t.Fatalf("Load with nothing set = %+v, want Default()", c)
	}
	if c.Location != time.UTC || c.PlaidURL() != "https://sandbox.plaid.com" || !c.TokenKeyIsDefault || len(c.TokenKey.Reveal()) != TokenKeySize {
		t.Errorf("defaults: location %v, url %s, default key %v, key length %d", c.Location, c.PlaidURL(), c.TokenKeyIsDefault, len(c.TokenKey.Reveal()))
	}
}

// The defaults documented in Settings (README, --help) are the ones Load uses.
func TestSettingsDocumentTheDefaults(t *testing.T) {
	env := map[string]string{}
	for _, s := range Settings {
		if s.Default != "" {
			env[s.Name] = s.Default
		}
		if s.Doc == "" {
			t.Errorf("%s has no Doc", s.Name)
		}
	}
	if c := mustLoad(t, env, ""); !reflect.DeepEqual(c, Default()) {
		t.Fatalf("Load with every documented default = %+v, want Default()", c)
	}
}

func TestSettingsListEveryVariableRead(t *testing.T) {
	read := map[string]bool{}
	if _, err := Load(func(k string) string { read[k] = true; return "" }, ""); err != nil {
		t.Fatal(err)
	}
	for k := range read {
		if !known[k] {
			t.Errorf("Load reads %s, which Settings does not document", k)
		}
	}
	for _, s := range Settings {
		if !read[s.Name] {
			t.Errorf("Settings documents %s, which Load never reads", s.Name)
		}
	}
}

func TestEnvOverridesFile(t *testing.T) {
	file := writeFile(t, `# bankfeed settings
BANKFEED_DB=/data/file.db
export BANKFEED_CONCURRENCY = 4
PLAID_ENV="production"
BANKFEED_REPORT_DIR='/data/reports'
PLAID_SECRET_FILE=/nonexistent/ignored-because-env-sets-PLAID_SECRET
BANKFEED_SYNC_SCHEDULE=@hourly

`)
	c := mustLoad(t, map[string]string{
		"BANKFEED_DB":          "/env/env.db",
		"BANKFEED_CONCURRENCY": "", // empty is unset: the file's value stays
		"PLAID_SECRET":         "env-secret",
	}, file)
	want := Default()
	want.DBPath = "/env/env.db"
	want.Concurrency = 4
	want.PlaidEnv = EnvProduction
	want.ReportDir = "/data/reports"
	want.PlaidSecret = NewSecret("env-secret")
	want.SyncSchedule = "@hourly"
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
	if c.PlaidSecret.Reveal() != "env-secret" {
		t.Errorf("PlaidSecret = %q", c.PlaidSecret.Reveal())
	}
}

func TestOverrides(t *testing.T) {
	c := mustLoad(t, map[string]string{
		"PLAID_CLIENT_ID":               "client",
		"PLAID_ENV":                     "Production",
		"PLAID_BASE_URL":                "http://127.0.0.1:4010/",
		"BANKFEED_TOKEN_KEY":            key32,
		"BANKFEED_API_KEYS":             " aaaaaaaaaaaaaaaa , bbbbbbbbbbbbbbbbbbbb,",
		"BANKFEED_LISTEN":               ":9090",
		"BANKFEED_RECONCILE_SCHEDULE":   "CRON_TZ=Europe/Paris 15 2 * * mon-fri",
		"BANKFEED_TZ":                   "America/New_York",
		"BANKFEED_PLAID_RATE_PER_MIN":   "100000",
		"BANKFEED_HTTP_TIMEOUT":         "1m30s",
		"BANKFEED_RETRY_MAX":            "1",
		"BANKFEED_RETRY_MAX_ELAPSED":    "30s",
		"BANKFEED_SHUTDOWN_TIMEOUT":     "1s",
		"BANKFEED_PROBE_INTERVAL":       "24h",
		"BANKFEED_LOG_LEVEL":            "DEBUG",
		"BANKFEED_PAGE_SIZE":            "1",
		"BANKFEED_MAX_PAGES":            "3",
		"BANKFEED_DAYS_REQUESTED":       "1",
		"BANKFEED_REALTIME_BALANCES":    "Daily",
		"BANKFEED_BUSINESS_CONCURRENCY": "256",
	}, "")
	if c.PlaidURL() != "http://127.0.0.1:4010" || c.PlaidEnv != EnvProduction || c.LogLevel != "debug" {
		t.Errorf("url %s env %s level %s", c.PlaidURL(), c.PlaidEnv, c.LogLevel)
	}
	if c.TokenKeyIsDefault || c.TokenKey.Reveal() != "0123456789abcdef0123456789abcdef" {
		t.Errorf("token key not taken from the environment")
	}
	if len(c.APIKeys) != 2 || !c.APIKeys[0].Matches("aaaaaaaaaaaaaaaa") || !c.APIKeys[1].Matches("bbbbbbbbbbbbbbbbbbbb") {
		t.Errorf("APIKeys = %d keys", len(c.APIKeys))
	}
	if c.Location.String() != "America/New_York" || c.HTTPTimeout != 90*time.Second || c.ProbeInterval != 24*time.Hour ||
		c.PlaidRatePerMin != 100000 || c.RetryMax != 1 || c.PageSize != 1 || c.MaxPages != 3 || c.Listen != ":9090" {
		t.Errorf("got %+v", c)
	}
	if c.DaysRequested != 1 || c.RealtimeBalances != "daily" || c.BusinessConcurrency != 256 {
		t.Errorf("days requested %d, realtime balances %q, business concurrency %d", c.DaysRequested, c.RealtimeBalances, c.BusinessConcurrency)
	}
	if w := c.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0], "PLAID_BASE_URL:") {
		t.Errorf("Warnings() = %q", w)
	}
}

func TestPlaidURL(t *testing.T) {
	for env, want := range map[string]string{"sandbox": "https://sandbox.plaid.com", "production": "https://production.plaid.com"} {
		if got := mustLoad(t, map[string]string{"PLAID_ENV": env}, "").PlaidURL(); got != want {
			t.Errorf("PLAID_ENV=%s: PlaidURL() = %s, want %s", env, got, want)
		}
	}
}

func TestInvalidSetting(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"PLAID_ENV", "development", `got "development"; use one of: sandbox, production`},
		{"PLAID_BASE_URL", "localhost:4010", "absolute http(s) URL"},
		{"PLAID_BASE_URL", "ftp://example.com", "absolute http(s) URL"},
		{"PLAID_BASE_URL", "https://", "absolute http(s) URL"},
		{"BANKFEED_TOKEN_KEY", base64.StdEncoding.EncodeToString(make([]byte, 16)), "must be 32 bytes of base64 (got 16 bytes); generate one with: head -c 32 /dev/urandom | base64"},
		{"BANKFEED_TOKEN_KEY", "not base64 at all!", "must be 32 bytes of base64 (got text that is not base64)"},
		{"BANKFEED_API_KEYS", "aaaaaaaaaaaaaaaa,short", "key 2 of 2 has 5 characters, fewer than 16"},
		{"BANKFEED_LISTEN", "8080", "use host:port"},
		{"BANKFEED_LISTEN", "localhost:http", "use host:port"},
		{"BANKFEED_LISTEN", "localhost:70000", "use host:port"},
		{"BANKFEED_SYNC_SCHEDULE", "0 */4 * *", "expected exactly 5 fields, found 4"},
		{"BANKFEED_BALANCES_SCHEDULE", "0 0 */4 * * *", "expected exactly 5 fields, found 6"},
		{"BANKFEED_RECONCILE_SCHEDULE", "15 25 * * *", `end of range (25) above maximum (23)`},
		{"BANKFEED_PROBE_SCHEDULE", "@fortnightly", `e.g. "0 */4 * * *" runs every 4 hours`},
		{"BANKFEED_SYNC_SCHEDULE", "@every 100ms", "at least 1s"},
		{"BANKFEED_TZ", "Mars/Olympus", `unknown time zone "Mars/Olympus"`},
		{"BANKFEED_CONCURRENCY", "0", "use a whole number from 1 to 256"},
		{"BANKFEED_CONCURRENCY", "lots", "use a whole number from 1 to 256"},
		{"BANKFEED_PLAID_RATE_PER_MIN", "100001", "from 1 to 100000"},
		{"BANKFEED_HTTP_TIMEOUT", "90", "positive Go duration"},
		{"BANKFEED_RETRY_MAX", "21", "from 1 to 20"},
		{"BANKFEED_RETRY_MAX_ELAPSED", "-1m", "positive Go duration"},
		{"BANKFEED_SHUTDOWN_TIMEOUT", "0s", "positive Go duration"},
		{"BANKFEED_PROBE_INTERVAL", "6 hours", "positive Go duration"},
		{"BANKFEED_LOG_LEVEL", "trace", "use one of: debug, info, warn, error"},
		{"BANKFEED_PAGE_SIZE", "501", "from 1 to 500"},
		{"BANKFEED_MAX_PAGES", "0", "from 1 to 1000000"},
		{"BANKFEED_DAYS_REQUESTED", "0", "use a whole number from 1 to 730"},
		{"BANKFEED_DAYS_REQUESTED", "731", "use a whole number from 1 to 730"},
		{"BANKFEED_REALTIME_BALANCES", "hourly", `got "hourly"; use one of: off, daily`},
		{"BANKFEED_BUSINESS_CONCURRENCY", "0", "use a whole number from 1 to 256"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			_, err := Load(envOf(map[string]string{tt.name: tt.value}), "")
			p := problems(t, err)
			if len(p) != 1 || !strings.HasPrefix(p[0], tt.name+": ") || !strings.Contains(p[0], tt.want) {
				t.Fatalf("problems = %q, want one line starting %q containing %q", p, tt.name+": ", tt.want)
			}
		})
	}
}

func TestEveryProblemReported(t *testing.T) {
	file := writeFile(t, "BANKFEED_PAGE_SIZE=9999\nNOT_A_SETTING=1\n")
	_, err := Load(envOf(map[string]string{
		"PLAID_ENV":            "staging",
		"BANKFEED_CONCURRENCY": "-1",
		"BANKFEED_TZ":          "Nowhere",
		"PLAID_SECRET":         "s",
		"PLAID_SECRET_FILE":    "/run/secrets/plaid",
	}), file)
	p := problems(t, err)
	for _, want := range []string{
		file + " line 2: unknown key \"NOT_A_SETTING\"",
		"BANKFEED_PAGE_SIZE (" + file + " line 1): got \"9999\"",
		"PLAID_ENV: ",
		"BANKFEED_CONCURRENCY: ",
		"BANKFEED_TZ: ",
		"PLAID_SECRET_FILE: PLAID_SECRET is set too; set only one of the two",
	} {
		if !containsPrefix(p, want) {
			t.Errorf("no problem starts with %q in:\n%s", want, strings.Join(p, "\n"))
		}
	}
	if len(p) != 6 {
		t.Errorf("got %d problems, want 6:\n%s", len(p), strings.Join(p, "\n"))
	}
}

func containsPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func TestConfigFileErrors(t *testing.T) {
	tests := []struct{ content, want string }{
		{"BANKFEED_DB\n", "line 1: expected KEY=VALUE"},
		{"# ok\n\n=value\n", "line 3: expected KEY=VALUE"},
		{"BANKFEED_DBB=x\n", `line 1: unknown key "BANKFEED_DBB"`},
		{"PLAID_ENV=sandbox\r\nPLAID_ENV=production\r\n", "line 2: PLAID_ENV is already set on line 1; keep one"},
		{"BANKFEED_DB=\"/data/x.db\n", "line 1: BANKFEED_DB: the value opens a \" quote"},
		{"BANKFEED_DB='/data/x.db' # comment\n", "line 1: BANKFEED_DB: the value opens a ' quote"},
		{"BANKFEED_DB=\"\n", "line 1: BANKFEED_DB: the value opens a \" quote"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			file := writeFile(t, tt.content)
			p := problems(t, func() error { _, err := Load(envOf(nil), file); return err }())
			if len(p) != 1 || !strings.HasPrefix(p[0], file+" "+tt.want) {
				t.Fatalf("problems = %q, want one starting %q", p, file+" "+tt.want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(envOf(map[string]string{"BANKFEED_RETRY_MAX": "0"}), "/nonexistent/bankfeed.env")
		p := problems(t, err)
		if len(p) != 2 || !strings.HasPrefix(p[0], "--config: open /nonexistent/bankfeed.env: no such file") || !strings.HasPrefix(p[1], "BANKFEED_RETRY_MAX: ") {
			t.Fatalf("problems = %q", p)
		}
	})
}

func TestFileVariants(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c := mustLoad(t, map[string]string{
		"PLAID_SECRET_FILE":       write("plaid", "plaid-secret\n"),
		"BANKFEED_TOKEN_KEY_FILE": write("key", base64.RawURLEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))+"\n"),
		"BANKFEED_API_KEYS_FILE":  write("api", "# platform\naaaaaaaaaaaaaaaa\n\n  bbbbbbbbbbbbbbbb  \n# old, revoked\n"),
	}, "")
	if c.PlaidSecret.Reveal() != "plaid-secret" || c.TokenKey.Reveal() != "0123456789abcdef0123456789abcdef" || len(c.APIKeys) != 2 || !c.APIKeys[1].Matches("bbbbbbbbbbbbbbbb") {
		t.Fatalf("secrets not read from their files: %d api keys", len(c.APIKeys))
	}

	// A _FILE in the config file works, and names the file's line in problems.
	conf := write("bankfeed.env", "BANKFEED_TOKEN_KEY_FILE="+write("short", "c2hvcnQ=")+"\n")
	_, err := Load(envOf(nil), conf)
	if p := problems(t, err); len(p) != 1 || !strings.HasPrefix(p[0], "BANKFEED_TOKEN_KEY_FILE ("+conf+" line 1): must be 32 bytes of base64 (got 5 bytes)") {
		t.Fatalf("problems = %q", p)
	}

	tests := []struct {
		name string
		env  map[string]string
		file string // config file content
		want string
	}{
		{"missing", map[string]string{"PLAID_SECRET_FILE": filepath.Join(dir, "nope")}, "", "PLAID_SECRET_FILE: cannot read the file it names (no such file or directory)"},
		{"directory", map[string]string{"BANKFEED_API_KEYS_FILE": dir}, "", "BANKFEED_API_KEYS_FILE: cannot read the file it names (is a directory)"},
		{"empty", map[string]string{"BANKFEED_TOKEN_KEY_FILE": write("empty", "\n")}, "", "BANKFEED_TOKEN_KEY_FILE: the file it names is empty"},
		{"both in env", map[string]string{"BANKFEED_API_KEYS": "aaaaaaaaaaaaaaaa", "BANKFEED_API_KEYS_FILE": write("a", "x")}, "", "BANKFEED_API_KEYS_FILE: BANKFEED_API_KEYS is set too"},
		{"both in file", nil, "PLAID_SECRET=a\nPLAID_SECRET_FILE=/x\n", "PLAID_SECRET_FILE (CONF line 2): PLAID_SECRET is set too"},
		{"short key in file", map[string]string{"BANKFEED_API_KEYS_FILE": write("short-api", "aaaaaaaaaaaaaaaa\ntooshort\n")}, "", "BANKFEED_API_KEYS_FILE: key 2 of 2 has 8 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := ""
			if tt.file != "" {
				conf = write("conf", tt.file)
			}
			_, err := Load(envOf(tt.env), conf)
			want := strings.ReplaceAll(tt.want, "CONF", conf)
			if p := problems(t, err); len(p) != 1 || !strings.HasPrefix(p[0], want) {
				t.Fatalf("problems = %q, want one starting %q", p, want)
			}
		})
	}

	// The environment overrides the file for the setting as a whole.
	conf = write("conf2", "PLAID_SECRET=from-file\n")
	if c := mustLoad(t, map[string]string{"PLAID_SECRET_FILE": write("plaid2", "from-env-file")}, conf); c.PlaidSecret.Reveal() != "from-env-file" {
		t.Errorf("PlaidSecret = %q, want the env's file", c.PlaidSecret.Reveal())
	}
}

func TestTokenKey(t *testing.T) {
	raw := []byte("\xfb\xff0123456789abcdef0123456789ab\xfe\xff") // bytes whose base64 differs between alphabets
	for name, enc := range map[string]*base64.Encoding{"std": base64.StdEncoding, "raw std": base64.RawStdEncoding, "url": base64.URLEncoding, "raw url": base64.RawURLEncoding} {
		c := mustLoad(t, map[string]string{"BANKFEED_TOKEN_KEY": enc.EncodeToString(raw)}, "")
		if c.TokenKey.Reveal() != string(raw) || c.TokenKeyIsDefault {
			t.Errorf("%s alphabet: key not decoded", name)
		}
	}
	// Setting the published key explicitly is still the published key.
	c := mustLoad(t, map[string]string{"BANKFEED_TOKEN_KEY": DefaultTokenKeyBase64, "PLAID_ENV": "production"}, "")
	if !c.TokenKeyIsDefault || len(c.Warnings()) != 1 || !strings.HasPrefix(c.Warnings()[0], "BANKFEED_TOKEN_KEY:") {
		t.Errorf("explicit default key: IsDefault %v, warnings %q", c.TokenKeyIsDefault, c.Warnings())
	}
}

func TestCheckPlaid(t *testing.T) {
	err := Default().CheckPlaid()
	if p := problems(t, err); len(p) != 2 || !strings.HasPrefix(p[0], "PLAID_CLIENT_ID: ") || !strings.HasPrefix(p[1], "PLAID_SECRET: ") {
		t.Fatalf("problems = %q", p)
	}
	c := mustLoad(t, map[string]string{"PLAID_CLIENT_ID": "id", "PLAID_SECRET": "secret"}, "")
	if err := c.CheckPlaid(); err != nil {
		t.Fatal(err)
	}
}

func FuzzLoadFile(f *testing.F) {
	f.Add([]byte("BANKFEED_DB=/data/x.db\n# comment\n\nexport PLAID_ENV='production'\n"))
	f.Add([]byte("PLAID_SECRET_FILE=/run/secrets/plaid\nBANKFEED_API_KEYS_FILE=/k\nBANKFEED_TOKEN_KEY_FILE=/t\n"))
	f.Add([]byte("BANKFEED_CONCURRENCY=\"0\nBANKFEED_CONCURRENCY=1\nNOPE=1\n=\n'\n"))
	f.Add([]byte("BANKFEED_SYNC_SCHEDULE=CRON_TZ=UTC 1-5/2,jan * * * *\r\nBANKFEED_TZ=Local\r\nPLAID_BASE_URL=http://[::1\n"))
	f.Add([]byte("BANKFEED_TOKEN_KEY=" + key32 + "\nBANKFEED_API_KEYS=,,,aaaaaaaaaaaaaaaa\nBANKFEED_LISTEN=[::1]:0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Never touch the disk: a fuzzed _FILE path could name a FIFO.
		readFile := func(path string) ([]byte, error) {
			if strings.Contains(path, "missing") {
				return nil, &os.PathError{Op: "open", Path: path, Err: os.ErrNotExist}
			}
			return []byte(path), nil
		}
		s := &source{getenv: envOf(nil), readFile: readFile, fileName: "fuzz.env"}
		s.file, s.problems = parseFile("fuzz.env", data, nil)
		_, err := s.config()
		if err == nil {
			return
		}
		for _, p := range problems(t, err) {
			if strings.HasPrefix(p, "fuzz.env line ") {
				continue
			}
			name, _, _ := strings.Cut(p, " ")
			if !known[strings.TrimSuffix(name, ":")] || !strings.Contains(p, "(fuzz.env line ") {
				t.Fatalf("problem names neither a line nor a setting of the file: %q", p)
			}
			if strings.Contains(p, "\n") {
				t.Fatalf("problem spans lines: %q", p)
			}
		}
	})
}

// TestMetricsFileWarning: a textfile node_exporter would silently skip is
// said so at start; a .prom file is not.
func TestMetricsFileWarning(t *testing.T) {
	for file, warn := range map[string]bool{"": false, "/var/lib/node_exporter/bankfeed.prom": false, "/var/lib/node_exporter/bankfeed.txt": true} {
		c, err := Load(func(k string) string {
			if k == "BANKFEED_METRICS_FILE" {
				return file
			}
			return ""
		}, "")
		if err != nil {
			t.Fatal(err)
		}
		if c.MetricsFile != file {
			t.Errorf("MetricsFile = %q, want %q", c.MetricsFile, file)
		}
		w := c.Warnings()
		if got := len(w) == 1 && strings.HasPrefix(w[0], "BANKFEED_METRICS_FILE:"); got != warn || (!warn && len(w) != 0) {
			t.Errorf("%q: warnings %q", file, w)
		}
	}
}
