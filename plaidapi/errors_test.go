package plaidapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Every code in plaid-facts §5, with the status Plaid documents for it.
var classTable = []struct {
	typ, code string
	status    int
	want      Class
}{
	// (a) token or Item unusable
	{"ITEM_ERROR", "ITEM_LOGIN_REQUIRED", 400, InvalidToken},
	{"INVALID_INPUT", "INVALID_PROCESSOR_TOKEN", 400, InvalidToken},
	{"ITEM_ERROR", "ITEM_NOT_FOUND", 400, InvalidToken},
	{"INVALID_INPUT", "USER_PERMISSION_REVOKED", 400, InvalidToken},
	{"ITEM_ERROR", "ACCESS_NOT_GRANTED", 400, InvalidToken},
	{"ITEM_ERROR", "NO_ACCOUNTS", 400, InvalidToken},
	{"INVALID_INPUT", "INVALID_ACCOUNT_ID", 400, InvalidToken},
	{"INVALID_INPUT", "ADDITIONAL_CONSENT_REQUIRED", 400, InvalidToken},
	{"ITEM_ERROR", "ITEM_NOT_SUPPORTED", 400, InvalidToken},
	{"ITEM_ERROR", "PRODUCTS_NOT_SUPPORTED", 400, InvalidToken},
	{"ITEM_ERROR", "ITEM_LOCKED", 400, InvalidToken},
	{"ITEM_ERROR", "INVALID_CREDENTIALS", 400, InvalidToken},
	{"ITEM_ERROR", "INVALID_MFA", 400, InvalidToken},
	{"ITEM_ERROR", "USER_SETUP_REQUIRED", 400, InvalidToken},
	{"ITEM_ERROR", "PASSWORD_RESET_REQUIRED", 400, InvalidToken},
	{"ITEM_ERROR", "MFA_NOT_SUPPORTED", 400, InvalidToken},
	{"ITEM_ERROR", "ITEM_CONCURRENTLY_DELETED", 400, InvalidToken},
	{"INSTITUTION_ERROR", "INSTITUTION_NO_LONGER_SUPPORTED", 400, InvalidToken},
	{"INSTITUTION_ERROR", "UNSUPPORTED_RESPONSE", 400, InvalidToken},
	// (b) transient
	{"RATE_LIMIT_EXCEEDED", "TRANSACTIONS_SYNC_LIMIT", 429, Transient},
	{"RATE_LIMIT_EXCEEDED", "BALANCE_LIMIT", 429, Transient},
	{"RATE_LIMIT_EXCEEDED", "ACCOUNTS_BALANCE_GET_LIMIT", 429, Transient},
	{"RATE_LIMIT_EXCEEDED", "ACCOUNTS_LIMIT", 429, Transient},
	{"RATE_LIMIT_EXCEEDED", "TRANSACTIONS_LIMIT", 429, Transient},
	{"RATE_LIMIT_EXCEEDED", "TRANSACTIONS_REFRESH_LIMIT", 429, Transient},
	{"RATE_LIMIT_EXCEEDED", "INSTITUTION_RATE_LIMIT", 429, Transient},
	{"RATE_LIMIT_EXCEEDED", "RATE_LIMIT", 429, Transient},
	{"API_ERROR", "INTERNAL_SERVER_ERROR", 500, Transient},
	{"API_ERROR", "plaid-internal-error", 500, Transient},
	{"API_ERROR", "PLANNED_MAINTENANCE", 503, Transient},
	{"INSTITUTION_ERROR", "INSTITUTION_DOWN", 400, Transient},
	{"INSTITUTION_ERROR", "INSTITUTION_NOT_RESPONDING", 400, Transient},
	{"INSTITUTION_ERROR", "INSTITUTION_NOT_AVAILABLE", 400, Transient},
	{"ITEM_ERROR", "PRODUCT_NOT_READY", 400, Transient},
	{"TRANSACTIONS_ERROR", "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION", 400, Transient},
	// (c) our bug or configuration
	{"INVALID_INPUT", "INVALID_API_KEYS", 400, Fatal},
	{"INVALID_INPUT", "UNAUTHORIZED_ENVIRONMENT", 400, Fatal},
	{"INVALID_INPUT", "UNAUTHORIZED_ROUTE_ACCESS", 400, Fatal},
	{"INVALID_INPUT", "INVALID_PRODUCT", 400, Fatal},
	{"INVALID_REQUEST", "MISSING_FIELDS", 400, Fatal},
	{"INVALID_REQUEST", "UNKNOWN_FIELDS", 400, Fatal},
	{"INVALID_REQUEST", "INVALID_FIELD", 400, Fatal},
	{"INVALID_REQUEST", "INVALID_BODY", 400, Fatal},
	{"INVALID_REQUEST", "INVALID_HEADERS", 400, Fatal},
	{"INVALID_REQUEST", "INCOMPATIBLE_API_VERSION", 400, Fatal},
	{"INVALID_REQUEST", "SANDBOX_ONLY", 400, Fatal},
	{"INVALID_REQUEST", "LAST_UPDATED_DATETIME_OUT_OF_RANGE", 400, Fatal},
	{"INVALID_REQUEST", "NOT_FOUND", 404, Fatal},
	{"INVALID_REQUEST", "NO_LONGER_AVAILABLE", 404, Fatal},
	{"RATE_LIMIT_EXCEEDED", "CREDITS_EXHAUSTED", 429, Fatal},
	{"INVALID_INPUT", "INVALID_ACCESS_TOKEN", 400, InvalidToken},
	// The caller's input, not a token to flag: IsInvalidPublicToken picks it out.
	{"INVALID_INPUT", "INVALID_PUBLIC_TOKEN", 400, Fatal},
	{"INVALID_INPUT", "INVALID_WEBHOOK_VERIFICATION_KEY_ID", 400, Fatal},
	// codes we have never seen: type and status decide
	{"ITEM_ERROR", "SOMETHING_NEW", 400, InvalidToken},
	{"ITEM_ERROR", "SOMETHING_NEW", 500, InvalidToken},
	{"INSTITUTION_ERROR", "SOMETHING_NEW", 400, Transient},
	{"API_ERROR", "SOMETHING_NEW", 500, Transient},
	{"RATE_LIMIT_EXCEEDED", "SOMETHING_NEW", 429, Transient},
	{"INVALID_REQUEST", "SOMETHING_NEW", 404, Fatal},
	{"INVALID_REQUEST", "SOMETHING_NEW", 400, Fatal},
	{"INVALID_INPUT", "SOMETHING_NEW", 400, Fatal},
	{"TRANSACTIONS_ERROR", "SOMETHING_NEW", 400, Fatal},
	// webhook-only codes are not in the table: their type decides
	{"ITEM_ERROR", "PENDING_EXPIRATION", 400, InvalidToken},
	{"ITEM_ERROR", "PENDING_DISCONNECT", 400, InvalidToken},
	{"ITEM_ERROR", "USER_ACCOUNT_REVOKED", 400, InvalidToken},
	{"", "SOMETHING_NEW", 500, Transient},
	{"", "SOMETHING_NEW", 502, Transient},
	{"", "SOMETHING_NEW", 503, Transient},
	{"", "SOMETHING_NEW", 429, Transient},
	{"API_ERROR", "SOMETHING_NEW", 400, Transient},
	{"RATE_LIMIT_EXCEEDED", "SOMETHING_NEW", 400, Transient},
	{"", "", 500, Transient},
	{"", "", 400, Fatal},
}

func TestClassify(t *testing.T) {
	for _, tc := range classTable {
		t.Run(fmt.Sprintf("%s_%d", tc.code, tc.status), func(t *testing.T) {
			if got := Classify(tc.typ, tc.code, tc.status); got != tc.want {
				t.Errorf("Classify(%q, %q, %d) = %v, want %v", tc.typ, tc.code, tc.status, got, tc.want)
			}
		})
	}
}

func TestNeedsNewTokenAndRemedy(t *testing.T) {
	newToken := map[string]bool{
		"INVALID_PROCESSOR_TOKEN": true, "ITEM_NOT_FOUND": true, "USER_PERMISSION_REVOKED": true,
		"NO_ACCOUNTS": true, "INVALID_ACCOUNT_ID": true,
		"ITEM_NOT_SUPPORTED": true, "PRODUCTS_NOT_SUPPORTED": true, "ITEM_CONCURRENTLY_DELETED": true,
		"INSTITUTION_NO_LONGER_SUPPORTED": true, "INVALID_ACCESS_TOKEN": true,
	}
	seen := 0
	for _, tc := range classTable {
		if tc.want != InvalidToken || tc.code == "SOMETHING_NEW" {
			continue
		}
		seen++
		if got := NeedsNewToken(tc.code); got != newToken[tc.code] {
			t.Errorf("NeedsNewToken(%s) = %v, want %v", tc.code, got, newToken[tc.code])
		}
		if Remedy(tc.code) == "" {
			t.Errorf("Remedy(%s) is empty", tc.code)
		}
	}
	if seen != 23 {
		t.Errorf("table has %d invalid-token codes, want 23", seen)
	}
	for _, code := range []string{"PENDING_EXPIRATION", "PENDING_DISCONNECT", "USER_ACCOUNT_REVOKED"} {
		if NeedsNewToken(code) || !strings.HasPrefix(Remedy(code), "unknown Plaid error code") {
			t.Errorf("webhook code %s is treated as a known API error: %s", code, Remedy(code))
		}
	}
	// Permanent for the product: nothing the owner does in Link helps.
	if r := Remedy("PRODUCTS_NOT_SUPPORTED"); !NeedsNewToken("PRODUCTS_NOT_SUPPORTED") ||
		!strings.Contains(r, "re-linking will not help") || strings.Contains(r, "must link") {
		t.Errorf("PRODUCTS_NOT_SUPPORTED: %s", r)
	}
	for _, code := range []string{"ITEM_LOGIN_REQUIRED", "INVALID_PROCESSOR_TOKEN", "INVALID_API_KEYS", "RATE_LIMIT", "WHATEVER"} {
		t.Logf("%s: %s", code, Remedy(code))
	}
	if NeedsNewToken("INTERNAL_SERVER_ERROR") || NeedsNewToken("INVALID_API_KEYS") {
		t.Error("NeedsNewToken is true for a code that is not about the token")
	}
}

func TestErrorString(t *testing.T) {
	e := &Error{Class: InvalidToken, Op: "sync", HTTPStatus: 400, Code: "ITEM_LOGIN_REQUIRED",
		RequestID: "req-12", Message: "the login details of this item have changed"}
	want := "plaid sync: ITEM_LOGIN_REQUIRED (400, request req-12): the login details of this item have changed"
	if e.Error() != want {
		t.Errorf("got  %s\nwant %s", e.Error(), want)
	}
	e = &Error{Class: Transient, Op: "balance", Message: "no response: timeout"}
	if want := "plaid balance: transient (no response): no response: timeout"; e.Error() != want {
		t.Errorf("got  %s\nwant %s", e.Error(), want)
	}
}

func TestClassOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want Class
	}{
		{fmt.Errorf("wrapped: %w", &Error{Class: InvalidToken}), InvalidToken},
		{context.Canceled, Transient},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), Transient},
		{errors.New("anything else"), Fatal},
		{nil, 0},
	} {
		if got := ClassOf(tc.err); got != tc.want {
			t.Errorf("ClassOf(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if !IsMutationDuringPagination(fmt.Errorf("x: %w", &Error{Code: codeMutationDuringPagination})) {
		t.Error("IsMutationDuringPagination missed a wrapped error")
	}
	if IsMutationDuringPagination(&Error{Code: "INTERNAL_SERVER_ERROR"}) {
		t.Error("IsMutationDuringPagination matched another code")
	}
}
