// Package api renders bankfeed's state in the shapes other programs rely
// on: the JSON of the list commands (contract: JSON outputs) and the
// platform-facing business API (contract: business API). Both go through
// the same conversion functions, so the CLI and the API cannot drift apart.
package api

import (
	"context"
	"fmt"
	"time"

	"bankfeed/ledger"
	"bankfeed/plaidapi"
	"bankfeed/store"
)

// TokenOut is one object of `tokens list --json`. The contract fields come
// first; the rest are extras that tell a platform engineer what broke and
// what to do. A processor token is never shown whole: TokenHint is its last
// four characters. Nullable fields are pointers so that they marshal as null.
type TokenOut struct {
	BusinessID   string  `json:"business_id"`
	TokenHint    string  `json:"token_hint"`
	Status       string  `json:"status"`
	Reason       *string `json:"reason"`
	AccountID    *string `json:"account_id"` // Plaid account id; null until the first sync names it
	LastSyncedAt *string `json:"last_synced_at"`
	// History follows Plaid's transactions_update_status: "not_ready",
	// "initial" (recent ~30 days), "complete"; null before the first sync.
	History *string `json:"history"`

	FlaggedAt                *string `json:"flagged_at"`
	FlagRequestID            *string `json:"flag_request_id"`
	Remedy                   *string `json:"remedy"` // for a flagged token: what must happen before it works again
	LastErrorCode            *string `json:"last_error_code"`
	LastErrorAt              *string `json:"last_error_at"`
	NewestTransactionDate    *string `json:"newest_transaction_date"`
	NewestTransactionAgeDays *int    `json:"newest_transaction_age_days"`
	NextProbeAt              *string `json:"next_probe_at"`
}

// AccountOut is one object of `accounts list --json` ("List Plaid
// Accounts"). Amounts are exact decimal strings in the account's natural
// sign (for a card: the amount owed), as Plaid's balances.current.
type AccountOut struct {
	BusinessID       string  `json:"business_id"`
	AccountID        string  `json:"account_id"` // Plaid account id
	Name             string  `json:"name"`
	Mask             string  `json:"mask"`
	Type             string  `json:"type"`
	Subtype          string  `json:"subtype"`
	Currency         string  `json:"currency"`
	TokenHint        *string `json:"token_hint"`   // null for an account of an Item bankfeed linked (no processor token)
	TokenStatus      string  `json:"token_status"` // active, needs_refresh, unlinked or replaced
	ItemID           *string `json:"item_id"`      // the Item bankfeed linked and syncs the account with; null for a processor token
	CurrentBalance   *string `json:"current_balance"`
	AvailableBalance *string `json:"available_balance"`
	BalanceAsOf      *string `json:"balance_as_of"`
	LastSyncedAt     *string `json:"last_synced_at"`
	// A re-linked account and the one it continues (Plaid account ids).
	Replaces   *string `json:"replaces"`
	ReplacedBy *string `json:"replaced_by"`

	// With BANKFEED_REALTIME_BALANCES=daily: the newest real-time balance
	// (the bank now) and, when it is newer than the pull-consistent one,
	// the money in flight between them: what the bank has counted and
	// Plaid's next pull will deliver. Never the status-driving balance.
	RealtimeBalance *string `json:"realtime_balance"`
	RealtimeAsOf    *string `json:"realtime_as_of"`
	InFlight        *string `json:"in_flight"`
}

// LedgerBalanceOut is one object of `ledger balances --json`.
type LedgerBalanceOut struct {
	BusinessID     string  `json:"business_id"`
	AccountID      string  `json:"account_id"` // Plaid account id
	Currency       string  `json:"currency"`
	LedgerBalance  string  `json:"ledger_balance"` // includes the opening entry
	PostedCount    int     `json:"posted_count"`
	PendingCount   int     `json:"pending_count"`
	PendingTotal   string  `json:"pending_total"`   // natural-sign effect of pending transactions
	OpeningBalance *string `json:"opening_balance"` // null until the account is anchored
}

// ListTokens lists the live (not removed) tokens of one business, or of
// every business when businessID is empty. now dates the age of the newest
// transaction. The result is never nil, so it marshals as [].
func ListTokens(ctx context.Context, st *store.Store, businessID string, now time.Time) ([]TokenOut, error) {
	toks, err := st.Tokens(ctx, store.TokenFilter{BusinessID: businessID})
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out := make([]TokenOut, 0, len(toks))
	for _, t := range toks {
		out = append(out, tokenOut(t, now))
	}
	return out, nil
}

func tokenOut(t store.Token, now time.Time) TokenOut {
	o := TokenOut{
		BusinessID:            t.BusinessID,
		TokenHint:             t.Hint,
		Status:                t.Status,
		Reason:                str(t.Reason),
		AccountID:             str(t.PlaidAccountID),
		LastSyncedAt:          stamp(t.LastSyncedAt),
		History:               str(t.History),
		FlaggedAt:             stamp(t.FlaggedAt),
		FlagRequestID:         str(t.FlagRequestID),
		LastErrorCode:         str(t.LastErrorCode),
		LastErrorAt:           stamp(t.LastErrorAt),
		NewestTransactionDate: str(t.NewestTxnDate),
		NextProbeAt:           stamp(t.NextProbeAt),
	}
	if t.Status == store.StatusNeedsRefresh && t.Reason != "" {
		o.Remedy = str(plaidapi.Remedy(t.Reason))
	}
	if d, err := time.Parse(time.DateOnly, t.NewestTxnDate); err == nil {
		today := now.UTC().Truncate(24 * time.Hour)
		// Plaid dates are the bank's local dates, which can be a day ahead
		// of UTC's: such a transaction is from today, not from the future.
		days := max(0, int(today.Sub(d).Hours()/24))
		o.NewestTransactionAgeDays = &days
	}
	return o
}

// ListAccounts lists the Plaid accounts of one business (every business
// when businessID is empty), each with its newest token and balance.
func ListAccounts(ctx context.Context, st *store.Store, businessID string) ([]AccountOut, error) {
	views, err := st.Accounts(ctx, businessID)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	out := make([]AccountOut, 0, len(views))
	for _, v := range views {
		cur := v.Cur()
		hint := &v.TokenHint
		if v.ItemID != "" {
			hint = nil
		}
		out = append(out, AccountOut{
			BusinessID:       v.BusinessID,
			AccountID:        v.PlaidAccountID,
			Name:             v.Name,
			Mask:             v.Mask,
			Type:             v.Type,
			Subtype:          v.Subtype,
			Currency:         cur.Code,
			TokenHint:        hint,
			TokenStatus:      v.TokenStatus,
			ItemID:           str(v.ItemID),
			CurrentBalance:   amount(v.Current, cur),
			AvailableBalance: amount(v.Available, cur),
			BalanceAsOf:      stamp(v.BalanceAsOf),
			LastSyncedAt:     stamp(v.LastSyncedAt),
			RealtimeBalance:  amount(v.RealtimeCurrent, cur),
			RealtimeAsOf:     stamp(v.RealtimeAsOf),
			InFlight:         inFlight(v, cur),
			Replaces:         orNil(v.ReplacesID),
			ReplacedBy:       orNil(v.ReplacedByID),
		})
	}
	return out, nil
}

// inFlight is the real-time balance minus the pull-consistent one, when
// both are in the account's currency and the real-time one is as of the
// pull or later (each is as of Plaid's last_updated_datetime when Plaid
// gives one, else as of its fetch); otherwise nil: a real-time balance
// older than the pull says nothing about what is in flight now.
func inFlight(v store.AccountView, cur ledger.Currency) *string {
	if v.RealtimeCurrent == nil || v.Current == nil || v.RealtimeAsOf == nil || v.BalanceAsOf == nil ||
		v.RealtimeCurrency != v.Currency || v.RealtimeAsOf.Before(*v.BalanceAsOf) {
		return nil
	}
	d := *v.RealtimeCurrent - *v.Current
	return amount(&d, cur)
}

// ListLedgerBalances lists the ledger position of every posted account of
// one business (every business when businessID is empty).
func ListLedgerBalances(ctx context.Context, st *store.Store, businessID string) ([]LedgerBalanceOut, error) {
	bals, err := st.LedgerBalances(ctx, businessID)
	if err != nil {
		return nil, fmt.Errorf("list ledger balances: %w", err)
	}
	out := make([]LedgerBalanceOut, 0, len(bals))
	for _, b := range bals {
		cur := b.Cur()
		o := LedgerBalanceOut{
			BusinessID:    b.BusinessID,
			AccountID:     b.PlaidAccountID,
			Currency:      cur.Code,
			LedgerBalance: ledger.Format(b.Balance, cur),
			PostedCount:   b.PostedCount,
			PendingCount:  b.PendingCount,
			PendingTotal:  ledger.Format(b.PendingTotal, cur),
		}
		if b.Anchored {
			o.OpeningBalance = amount(&b.Opening, cur)
		}
		out = append(out, o)
	}
	return out, nil
}

// timeLayout is RFC 3339 in UTC at second precision: what the contract
// promises, and stable across the store's nanosecond timestamps.
const timeLayout = "2006-01-02T15:04:05Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func stamp(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := formatTime(*t)
	return &s
}

func str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func amount(minor *int64, cur ledger.Currency) *string {
	if minor == nil {
		return nil
	}
	s := ledger.Format(*minor, cur)
	return &s
}

// orNil is s, or nil (JSON null) when empty.
func orNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// TransactionOut is one object of `transactions list --json` and of GET
// /v1/businesses/{id}/bank-transactions. Amount is the effect on the
// account's natural balance (a checking account's purchase is negative, a
// card's charge positive); PlaidAmount is Plaid's own sign (positive =
// money leaves the account).
type TransactionOut struct {
	BusinessID     string  `json:"business_id"`
	AccountID      string  `json:"account_id"` // Plaid account id
	TransactionID  string  `json:"transaction_id"`
	Date           string  `json:"date"`
	AuthorizedDate *string `json:"authorized_date"`
	Name           string  `json:"name"`
	MerchantName   *string `json:"merchant_name"`
	Amount         string  `json:"amount"`
	PlaidAmount    string  `json:"plaid_amount"`
	Currency       string  `json:"currency"`
	// Status is posted, pending, removed (a hold that settled or vanished,
	// or a transaction Plaid withdrew) or duplicate (a re-linked account's
	// copy of a transaction its predecessor posted).
	Status  string  `json:"status"`
	EntryID *string `json:"entry_id"` // the live journal entry; null when none

	AccountName string `json:"account_name"`
}

// TransactionOf renders one stored transaction.
func TransactionOf(r store.TxnRow) TransactionOut {
	return TransactionOut{
		BusinessID:     r.BusinessID,
		AccountID:      r.PlaidAccountID,
		TransactionID:  r.TransactionID,
		Date:           r.Date,
		AuthorizedDate: str(r.AuthorizedDate),
		Name:           r.Name,
		MerchantName:   str(r.MerchantName),
		Amount:         ledger.Format(r.Effect, r.Currency),
		PlaidAmount:    ledger.Format(r.PlaidAmount, r.Currency),
		Currency:       r.Currency.Code,
		Status:         r.Status,
		EntryID:        str(r.EntryID),
		AccountName:    r.AccountName,
	}
}
