package plaidapi

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Class is what the caller should do about a failed call.
type Class int

const (
	// Transient failures go away on their own: retry later, keep the token.
	Transient Class = iota + 1
	// InvalidToken means only the token's owner can fix it: flag the token
	// and stop calling with it.
	InvalidToken
	// Fatal is our bug, our configuration or a response we refuse to trust:
	// fail loudly, flag nothing, never advance a cursor past it.
	Fatal
)

func (c Class) String() string {
	switch c {
	case Transient:
		return "transient"
	case InvalidToken:
		return "invalid-token"
	case Fatal:
		return "fatal"
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// Error is every failure this package returns. Message and Err are scrubbed
// of the processor token and the secret, so the error can be logged as is.
type Error struct {
	Class      Class
	Op         string // "sync", "balance", "account"
	HTTPStatus int    // 0 when no response arrived
	Type, Code string // Plaid error_type / error_code, "" when none
	RequestID  string
	RetryAfter time.Duration // the Retry-After header of a refused call, 0 when none
	Message    string
	Err        error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("plaid ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.Code != "" {
		b.WriteString(e.Code)
	} else {
		b.WriteString(e.Class.String())
	}
	b.WriteString(" (")
	if e.HTTPStatus != 0 {
		b.WriteString(strconv.Itoa(e.HTTPStatus))
	} else {
		b.WriteString("no response")
	}
	if e.RequestID != "" {
		b.WriteString(", request ")
		b.WriteString(e.RequestID)
	}
	b.WriteString(")")
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Codes from plaid-facts §5. The (a) group is split by who can repair it:
// update mode keeps the Item, so the same token works again; the others
// need a new Item or account and so a new processor token.
var (
	repairableCodes = set(
		"ITEM_LOGIN_REQUIRED", "ACCESS_NOT_GRANTED", "ADDITIONAL_CONSENT_REQUIRED",
		"ITEM_LOCKED", "INVALID_CREDENTIALS", "INVALID_MFA", "USER_SETUP_REQUIRED",
		"PASSWORD_RESET_REQUIRED", "MFA_NOT_SUPPORTED",
	)
	// PENDING_EXPIRATION, PENDING_DISCONNECT and USER_ACCOUNT_REVOKED are
	// webhook codes, never API errors (plaid-facts §5): should one ever come
	// back from a call, its error_type decides like any unknown code.
	newTokenCodes = set(
		"INVALID_PROCESSOR_TOKEN", "ITEM_NOT_FOUND", "USER_PERMISSION_REVOKED",
		"NO_ACCOUNTS", "INVALID_ACCOUNT_ID", "ITEM_NOT_SUPPORTED",
		codeProductsNotSupported, "ITEM_CONCURRENTLY_DELETED",
		"INSTITUTION_NO_LONGER_SUPPORTED", "INVALID_ACCESS_TOKEN",
	)
	// Neither update mode nor a new token helps: Plaid cannot read the bank.
	escalateCodes = set("UNSUPPORTED_RESPONSE")

	transientCodes = set(
		"TRANSACTIONS_SYNC_LIMIT", "BALANCE_LIMIT", "ACCOUNTS_BALANCE_GET_LIMIT",
		"ACCOUNTS_LIMIT", "TRANSACTIONS_LIMIT", "TRANSACTIONS_REFRESH_LIMIT",
		"INSTITUTION_RATE_LIMIT", "RATE_LIMIT",
		"INTERNAL_SERVER_ERROR", "plaid-internal-error", "PLANNED_MAINTENANCE",
		"INSTITUTION_DOWN", "INSTITUTION_NOT_RESPONDING", "INSTITUTION_NOT_AVAILABLE",
		"PRODUCT_NOT_READY", codeMutationDuringPagination,
	)
	fatalCodes = set(
		"INVALID_API_KEYS", "UNAUTHORIZED_ENVIRONMENT", "UNAUTHORIZED_ROUTE_ACCESS",
		"INVALID_PRODUCT", "MISSING_FIELDS", "UNKNOWN_FIELDS", "INVALID_FIELD",
		"INVALID_BODY", "INVALID_HEADERS", "INCOMPATIBLE_API_VERSION", "SANDBOX_ONLY",
		"LAST_UPDATED_DATETIME_OUT_OF_RANGE", "NOT_FOUND", "NO_LONGER_AVAILABLE",
		"CREDITS_EXHAUSTED",
	)
)

const (
	codeMutationDuringPagination = "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION"
	// Permanent for the product: retrying, update mode or a new token of
	// the same Item change nothing.
	codeProductsNotSupported = "PRODUCTS_NOT_SUPPORTED"
	typeRateLimit            = "RATE_LIMIT_EXCEEDED"
	// A public token is good for one exchange within 30 minutes.
	codeInvalidPublicToken = "INVALID_PUBLIC_TOKEN"
)

func set(codes ...string) map[string]bool {
	m := make(map[string]bool, len(codes))
	for _, c := range codes {
		m[c] = true
	}
	return m
}

// Classify maps a Plaid error to a Class. Plaid says to branch on the code,
// not the status: institution outages and bad API keys are both HTTP 400.
// Plaid adds codes without a new API version, so for a code we have never
// seen the type decides, then the status.
func Classify(errorType, errorCode string, httpStatus int) Class {
	switch {
	case repairableCodes[errorCode], newTokenCodes[errorCode], escalateCodes[errorCode]:
		return InvalidToken
	case transientCodes[errorCode]:
		return Transient
	case fatalCodes[errorCode]:
		return Fatal
	case errorType == "ITEM_ERROR":
		// Something about the Item: flag it with Plaid's code; since
		// NeedsNewToken is false for it, the runner probes it later like a
		// login error.
		return InvalidToken
	case errorType == "API_ERROR", errorType == typeRateLimit, errorType == "INSTITUTION_ERROR":
		// Plaid's or the bank's own load or health, never the token.
		return Transient
	case httpStatus >= 500, httpStatus == 429:
		return Transient
	}
	return Fatal
}

// NeedsNewToken reports whether calling again with the same token is
// pointless until the business gets a new one: the runner stops probing
// such tokens. PRODUCTS_NOT_SUPPORTED is among them although no token of
// that Item helps either (see Remedy).
func NeedsNewToken(code string) bool { return newTokenCodes[code] }

// Remedy says in one sentence what must happen before the token works again.
func Remedy(code string) string {
	switch {
	case code == "ITEM_LOGIN_REQUIRED", code == "INVALID_CREDENTIALS", code == "INVALID_MFA":
		return "the account owner must re-authenticate in Plaid Link update mode; the same token will work again"
	case code == "ACCESS_NOT_GRANTED", code == "ADDITIONAL_CONSENT_REQUIRED":
		return "the account owner must grant the missing data-sharing consent in Plaid Link update mode; the same token will work again"
	case code == "ITEM_LOCKED", code == "USER_SETUP_REQUIRED", code == "PASSWORD_RESET_REQUIRED", code == "MFA_NOT_SUPPORTED":
		return "the account owner must sort out their login at the bank, then re-authenticate in Plaid Link update mode; the same token will work again"
	case code == "INVALID_PROCESSOR_TOKEN":
		return "the token is unknown to this Plaid environment: check it was created for the configured environment, otherwise create a new processor token for this account and PUT it to the business"
	case code == "INVALID_ACCESS_TOKEN":
		return "the access token is unknown to this Plaid environment: check it was created for the configured environment, otherwise the Item is gone and the owner must link the bank again"
	case code == codeInvalidPublicToken:
		return "the public token is unknown, expired (30 minutes) or already exchanged: the owner must link the bank again for a new one"
	case code == codeProductsNotSupported:
		return "Plaid does not offer Transactions for this account, and that does not change: bankfeed stops syncing it; re-linking will not help, so remove the token from the business if the account should not be in the books"
	case code == "INSTITUTION_NO_LONGER_SUPPORTED":
		return "Plaid no longer supports this bank: the owner must link the account another way, then create a new processor token and PUT it to the business"
	case newTokenCodes[code]:
		return "the owner must link the account again in Plaid Link; create a new processor token for this account and PUT it to the business"
	case escalateCodes[code]:
		return "Plaid cannot read this bank's data: escalate to Plaid support; neither update mode nor a new token is known to help"
	case transientCodes[code]:
		return "nothing: the condition is temporary and the next run retries"
	case code == "INVALID_API_KEYS":
		return "fix bankfeed's Plaid client id and secret for the configured environment"
	case code == "CREDITS_EXHAUSTED":
		return "the Plaid team must upgrade from Limited Production to full Production access"
	case fatalCodes[code]:
		return "fix bankfeed's Plaid configuration or request; no token needs to change"
	}
	return "unknown Plaid error code: look it up at https://plaid.com/docs/errors/ before touching the token"
}

// IsMutationDuringPagination reports whether Plaid asked the caller to
// restart its sync loop from the loop's first cursor.
func IsMutationDuringPagination(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == codeMutationDuringPagination
}

// ClassOf classifies any error a caller of this package might hold. A
// cancelled or expired context is transient: the next run will do the work.
func ClassOf(err error) Class {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Transient
	}
	return Fatal
}

// scrubbed hides secrets from the text of an underlying cause while keeping
// it reachable for errors.Is and errors.As.
type scrubbed struct {
	msg   string
	cause error
}

func (s *scrubbed) Error() string { return s.msg }
func (s *scrubbed) Unwrap() error { return s.cause }

// redactor replaces each non-empty secret with [REDACTED].
type redactor []string

func (r redactor) String(s string) string {
	for _, secret := range r {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[REDACTED]")
		}
	}
	return s
}

func (r redactor) Err(err error) error {
	if err == nil {
		return nil
	}
	return &scrubbed{msg: r.String(err.Error()), cause: err}
}
