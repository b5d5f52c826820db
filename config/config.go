// Package config builds the typed configuration of bankfeed from defaults,
// then an optional KEY=VALUE file, then the environment (which wins), and
// reports every problem at once so that one deploy fixes them all.
package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // BANKFEED_TZ must load in a minimal image without zoneinfo
)

// Plaid environments accepted by PLAID_ENV.
const (
	EnvSandbox    = "sandbox"
	EnvProduction = "production"
)

// DefaultTokenKeyBase64 is the token key used when BANKFEED_TOKEN_KEY is
// unset, so that a first run and the demo work with no setup. It is
// published in the source, so it protects nothing: production must set its
// own key (Config.TokenKeyIsDefault and Warnings tell).
// It decodes to "bankfeed-development-only-key-v1".
const DefaultTokenKeyBase64 = "YmFua2ZlZWQtZGV2ZWxvcG1lbnQtb25seS1rZXktdjE="

// TokenKeySize is the length of the decoded token key (AES-256).
const TokenKeySize = 32

// minAPIKeyLen keeps guessable bearer keys out; 16 random characters are far
// beyond what an online guesser can try.
const minAPIKeyLen = 16

// ErrInvalid matches (errors.Is) every error Load returns, so that main maps
// it to exit status 2: retrying cannot fix a configuration.
var ErrInvalid = errors.New("invalid configuration")

// Error lists every configuration problem, one plain line each, naming the
// setting and how to fix it.
type Error struct{ Problems []string }

func (e *Error) Error() string        { return strings.Join(e.Problems, "\n") }
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Config is the validated configuration. See Settings for what each field
// means and its variable.
type Config struct {
	DBPath        string
	PlaidClientID string
	PlaidSecret   Secret
	PlaidEnv      string // EnvSandbox or EnvProduction
	PlaidBaseURL  string // "" unless overridden; use PlaidURL

	// TokenKey holds the TokenKeySize raw (decoded) bytes.
	TokenKey          Secret
	TokenKeyIsDefault bool

	APIKeys []Secret // none: the business API is off
	Listen  string

	SyncSchedule      string
	BalancesSchedule  string
	ReconcileSchedule string
	ProbeSchedule     string
	Location          *time.Location

	Concurrency     int
	PlaidRatePerMin int
	HTTPTimeout     time.Duration
	RetryMax        int // attempts per call, including the first
	RetryMaxElapsed time.Duration
	ShutdownTimeout time.Duration
	LockWait        time.Duration
	ProbeInterval   time.Duration

	ReportDir string
	LogLevel  string // debug, info, warn or error
	PageSize  int
	MaxPages  int

	// DaysRequested is Plaid's days_requested, sent with every sync (Plaid
	// applies it when it initialises Transactions for the Item).
	DaysRequested int
	// RealtimeBalances is "off" (no paid /processor/balance/get) or "daily".
	RealtimeBalances    string
	BusinessConcurrency int

	// WebhookURL is the public URL of serve's /plaid/webhook: sent with
	// link tokens and set on processor tokens. "" = no webhooks.
	WebhookURL string
	// LinkJSURL is where the Bank Linking page loads Plaid's Link script.
	LinkJSURL string
	// MetricsFile is where --run-once writes its figures for node_exporter's
	// textfile collector; "" writes none.
	MetricsFile string

	// NotifyURL is where events are POSTed (Standard Webhooks); "" = off.
	NotifyURL string
	// NotifyKey is the signing key: the decoded bytes of the whsec_ secret.
	NotifyKey     Secret
	NotifyTimeout time.Duration
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	key, _ := base64.StdEncoding.DecodeString(DefaultTokenKeyBase64)
	return Config{
		DBPath:            "./bankfeed.db",
		PlaidEnv:          EnvSandbox,
		TokenKey:          NewSecret(string(key)),
		TokenKeyIsDefault: true,
		Listen:            "127.0.0.1:8080",
		LinkJSURL:         "https://cdn.plaid.com/link/v2/stable/link-initialize.js",
		SyncSchedule:      "0 */4 * * *",
		BalancesSchedule:  "30 6 * * *",
		ReconcileSchedule: "15 2 * * *",
		ProbeSchedule:     "0 */6 * * *",
		Location:          time.UTC,
		Concurrency:       8,
		PlaidRatePerMin:   600,
		HTTPTimeout:       90 * time.Second,
		RetryMax:          5,
		RetryMaxElapsed:   2 * time.Minute,
		ShutdownTimeout:   10 * time.Second,
		LockWait:          5 * time.Minute,
		ProbeInterval:     6 * time.Hour,
		ReportDir:         "./reports",
		LogLevel:          "info",
		PageSize:          500,
		MaxPages:          10000,

		DaysRequested:       730,
		RealtimeBalances:    "off",
		BusinessConcurrency: 2,
		NotifyTimeout:       10 * time.Second,
	}
}

// PlaidURL is the base URL of the Plaid API to call.
func (c Config) PlaidURL() string {
	switch {
	case c.PlaidBaseURL != "":
		return c.PlaidBaseURL
	case c.PlaidEnv == EnvProduction:
		return "https://production.plaid.com"
	default:
		return "https://sandbox.plaid.com"
	}
}

// CheckPlaid reports, as an *Error, the credentials missing for jobs that
// call Plaid. Load does not require them because most commands (tokens list,
// report, ...) never call Plaid.
func (c Config) CheckPlaid() error {
	var p []string
	if c.PlaidClientID == "" {
		p = append(p, "PLAID_CLIENT_ID: not set; copy the client id from the Plaid dashboard (Developers > Keys)")
	}
	if c.PlaidSecret.IsZero() {
		p = append(p, "PLAID_SECRET: not set; set PLAID_SECRET or PLAID_SECRET_FILE to the "+c.PlaidEnv+" secret from the Plaid dashboard (Developers > Keys)")
	}
	if p != nil {
		return &Error{Problems: p}
	}
	return nil
}

// Warnings lists settings that work but are unsafe, for main to log at
// start-up.
func (c Config) Warnings() []string {
	var w []string
	if c.PlaidEnv == EnvProduction && c.TokenKeyIsDefault {
		w = append(w, "BANKFEED_TOKEN_KEY: production with the public development key does not protect stored processor tokens; generate one with: head -c 32 /dev/urandom | base64")
	}
	if strings.HasPrefix(c.PlaidBaseURL, "http://") && c.PlaidEnv == EnvProduction {
		w = append(w, "PLAID_BASE_URL: plain http with PLAID_ENV=production sends the Plaid secret unencrypted")
	}
	if c.MetricsFile != "" && !strings.HasSuffix(c.MetricsFile, ".prom") {
		w = append(w, "BANKFEED_METRICS_FILE: node_exporter's textfile collector reads only files ending in .prom; it will not see this one")
	}
	return w
}

// Load reads file (skipped when "") and then getenv, on top of Default. An
// empty variable counts as unset. The error, an *Error matching ErrInvalid,
// lists every problem found.
func Load(getenv func(string) string, file string) (Config, error) {
	s := &source{getenv: getenv, readFile: readLimited, fileName: file}
	if file != "" {
		data, err := readLimited(file)
		if err != nil {
			// Keep going: the environment's problems are worth reporting too.
			s.problems = append(s.problems, fmt.Sprintf("--config: %v; pass a readable KEY=VALUE file", err))
		}
		s.file, s.problems = parseFile(file, data, s.problems)
	}
	return s.config()
}

func (s *source) config() (Config, error) {
	c := Default()
	s.apply(&c)
	if s.problems != nil {
		return Config{}, &Error{Problems: s.problems}
	}
	return c, nil
}

// maxFileSize bounds what a *_FILE or --config may name, so that pointing one
// at /dev/urandom fails instead of eating memory.
const maxFileSize = 64 << 10

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("file is larger than %d KiB", maxFileSize>>10)
	}
	return b, nil
}

func (s *source) apply(c *Config) {
	s.str("BANKFEED_DB", &c.DBPath)
	s.str("PLAID_CLIENT_ID", &c.PlaidClientID)
	if v, ok := s.secret("PLAID_SECRET"); ok {
		c.PlaidSecret = NewSecret(v.v)
	}
	s.oneOf("PLAID_ENV", &c.PlaidEnv, EnvSandbox, EnvProduction)
	s.baseURL("PLAID_BASE_URL", &c.PlaidBaseURL)
	s.tokenKey(c)
	s.apiKeys(c)
	s.listen("BANKFEED_LISTEN", &c.Listen)
	s.schedule("BANKFEED_SYNC_SCHEDULE", &c.SyncSchedule)
	s.schedule("BANKFEED_BALANCES_SCHEDULE", &c.BalancesSchedule)
	s.schedule("BANKFEED_RECONCILE_SCHEDULE", &c.ReconcileSchedule)
	s.schedule("BANKFEED_PROBE_SCHEDULE", &c.ProbeSchedule)
	s.location("BANKFEED_TZ", &c.Location)
	s.int("BANKFEED_CONCURRENCY", &c.Concurrency, 1, 256)
	s.int("BANKFEED_PLAID_RATE_PER_MIN", &c.PlaidRatePerMin, 1, 100000)
	s.duration("BANKFEED_HTTP_TIMEOUT", &c.HTTPTimeout)
	s.int("BANKFEED_RETRY_MAX", &c.RetryMax, 1, 20)
	s.duration("BANKFEED_RETRY_MAX_ELAPSED", &c.RetryMaxElapsed)
	s.duration("BANKFEED_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout)
	s.duration("BANKFEED_LOCK_WAIT", &c.LockWait)
	s.duration("BANKFEED_PROBE_INTERVAL", &c.ProbeInterval)
	s.str("BANKFEED_REPORT_DIR", &c.ReportDir)
	s.oneOf("BANKFEED_LOG_LEVEL", &c.LogLevel, "debug", "info", "warn", "error")
	s.int("BANKFEED_PAGE_SIZE", &c.PageSize, 1, 500)
	s.int("BANKFEED_MAX_PAGES", &c.MaxPages, 1, 1000000)
	s.int("BANKFEED_DAYS_REQUESTED", &c.DaysRequested, 1, 730)
	s.oneOf("BANKFEED_REALTIME_BALANCES", &c.RealtimeBalances, "off", "daily")
	s.int("BANKFEED_BUSINESS_CONCURRENCY", &c.BusinessConcurrency, 1, 256)
	s.baseURL("BANKFEED_WEBHOOK_URL", &c.WebhookURL)
	s.baseURL("BANKFEED_PLAID_LINK_JS_URL", &c.LinkJSURL)
	s.str("BANKFEED_METRICS_FILE", &c.MetricsFile)
	s.notify(c)
	s.duration("BANKFEED_NOTIFY_TIMEOUT", &c.NotifyTimeout)
}

// source looks settings up in the environment, then the file, and collects
// problems instead of stopping at the first.
type source struct {
	getenv   func(string) string
	file     map[string]fileValue
	fileName string
	readFile func(string) ([]byte, error)
	problems []string
}

// value is one setting as found, with where it came from for messages.
type value struct {
	name, v string
	where   string // "" for the environment, " (FILE line N)" for the file
}

func (s *source) problem(v value, format string, args ...any) {
	s.problems = append(s.problems, v.name+v.where+": "+fmt.Sprintf(format, args...))
}

func (s *source) fromEnv(name string) (value, bool) {
	v := strings.TrimSpace(s.getenv(name))
	return value{name: name, v: v}, v != ""
}

func (s *source) fromFile(name string) (value, bool) {
	fv, ok := s.file[name]
	if !ok || fv.v == "" {
		return value{}, false
	}
	return value{name: name, v: fv.v, where: fmt.Sprintf(" (%s line %d)", s.fileName, fv.line)}, true
}

func (s *source) lookup(name string) (value, bool) {
	if v, ok := s.fromEnv(name); ok {
		return v, true
	}
	return s.fromFile(name)
}

// secret resolves NAME or NAME_FILE. The environment wins over the file for
// the setting as a whole, so an env PLAID_SECRET overrides a PLAID_SECRET_FILE
// in the file rather than conflicting with it. The returned value's name is
// the variable actually used, so later messages point at it.
func (s *source) secret(name string) (value, bool) {
	fileVar := name + "_FILE"
	for _, layer := range []func(string) (value, bool){s.fromEnv, s.fromFile} {
		direct, okDirect := layer(name)
		viaFile, okFile := layer(fileVar)
		switch {
		case okDirect && okFile:
			s.problem(viaFile, "%s is set too; set only one of the two", name)
			return value{}, false
		case okDirect:
			return direct, true
		case okFile:
			b, err := s.readFile(viaFile.v)
			if err != nil {
				// Not the path: a common slip is putting the secret itself in
				// the _FILE variable, and the message must not print it.
				if pe := (*os.PathError)(nil); errors.As(err, &pe) {
					err = pe.Err
				}
				s.problem(viaFile, "cannot read the file it names (%v); set it to the path of a readable file holding the secret", err)
				return value{}, false
			}
			viaFile.v = strings.TrimSpace(string(b)) // an editor's final newline is not part of the secret
			if viaFile.v == "" {
				s.problem(viaFile, "the file it names is empty; put the secret in it")
				return value{}, false
			}
			return viaFile, true
		}
	}
	return value{}, false
}

func (s *source) str(name string, dst *string) {
	if v, ok := s.lookup(name); ok {
		*dst = v.v
	}
}

func (s *source) oneOf(name string, dst *string, allowed ...string) {
	v, ok := s.lookup(name)
	if !ok {
		return
	}
	for _, a := range allowed {
		if strings.EqualFold(v.v, a) {
			*dst = a
			return
		}
	}
	s.problem(v, "got %q; use one of: %s", v.v, strings.Join(allowed, ", "))
}

func (s *source) int(name string, dst *int, lo, hi int) {
	v, ok := s.lookup(name)
	if !ok {
		return
	}
	n, err := strconv.Atoi(v.v)
	if err != nil || n < lo || n > hi {
		s.problem(v, "got %q; use a whole number from %d to %d", v.v, lo, hi)
		return
	}
	*dst = n
}

func (s *source) duration(name string, dst *time.Duration) {
	v, ok := s.lookup(name)
	if !ok {
		return
	}
	d, err := time.ParseDuration(v.v)
	if err != nil || d <= 0 {
		s.problem(v, "got %q; use a positive Go duration such as 90s, 2m or 6h", v.v)
		return
	}
	*dst = d
}

func (s *source) baseURL(name string, dst *string) {
	v, ok := s.lookup(name)
	if !ok {
		return
	}
	u, err := url.Parse(v.v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		s.problem(v, "got %q; use an absolute http(s) URL such as http://127.0.0.1:4010", v.v)
		return
	}
	// The Plaid client appends paths that start with "/".
	*dst = strings.TrimRight(v.v, "/")
}

func (s *source) listen(name string, dst *string) {
	v, ok := s.lookup(name)
	if !ok {
		return
	}
	_, port, err := net.SplitHostPort(v.v)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		s.problem(v, "got %q; use host:port such as 127.0.0.1:8080, or :8080 for every interface", v.v)
		return
	}
	*dst = v.v
}

func (s *source) schedule(name string, dst *string) {
	v, ok := s.lookup(name)
	if !ok {
		return
	}
	if err := checkSchedule(v.v); err != nil {
		s.problem(v, "schedule %q: %v; e.g. \"0 */4 * * *\" runs every 4 hours", v.v, err)
		return
	}
	*dst = v.v
}

func (s *source) location(name string, dst **time.Location) {
	v, ok := s.lookup(name)
	if !ok {
		return
	}
	loc, err := time.LoadLocation(v.v)
	if err != nil {
		s.problem(v, "unknown time zone %q; use an IANA name such as UTC or Europe/Paris", v.v)
		return
	}
	*dst = loc
}

func (s *source) tokenKey(c *Config) {
	v, ok := s.secret("BANKFEED_TOKEN_KEY")
	if !ok {
		return
	}
	const fix = "generate one with: head -c 32 /dev/urandom | base64"
	key, err := decodeBase64(v.v)
	switch {
	case err != nil:
		s.problem(v, "must be %d bytes of base64 (got text that is not base64); %s", TokenKeySize, fix)
	case len(key) != TokenKeySize:
		s.problem(v, "must be %d bytes of base64 (got %d bytes); %s", TokenKeySize, len(key), fix)
	default:
		c.TokenKey = NewSecret(string(key))
		def, _ := base64.StdEncoding.DecodeString(DefaultTokenKeyBase64)
		c.TokenKeyIsDefault = bytes.Equal(key, def)
	}
}

// decodeBase64 accepts the alphabets that common generators print (openssl
// and base64 print std; some tools print URL-safe or drop the padding).
func decodeBase64(s string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, err
}

func (s *source) apiKeys(c *Config) {
	v, ok := s.secret("BANKFEED_API_KEYS")
	if !ok {
		return
	}
	var keys []string
	if strings.HasSuffix(v.name, "_FILE") {
		for line := range strings.Lines(v.v) {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				keys = append(keys, line)
			}
		}
	} else {
		for k := range strings.SplitSeq(v.v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				keys = append(keys, k)
			}
		}
	}
	bad := false
	for i, k := range keys {
		if len(k) < minAPIKeyLen {
			s.problem(v, "key %d of %d has %d characters, fewer than %d; generate one with: head -c 24 /dev/urandom | base64", i+1, len(keys), len(k), minAPIKeyLen)
			bad = true
		}
	}
	if bad {
		return
	}
	c.APIKeys = nil
	for _, k := range keys {
		c.APIKeys = append(c.APIKeys, NewSecret(k))
	}
}

// Standard Webhooks secrets are "whsec_" and base64 of 24 to 64 random
// bytes (the spec's recommended range).
const (
	notifySecretPrefix = "whsec_"
	minNotifyKey       = 24
	maxNotifyKey       = 64
)

// notify reads BANKFEED_NOTIFY_URL and its signing secret. A URL without a
// secret is refused: the receiver could not tell our events from forged ones.
func (s *source) notify(c *Config) {
	if v, ok := s.lookup("BANKFEED_NOTIFY_URL"); ok {
		u, err := url.Parse(v.v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// Not echoed: a receiver URL may carry a credential.
			s.problem(v, "not an absolute http(s) URL; set it to the endpoint that receives the events, e.g. https://platform.example.com/hooks/bankfeed")
		} else {
			c.NotifyURL = v.v
		}
	}
	v, ok := s.secret("BANKFEED_NOTIFY_SECRET")
	if !ok {
		if c.NotifyURL != "" && !s.secretProblem("BANKFEED_NOTIFY_SECRET") {
			s.problems = append(s.problems, "BANKFEED_NOTIFY_SECRET: not set, but BANKFEED_NOTIFY_URL is; set it (or BANKFEED_NOTIFY_SECRET_FILE) to the receiver's whsec_ secret, e.g. whsec_$(head -c 32 /dev/urandom | base64)")
		}
		return
	}
	const fix = "use whsec_ followed by base64 of 24 to 64 random bytes, e.g. whsec_$(head -c 32 /dev/urandom | base64)"
	raw, found := strings.CutPrefix(v.v, notifySecretPrefix)
	if !found {
		s.problem(v, "does not start with whsec_; %s", fix)
		return
	}
	key, err := decodeBase64(raw)
	switch {
	case err != nil:
		s.problem(v, "the text after whsec_ is not base64; %s", fix)
	case len(key) < minNotifyKey || len(key) > maxNotifyKey:
		s.problem(v, "decodes to %d bytes; %s", len(key), fix)
	default:
		c.NotifyKey = NewSecret(string(key))
	}
}

// secretProblem reports whether a problem about name (or name_FILE) was
// already recorded, so that one mistake is told once.
func (s *source) secretProblem(name string) bool {
	for _, p := range s.problems {
		if strings.HasPrefix(p, name+":") || strings.HasPrefix(p, name+"_FILE") || strings.HasPrefix(p, name+" ") {
			return true
		}
	}
	return false
}
