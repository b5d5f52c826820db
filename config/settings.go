package config

// Setting documents one environment variable (or config-file key). Settings
// is the single list that Load accepts, the README table and `bankfeed
// --help` print, so that none of them can drift from the others.
type Setting struct {
	Name    string
	Default string // as the user would write it; "" when unset by default
	Doc     string
}

// Settings lists every variable Load reads, in the order to document them.
var Settings = []Setting{
	{"BANKFEED_DB", "./bankfeed.db", "SQLite database file. Keep it on a local disk in a directory of its own (WAL adds -wal and -shm files beside it)."},
	{"PLAID_CLIENT_ID", "", "Plaid client id; the sync and balances jobs need it."},
	{"PLAID_SECRET", "", "Plaid secret of PLAID_ENV. Prefer PLAID_SECRET_FILE."},
	{"PLAID_SECRET_FILE", "", "File holding the Plaid secret (e.g. a mounted Kubernetes secret). Set this or PLAID_SECRET, not both."},
	{"PLAID_ENV", EnvSandbox, "Plaid environment: sandbox or production. Processor tokens must match it."},
	{"PLAID_BASE_URL", "", "Absolute http(s) URL that overrides the one PLAID_ENV picks, e.g. the `bankfeed sandbox` server."},
	{"BANKFEED_TOKEN_KEY", DefaultTokenKeyBase64, "32-byte key, base64, that encrypts processor tokens at rest. The default is public and only for development: production must set its own (head -c 32 /dev/urandom | base64)."},
	{"BANKFEED_TOKEN_KEY_FILE", "", "File holding BANKFEED_TOKEN_KEY. Set this or BANKFEED_TOKEN_KEY, not both."},
	{"BANKFEED_API_KEYS", "", "Comma-separated bearer keys of the business API, at least 16 characters each. None: the API is off."},
	{"BANKFEED_API_KEYS_FILE", "", "File with one API key a line (blank lines and # comments ignored). Set this or BANKFEED_API_KEYS, not both."},
	{"BANKFEED_LISTEN", "127.0.0.1:8080", "host:port serve always listens on: /metrics, /healthz, /readyz and /plaid/webhook without an API key, and the business API when BANKFEED_API_KEYS is set. Use :8080 to listen on every interface (in a container)."},
	{"BANKFEED_WEBHOOK_URL", "", "Public https URL of serve's /plaid/webhook (e.g. https://bankfeed.example.com/plaid/webhook). Set: link tokens carry it, processor tokens are pointed at it on their next sync, and serve syncs an Item or token within seconds of Plaid's SYNC_UPDATES_AVAILABLE. Unset: no webhooks; the schedule alone syncs."},
	{"BANKFEED_PLAID_LINK_JS_URL", "https://cdn.plaid.com/link/v2/stable/link-initialize.js", "Where the Bank Linking page (/link) loads Plaid's Link script from; its only external asset. Override only for tests or a mirror."},
	{"BANKFEED_SYNC_SCHEDULE", "0 */4 * * *", "When serve syncs transactions: a 5-field cron spec or a descriptor (@hourly, @daily, @every 4h, ...)."},
	{"BANKFEED_BALANCES_SCHEDULE", "30 6 * * *", "When serve runs the balances job (cron spec). It calls Plaid only with BANKFEED_REALTIME_BALANCES=daily, and then at most once per token per UTC day, so running it more often costs nothing extra."},
	{"BANKFEED_RECONCILE_SCHEDULE", "15 2 * * *", "When serve reconciles and writes the report (cron spec)."},
	{"BANKFEED_PROBE_SCHEDULE", "0 */6 * * *", "When serve probes tokens flagged with a login error, to unflag the ones the owner repaired (cron spec)."},
	{"BANKFEED_TZ", "UTC", "IANA time zone of the schedules. In a zone with daylight saving, runs that fall in the skipped hour do not happen."},
	{"BANKFEED_CONCURRENCY", "8", "Tokens worked on at once (1-256)."},
	{"BANKFEED_BUSINESS_CONCURRENCY", "2", "Tokens of one business worked on at once (1-256), within BANKFEED_CONCURRENCY: Plaid's rate limits are per Item, and one business's tokens often share an Item."},
	{"BANKFEED_PLAID_RATE_PER_MIN", "600", "Plaid calls per minute for the whole process (1-100000); well under Plaid's per-client limits (/transactions/sync 2,500/min, balance 1,200/min in production)."},
	{"BANKFEED_HTTP_TIMEOUT", "90s", "Timeout of one Plaid HTTP call (Go duration)."},
	{"BANKFEED_RETRY_MAX", "5", "Attempts per Plaid call for transient errors, counting the first (1-20)."},
	{"BANKFEED_RETRY_MAX_ELAPSED", "2m", "Total time one Plaid call may spend retrying (Go duration)."},
	{"BANKFEED_SHUTDOWN_TIMEOUT", "10s", "How long serve waits for running jobs after SIGTERM (Go duration)."},
	{"BANKFEED_LOCK_WAIT", "5m", "How long a run waits for another run on the same database to finish before it gives up with exit status 4 (Go duration)."},
	{"BANKFEED_PROBE_INTERVAL", "6h", "Least time between two probes of one token flagged with a login error (Go duration)."},
	{"BANKFEED_REPORT_DIR", "./reports", "Folder of the reconciliation reports written by serve and --run-once."},
	{"BANKFEED_LOG_LEVEL", "info", "debug, info, warn or error."},
	{"BANKFEED_PAGE_SIZE", "500", "Transactions per /transactions/sync page (1-500, Plaid's count)."},
	{"BANKFEED_DAYS_REQUESTED", "730", "days_requested sent with every sync (1-730): how much history Plaid gathers. Plaid applies it only on the call that initialises Transactions for the Item; the platform's Link token sets it for Items it creates."},
	{"BANKFEED_REALTIME_BALANCES", "off", "off: no paid /processor/balance/get call at all (the balances that anchor and reconcile come free with every sync). daily: at most one real-time call per token per UTC day, only for tokens that completed a sync in an earlier run, shown as money in flight beside the ledger, never anchoring or driving a status."},
	{"BANKFEED_METRICS_FILE", "", "Where --run-once writes its metrics (the text format of serve's /metrics) for node_exporter's textfile collector, whatever the run's outcome: a path ending in .prom inside the collector's folder, which must exist. Unset: no file."},
	{"BANKFEED_NOTIFY_URL", "", "Endpoint that receives bankfeed's events (token.needs_refresh, token.recovered, reconciliation.break, run.failed) as Standard Webhooks POSTs. Unset: no notifications (events are recorded and marked skipped)."},
	{"BANKFEED_NOTIFY_SECRET", "", "Signing secret of the events, whsec_ followed by base64 of 24-64 random bytes (whsec_$(head -c 32 /dev/urandom | base64)); required with BANKFEED_NOTIFY_URL. Prefer BANKFEED_NOTIFY_SECRET_FILE."},
	{"BANKFEED_NOTIFY_SECRET_FILE", "", "File holding BANKFEED_NOTIFY_SECRET. Set this or BANKFEED_NOTIFY_SECRET, not both."},
	{"BANKFEED_NOTIFY_TIMEOUT", "10s", "How long one event POST waits for the receiver's answer (Go duration); an event whose process died mid-POST is due again this long (plus a second) later."},
	{"BANKFEED_MAX_PAGES", "10000", "Pages one sync may fetch before it gives up: a guard against a has_more that never ends (1-1000000)."},
}

var known = func() map[string]bool {
	m := make(map[string]bool, len(Settings))
	for _, s := range Settings {
		m[s.Name] = true
	}
	return m
}()
