package plaidapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/plaid/plaid-go/v29/plaid"
)

// The calls for Items bankfeed links itself (access tokens), beside the
// processor-token calls in client.go. The same retry, classification and
// scrubbing apply; an access token is scrubbed like a processor token.

// LinkTokenRequest is what bankfeed asks of /link/token/create.
type LinkTokenRequest struct {
	ClientUserID  string // the business id: Plaid ties the Item to it
	ClientName    string // shown to the end user in Link; default "bankfeed"
	DaysRequested int    // history for the new Item, 1..730; 0 takes Config.DaysRequested
	Webhook       string // where Plaid sends the Item's webhooks; "" for none
	AccessToken   string // update mode (a login repair) for this Item; products are then omitted
}

// ItemPage is one /transactions/sync response for a whole Item, converted
// and checked: its transactions may belong to any of its accounts.
type ItemPage struct {
	Accounts     []Account     `json:"accounts"`
	Added        []Transaction `json:"added"`
	Modified     []Transaction `json:"modified"`
	Removed      []Removed     `json:"removed"`
	NextCursor   string        `json:"next_cursor"`
	HasMore      bool          `json:"has_more"`
	RequestID    string        `json:"request_id"`
	UpdateStatus string        `json:"update_status"`
}

// WebhookKey is the public key Plaid signs webhooks with, as the JWK's
// plain fields. X and Y stay base64url, as the JWK carries them.
type WebhookKey struct {
	Kid, Alg, Crv, Kty, Use string
	X, Y                    string
	CreatedAt               time.Time
	ExpiredAt               time.Time // zero while the key is current
}

const defaultClientName = "bankfeed"

// LinkToken creates a link token (/link/token/create) for the Transactions
// product, or, with r.AccessToken, for update mode on that Item.
func (c *Client) LinkToken(ctx context.Context, r LinkTokenRequest) (token string, expiration time.Time, err error) {
	const op = "link_token"
	days := r.DaysRequested
	if days == 0 {
		days = c.daysRequested
	}
	if r.ClientUserID == "" {
		return "", time.Time{}, &Error{Class: Fatal, Op: op, Message: "a link token needs a client user id"}
	}
	if err := checkDays(days); err != nil {
		return "", time.Time{}, &Error{Class: Fatal, Op: op, Message: err.Error()}
	}
	name := r.ClientName
	if name == "" {
		name = defaultClientName
	}
	req := plaid.NewLinkTokenCreateRequest(name, "en", []plaid.CountryCode{plaid.COUNTRYCODE_US},
		*plaid.NewLinkTokenCreateRequestUser(r.ClientUserID))
	if r.AccessToken != "" {
		// Plaid's spec: update mode leaves products out.
		req.SetAccessToken(r.AccessToken)
	} else {
		req.SetProducts([]plaid.Products{plaid.PRODUCTS_TRANSACTIONS})
		// A literal, not NewLinkTokenTransactions, which presets 90 days.
		tx := plaid.LinkTokenTransactions{}
		tx.SetDaysRequested(int32(days))
		req.SetTransactions(tx)
	}
	if r.Webhook != "" {
		req.SetWebhook(r.Webhook)
	}
	var resp plaid.LinkTokenCreateResponse
	httpResp, err := c.do(ctx, op, r.AccessToken, func(ctx context.Context) (hr *http.Response, err error) {
		resp, hr, err = c.api.LinkTokenCreate(ctx).LinkTokenCreateRequest(*req).Execute()
		return hr, err
	})
	if err != nil {
		return "", time.Time{}, err
	}
	if err := required(resp.RequestId, "link_token", resp.LinkToken); err != nil {
		return "", time.Time{}, c.rejected(op, r.AccessToken, httpResp, resp.RequestId, err)
	}
	if resp.Expiration.IsZero() {
		return "", time.Time{}, c.rejected(op, r.AccessToken, httpResp, resp.RequestId, errors.New("response has no expiration"))
	}
	return resp.LinkToken, resp.Expiration.UTC(), nil
}

// required checks the request id and then each (name, value) pair.
func required(requestID string, pairs ...string) error {
	if requestID == "" {
		return errors.New("response has no request_id")
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return fmt.Errorf("response has no %s", pairs[i])
		}
	}
	return nil
}

// ExchangePublicToken trades the public token Link handed over for the
// Item's access token (/item/public_token/exchange). A public token
// exchanges once: see IsInvalidPublicToken.
func (c *Client) ExchangePublicToken(ctx context.Context, publicToken string) (accessToken, itemID string, err error) {
	const op = "exchange"
	req := plaid.NewItemPublicTokenExchangeRequest(publicToken)
	var resp plaid.ItemPublicTokenExchangeResponse
	unanswered := false // an attempt got no answer: Plaid may have exchanged the token then
	httpResp, err := c.do(ctx, op, publicToken, func(ctx context.Context) (hr *http.Response, err error) {
		resp, hr, err = c.api.ItemPublicTokenExchange(ctx).ItemPublicTokenExchangeRequest(*req).Execute()
		unanswered = unanswered || hr == nil && err != nil
		return hr, err
	})
	if pe := (*Error)(nil); errors.As(err, &pe) && pe.Code == codeInvalidPublicToken && unanswered {
		// Not the caller's reuse: our own lost attempt spent the token.
		e := *pe
		e.Class = Transient
		e.Message = "an earlier attempt got no answer and may have exchanged the public token; link the bank again for a new one (" + e.Message + ")"
		return "", "", &e
	}
	if err != nil {
		return "", "", err
	}
	if err := required(resp.RequestId, "access_token", resp.AccessToken, "item_id", resp.ItemId); err != nil {
		return "", "", c.rejected(op, publicToken, httpResp, resp.RequestId, err)
	}
	return resp.AccessToken, resp.ItemId, nil
}

// IsInvalidPublicToken reports whether Plaid refused a public token as
// unknown, expired or already exchanged.
func IsInvalidPublicToken(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == codeInvalidPublicToken
}

// ItemAccounts lists the Item's accounts with their cached balances
// (/accounts/get), and the Item's institution.
func (c *Client) ItemAccounts(ctx context.Context, accessToken string) (institutionID string, accounts []Account, err error) {
	const op = "item_accounts"
	req := plaid.NewAccountsGetRequest(accessToken)
	var resp plaid.AccountsGetResponse
	httpResp, err := c.do(ctx, op, accessToken, func(ctx context.Context) (hr *http.Response, err error) {
		resp, hr, err = c.api.AccountsGet(ctx).AccountsGetRequest(*req).Execute()
		return hr, err
	})
	if err != nil {
		return "", nil, err
	}
	if err := required(resp.RequestId, "item.item_id", resp.Item.ItemId); err != nil {
		return "", nil, c.rejected(op, accessToken, httpResp, resp.RequestId, err)
	}
	institutionID = resp.Item.GetInstitutionId()
	accounts, err = convertAccounts(resp.Accounts, resp.RequestId)
	if err != nil {
		return "", nil, c.rejected(op, accessToken, httpResp, resp.RequestId, err)
	}
	for i := range accounts {
		accounts[i].InstitutionID = institutionID
	}
	return institutionID, accounts, nil
}

func convertAccounts(in []plaid.AccountBase, requestID string) ([]Account, error) {
	out := make([]Account, 0, len(in))
	seen := map[string]bool{}
	for _, a := range in {
		acct, err := convertAccount(a, requestID)
		if err != nil {
			return nil, err
		}
		if seen[acct.ID] {
			return nil, fmt.Errorf("account %s listed twice", acct.ID)
		}
		seen[acct.ID] = true
		out = append(out, acct)
	}
	return out, nil
}

// ItemSync makes one /transactions/sync call for the whole Item: one
// cursor, transactions of all its accounts. Each transaction must belong
// to one of the page's accounts or of known (the Item's accounts bankfeed
// already holds). An empty cursor asks for the full history; count 0
// means Plaid's default of 100.
func (c *Client) ItemSync(ctx context.Context, accessToken, cursor string, count int, known ...string) (ItemPage, error) {
	const op = "item_sync"
	if count < 0 || count > maxCount {
		return ItemPage{}, &Error{Class: Fatal, Op: op, Message: fmt.Sprintf("count %d is outside 1..%d", count, maxCount)}
	}
	req := plaid.NewTransactionsSyncRequest(accessToken) // count=100 preset
	if count > 0 {
		req.SetCount(int32(count))
	}
	if cursor != "" {
		req.SetCursor(cursor)
	}
	req.SetOptions(syncOptions(c.daysRequested))
	var resp plaid.TransactionsSyncResponse
	httpResp, err := c.do(ctx, op, accessToken, func(ctx context.Context) (hr *http.Response, err error) {
		resp, hr, err = c.api.TransactionsSync(ctx).TransactionsSyncRequest(*req).Execute()
		return hr, err
	})
	if err != nil {
		return ItemPage{}, err
	}
	page, err := convertItemPage(resp, cursor, known)
	if err != nil {
		return ItemPage{}, c.rejected(op, accessToken, httpResp, resp.RequestId, err)
	}
	return page, nil
}

// convertItemPage checks and converts one Item sync response, as
// convertPage does for a processor token.
func convertItemPage(r plaid.TransactionsSyncResponse, cursor string, known []string) (ItemPage, error) {
	if r.RequestId == "" {
		return ItemPage{}, errors.New("response has no request_id")
	}
	empty := len(r.Added) == 0 && len(r.Modified) == 0 && len(r.Removed) == 0
	if r.NextCursor == "" && !r.HasMore && empty && len(r.Accounts) == 0 {
		// NOT_READY: the Item's first pull is still under way.
		return ItemPage{RequestID: r.RequestId, UpdateStatus: string(r.TransactionsUpdateStatus)}, nil
	}
	if len(r.Accounts) == 0 {
		return ItemPage{}, errors.New("response has no accounts")
	}
	if r.HasMore && (r.NextCursor == "" || r.NextCursor == cursor) {
		return ItemPage{}, errors.New("has_more with an unchanged cursor: refusing to loop")
	}
	accounts, err := convertAccounts(r.Accounts, r.RequestId)
	if err != nil {
		return ItemPage{}, err
	}
	ours := map[string]bool{}
	for _, id := range known {
		ours[id] = true
	}
	for _, a := range accounts {
		ours[a.ID] = true
	}
	added, err := convertItemTransactions(r.Added, ours)
	if err != nil {
		return ItemPage{}, fmt.Errorf("added: %w", err)
	}
	modified, err := convertItemTransactions(r.Modified, ours)
	if err != nil {
		return ItemPage{}, fmt.Errorf("modified: %w", err)
	}
	removed := make([]Removed, 0, len(r.Removed))
	for i, rm := range r.Removed {
		if rm.TransactionId == "" {
			return ItemPage{}, fmt.Errorf("removed entry %d has no transaction_id", i)
		}
		if rm.AccountId != "" && !ours[rm.AccountId] {
			return ItemPage{}, fmt.Errorf("removed transaction %s belongs to account %q, not one of this Item's", rm.TransactionId, rm.AccountId)
		}
		removed = append(removed, Removed{TransactionID: rm.TransactionId, AccountID: rm.AccountId})
	}
	return ItemPage{
		Accounts:     accounts,
		Added:        added,
		Modified:     modified,
		Removed:      removed,
		NextCursor:   r.NextCursor,
		HasMore:      r.HasMore,
		RequestID:    r.RequestId,
		UpdateStatus: string(r.TransactionsUpdateStatus),
	}, nil
}

func convertItemTransactions(in []plaid.Transaction, ours map[string]bool) ([]Transaction, error) {
	out := make([]Transaction, 0, len(in))
	for i, t := range in {
		if !ours[t.AccountId] {
			return nil, fmt.Errorf("entry %d: transaction %s belongs to account %q, not one of this Item's", i, t.TransactionId, t.AccountId)
		}
		ct, err := convertTransaction(t, t.AccountId)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		out = append(out, ct)
	}
	return out, nil
}

// RemoveItem removes the Item at Plaid (/item/remove); its access token and
// processor tokens stop working. An Item Plaid no longer knows
// (ITEM_NOT_FOUND) counts as removed, so a retry after a crash succeeds.
func (c *Client) RemoveItem(ctx context.Context, accessToken string) error {
	const op = "item_remove"
	req := plaid.NewItemRemoveRequest(accessToken)
	var resp plaid.ItemRemoveResponse
	httpResp, err := c.do(ctx, op, accessToken, func(ctx context.Context) (hr *http.Response, err error) {
		resp, hr, err = c.api.ItemRemove(ctx).ItemRemoveRequest(*req).Execute()
		return hr, err
	})
	var e *Error
	if errors.As(err, &e) && e.Code == "ITEM_NOT_FOUND" {
		return nil
	}
	if err != nil {
		return err
	}
	if err := required(resp.RequestId); err != nil {
		return c.rejected(op, accessToken, httpResp, resp.RequestId, err)
	}
	return nil
}

// WebhookKey fetches the public key with the kid a webhook's JWT names
// (/webhook_verification_key/get). It checks the key is the P-256 ES256
// key asked for; verifying signatures is the caller's.
func (c *Client) WebhookKey(ctx context.Context, kid string) (WebhookKey, error) {
	const op = "webhook_key"
	req := plaid.NewWebhookVerificationKeyGetRequest(kid)
	var resp plaid.WebhookVerificationKeyGetResponse
	httpResp, err := c.do(ctx, op, "", func(ctx context.Context) (hr *http.Response, err error) {
		resp, hr, err = c.api.WebhookVerificationKeyGet(ctx).WebhookVerificationKeyGetRequest(*req).Execute()
		return hr, err
	})
	if err != nil {
		return WebhookKey{}, err
	}
	k := resp.Key
	if err := checkKey(k, kid, resp.RequestId); err != nil {
		return WebhookKey{}, c.rejected(op, "", httpResp, resp.RequestId, err)
	}
	out := WebhookKey{Kid: k.Kid, Alg: k.Alg, Crv: k.Crv, Kty: k.Kty, Use: k.Use, X: k.X, Y: k.Y,
		CreatedAt: time.Unix(int64(k.CreatedAt), 0).UTC()}
	if e := k.ExpiredAt.Get(); e != nil {
		out.ExpiredAt = time.Unix(int64(*e), 0).UTC()
	}
	return out, nil
}

func checkKey(k plaid.JWKPublicKey, kid, requestID string) error {
	if err := required(requestID, "key.kid", k.Kid); err != nil {
		return err
	}
	if k.Kid != kid {
		return fmt.Errorf("asked for key %q, got %q", kid, k.Kid)
	}
	if k.Alg != "ES256" || k.Crv != "P-256" || k.Kty != "EC" {
		return fmt.Errorf("key %s is %s/%s/%s, not ES256/P-256/EC", k.Kid, k.Alg, k.Crv, k.Kty)
	}
	for name, v := range map[string]string{"x": k.X, "y": k.Y} {
		if b, err := base64.RawURLEncoding.DecodeString(v); err != nil || len(b) != 32 {
			return fmt.Errorf("key %s: %s is not 32 bytes of base64url", k.Kid, name)
		}
	}
	return nil
}

// SetProcessorWebhook points the processor token's webhooks at url
// (/processor/token/webhook/update); "" stops them.
func (c *Client) SetProcessorWebhook(ctx context.Context, processorToken, url string) error {
	const op = "processor_webhook"
	hook := plaid.NullableString{}
	if url != "" {
		hook.Set(&url)
	}
	req := plaid.NewProcessorTokenWebhookUpdateRequest(processorToken, hook)
	var resp plaid.ProcessorTokenWebhookUpdateResponse
	httpResp, err := c.do(ctx, op, processorToken, func(ctx context.Context) (hr *http.Response, err error) {
		resp, hr, err = c.api.ProcessorTokenWebhookUpdate(ctx).ProcessorTokenWebhookUpdateRequest(*req).Execute()
		return hr, err
	})
	if err != nil {
		return err
	}
	if err := required(resp.RequestId); err != nil {
		return c.rejected(op, processorToken, httpResp, resp.RequestId, err)
	}
	return nil
}

// SetItemWebhook points an Item's webhooks at url (/item/webhook/update);
// "" stops them. The processor endpoint refuses an access token.
func (c *Client) SetItemWebhook(ctx context.Context, accessToken, url string) error {
	const op = "item_webhook"
	req := plaid.NewItemWebhookUpdateRequest(accessToken)
	hook := plaid.NullableString{}
	if url != "" {
		hook.Set(&url)
	}
	req.Webhook = hook
	var resp plaid.ItemWebhookUpdateResponse
	httpResp, err := c.do(ctx, op, accessToken, func(ctx context.Context) (hr *http.Response, err error) {
		resp, hr, err = c.api.ItemWebhookUpdate(ctx).ItemWebhookUpdateRequest(*req).Execute()
		return hr, err
	})
	if err != nil {
		return err
	}
	if err := required(resp.RequestId); err != nil {
		return c.rejected(op, accessToken, httpResp, resp.RequestId, err)
	}
	return nil
}

// SandboxPublicToken makes a public token for a new sandbox Item with
// Transactions (/sandbox/public_token/create), skipping Link: for the demo
// and tests. The Item keeps Config.DaysRequested of history and sends its
// webhooks to webhook when set.
func (c *Client) SandboxPublicToken(ctx context.Context, institutionID, webhook string) (publicToken string, err error) {
	const op = "sandbox_public_token"
	req := plaid.NewSandboxPublicTokenCreateRequest(institutionID, []plaid.Products{plaid.PRODUCTS_TRANSACTIONS})
	o := plaid.SandboxPublicTokenCreateRequestOptions{}
	if webhook != "" {
		o.SetWebhook(webhook)
	}
	tx := plaid.SandboxPublicTokenCreateRequestOptionsTransactions{}
	tx.SetDaysRequested(int32(c.daysRequested))
	o.SetTransactions(tx)
	req.SetOptions(o)
	var resp plaid.SandboxPublicTokenCreateResponse
	httpResp, err := c.do(ctx, op, "", func(ctx context.Context) (hr *http.Response, err error) {
		resp, hr, err = c.api.SandboxPublicTokenCreate(ctx).SandboxPublicTokenCreateRequest(*req).Execute()
		return hr, err
	})
	if err != nil {
		return "", err
	}
	if err := required(resp.RequestId, "public_token", resp.PublicToken); err != nil {
		return "", c.rejected(op, "", httpResp, resp.RequestId, err)
	}
	return resp.PublicToken, nil
}
