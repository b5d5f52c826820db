package plaidfake

import (
	"cmp"
	"strings"
	"time"
)

type FaultKind int

const (
	FaultPlaidError         FaultKind = iota // Plaid error body for Code, with Plaid's HTTP status
	FaultStall                               // answer normally after Stall, or after Release if Stall is 0
	FaultTruncated                           // the normal 200 body cut in half
	FaultHTML502                             // a proxy's text/html 502
	FaultWrongTypes                          // 200 with "amount" (or balances.current) as a string
	FaultMissingFields                       // 200 without request_id; added transactions lack transaction_id and date
	FaultBothCurrencies                      // a transaction (or balance) with both currency codes
	FaultNoCurrency                          // a transaction (or balance) with neither currency code
	FaultUnknownCurrency                     // iso_currency_code "XYZ"
	FaultTooPrecise                          // amount 1.234 in USD
	FaultForeignAccount                      // a transaction carrying another account's account_id
	FaultHasMoreStuck                        // has_more with next_cursor equal to the request's cursor
	FaultHasMoreEmptyCursor                  // has_more with next_cursor ""
	FaultHuge                                // a valid-looking 200 body over 64 MiB
	FaultEndless                             // has_more forever, fresh cursors, nothing in them
)

// Fault is armed with Inject. The data faults (FaultWrongTypes through
// FaultEndless) spoil the processor endpoints' answers; elsewhere only
// FaultPlaidError, FaultStall, FaultTruncated and FaultHTML502 apply.
type Fault struct {
	Endpoint string // "" = any
	Kind     FaultKind
	Code     string // FaultPlaidError; default INTERNAL_SERVER_ERROR
	// Type is the error_type of a Code the fake does not know, as Plaid adds
	// codes without notice (default ITEM_ERROR). Its HTTP status follows the
	// type: 500 for API_ERROR, 429 for RATE_LIMIT_EXCEEDED, else 400.
	Type  string
	Stall time.Duration
}

type injected struct {
	token string
	Fault
	times int // <0: until ClearFaults
}

// Inject arms f for the next `times` matching requests of token ("" = any
// token); times < 0 keeps it armed until ClearFaults.
func (s *Server) Inject(token string, f Fault, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &injected{token, f, times})
}

func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Release unblocks every request stalled by a FaultStall with Stall 0.
func (s *Server) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.release)
	s.release = make(chan struct{})
}

// SetTransientRate makes a fraction p of requests fail with a retryable
// error (429 rate limit or 500), reproducibly for a given seed.
func (s *Server) SetTransientRate(p float64, seed int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.transientP, s.rng = p, newRand(seed)
}

func (s *Server) takeFault(tok, path string) *Fault {
	for i, f := range s.faults {
		if (f.token == "" || f.token == tok) && (f.Endpoint == "" || f.Endpoint == path) {
			if f.times > 0 {
				f.times--
			}
			if f.times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
			return &f.Fault
		}
	}
	return nil
}

func (s *Server) transient(path string) string {
	if s.transientP <= 0 || s.rng.Float64() >= s.transientP {
		return ""
	}
	if s.rng.IntN(2) == 0 {
		return "INTERNAL_SERVER_ERROR"
	}
	return cmp.Or(limitCodes[path], "INTERNAL_SERVER_ERROR")
}

// classify gives a code the error_type and HTTP status Plaid uses for it.
// Unknown codes are treated as Item errors, the usual kind for a broken token.
func classify(code string) (typ string, status int) {
	typ, status, _ = lookup(code)
	return typ, status
}

// typeStatus is the HTTP status Plaid uses for an error type.
func typeStatus(typ string) int {
	switch typ {
	case "API_ERROR":
		return 500
	case "RATE_LIMIT_EXCEEDED":
		return 429
	}
	return 400
}

// lookup is classify that also says whether the code is in the table.
func lookup(code string) (typ string, status int, known bool) {
	typ, status, known = lookupKnown(code)
	if !known {
		typ, status = "ITEM_ERROR", 400
	}
	return typ, status, known
}

var itemCodes = map[string]bool{
	"ITEM_LOGIN_REQUIRED": true, "ITEM_NOT_FOUND": true, "ACCESS_NOT_GRANTED": true, "NO_ACCOUNTS": true,
	"ITEM_NOT_SUPPORTED": true, "PRODUCTS_NOT_SUPPORTED": true, "ITEM_LOCKED": true, "INVALID_CREDENTIALS": true,
	"INVALID_MFA": true, "USER_SETUP_REQUIRED": true, "PASSWORD_RESET_REQUIRED": true, "MFA_NOT_SUPPORTED": true,
	"ITEM_CONCURRENTLY_DELETED": true, "PRODUCT_NOT_READY": true,
}

func lookupKnown(code string) (typ string, status int, known bool) {
	switch code {
	case "INTERNAL_SERVER_ERROR", "plaid-internal-error":
		return "API_ERROR", 500, true
	case "PLANNED_MAINTENANCE":
		return "API_ERROR", 503, true
	case "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION":
		return "TRANSACTIONS_ERROR", 400, true
	case "NOT_FOUND", "NO_LONGER_AVAILABLE":
		return "INVALID_REQUEST", 404, true
	case "MISSING_FIELDS", "UNKNOWN_FIELDS", "INVALID_FIELD", "INVALID_BODY", "INVALID_HEADERS",
		"INCOMPATIBLE_API_VERSION", "SANDBOX_ONLY", "LAST_UPDATED_DATETIME_OUT_OF_RANGE":
		return "INVALID_REQUEST", 400, true
	case "INVALID_PROCESSOR_TOKEN", "INVALID_API_KEYS", "USER_PERMISSION_REVOKED", "INVALID_ACCOUNT_ID",
		"ADDITIONAL_CONSENT_REQUIRED", "UNAUTHORIZED_ENVIRONMENT", "UNAUTHORIZED_ROUTE_ACCESS",
		"INVALID_PRODUCT", "INVALID_ACCESS_TOKEN", "INVALID_PUBLIC_TOKEN", "INVALID_WEBHOOK_VERIFICATION_KEY_ID":
		return "INVALID_INPUT", 400, true
	case "CREDITS_EXHAUSTED":
		return "RATE_LIMIT_EXCEEDED", 429, true
	}
	switch {
	case strings.HasSuffix(code, "_LIMIT"):
		return "RATE_LIMIT_EXCEEDED", 429, true
	case strings.HasPrefix(code, "INSTITUTION_") || code == "UNSUPPORTED_RESPONSE":
		return "INSTITUTION_ERROR", 400, true
	case itemCodes[code]:
		return "ITEM_ERROR", 400, true
	}
	return "", 0, false
}
