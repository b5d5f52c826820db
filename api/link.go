package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"bankfeed/plaidapi"
	"bankfeed/store"
)

// The bankfeed-managed Plaid connection (design.md, "Contract:
// bankfeed-managed Plaid connection"): scoped tokens for the end user's
// browser, link tokens, the exchange of a public token into an Item, and
// the Item list and removal.

// Plaid is what the link routes and the webhook need from Plaid.
type Plaid interface {
	LinkToken(ctx context.Context, r plaidapi.LinkTokenRequest) (string, time.Time, error)
	ExchangePublicToken(ctx context.Context, publicToken string) (accessToken, itemID string, err error)
	ItemAccounts(ctx context.Context, accessToken string) (institutionID string, accounts []plaidapi.Account, err error)
	RemoveItem(ctx context.Context, accessToken string) error
	WebhookKey(ctx context.Context, kid string) (plaidapi.WebhookKey, error)
}

var _ Plaid = (*plaidapi.Client)(nil)

// ScopedTTL is how long a scoped token works.
const ScopedTTL = 15 * time.Minute

// principal is who a request authenticated as: the platform (an API key)
// or one business's end user (a scoped token).
type principal struct {
	platform bool
	business string
}

type principalKey struct{}

func principalOf(r *http.Request) principal {
	p, _ := r.Context().Value(principalKey{}).(principal)
	return p
}

// platformOnly refuses a scoped token: these routes act for the platform.
func platformOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !principalOf(r).platform {
			writeError(w, http.StatusForbidden, "forbidden", "a scoped token cannot use this route; it needs the platform's API key")
			return
		}
		h(w, r)
	}
}

// forBusiness admits the platform and the scoped token of the business
// the path names.
func forBusiness(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if p := principalOf(r); !p.platform && p.business != r.PathValue("id") {
			writeError(w, http.StatusForbidden, "forbidden", "this scoped token is for another business")
			return
		}
		h(w, r)
	}
}

// scoped resolves a scoped token; the answer says why it is refused
// without telling an unknown token from a tampered one.
func (s *server) scoped(ctx context.Context, tok string) (string, string) {
	biz, exp, err := s.st.ScopedToken(ctx, tok)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", "the scoped token is unknown; ask the platform for a new one"
	case err != nil:
		return "", "the scoped token could not be checked; try again"
	case !s.now().Before(exp):
		return "", "the scoped token has expired (they last 15 minutes); ask the platform for a new one"
	}
	return biz, ""
}

type scopedOut struct {
	Token     string `json:"token"`
	ExpiresAt string `json:"expires_at"`
}

func (s *server) createScopedToken(w http.ResponseWriter, r *http.Request) {
	tok, exp, err := s.st.CreateScopedToken(r.Context(), r.PathValue("id"), ScopedTTL)
	if err != nil {
		s.storeError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, scopedOut{Token: tok, ExpiresAt: formatTime(exp)})
}

type linkTokenRequest struct {
	ItemID string `json:"item_id"`
}

type linkTokenOut struct {
	LinkToken  string `json:"link_token"`
	Expiration string `json:"expiration"`
}

func (s *server) noPlaid(w http.ResponseWriter) bool {
	if s.plaid == nil {
		writeError(w, http.StatusServiceUnavailable, "plaid_unconfigured", "this bankfeed has no Plaid credentials; set PLAID_CLIENT_ID and PLAID_SECRET")
		return true
	}
	return false
}

func (s *server) linkToken(w http.ResponseWriter, r *http.Request) {
	if s.noPlaid(w) {
		return
	}
	req := &linkTokenRequest{}
	// The body is optional: no body asks for a new Item.
	if r.ContentLength != 0 && !s.decode(w, r, &req) {
		return
	}
	ctx := r.Context()
	biz := r.PathValue("id")
	if _, err := s.st.Business(ctx, biz); err != nil {
		s.storeError(w, err)
		return
	}
	lr := plaidapi.LinkTokenRequest{ClientUserID: biz, Webhook: s.webhookURL}
	if req.ItemID != "" {
		it, ok := s.item(w, r, req.ItemID)
		if !ok {
			return
		}
		if it.Status == store.StatusRemoved {
			writeError(w, http.StatusNotFound, "not_found", "Item "+req.ItemID+" was removed; link the bank again")
			return
		}
		access, err := s.st.Reveal(ctx, it.ID)
		if err != nil {
			internalError(w, err)
			return
		}
		lr.AccessToken = access
	}
	tok, exp, err := s.plaid.LinkToken(ctx, lr)
	if err != nil {
		plaidFailure(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, linkTokenOut{LinkToken: tok, Expiration: formatTime(exp)})
}

// item finds one of the path's business's Items, or answers 404.
func (s *server) item(w http.ResponseWriter, r *http.Request, itemID string) (store.Token, bool) {
	it, err := s.st.ItemByPlaidID(r.Context(), itemID)
	if err == nil && it.BusinessID != r.PathValue("id") {
		err = store.ErrNotFound // another business's Item is not to be confirmed
	}
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no Item "+itemID+" for business "+r.PathValue("id"))
		return store.Token{}, false
	}
	if err != nil {
		internalError(w, err)
		return store.Token{}, false
	}
	return it, true
}

// plaidFailure answers a failed Plaid call: 502 with Plaid's code (the
// plaidapi errors never carry a token), 503 when Plaid was unreachable.
func plaidFailure(w http.ResponseWriter, err error) {
	var pe *plaidapi.Error
	if !errors.As(err, &pe) {
		internalError(w, err)
		return
	}
	status := http.StatusBadGateway
	if pe.HTTPStatus == 0 {
		status = http.StatusServiceUnavailable
	}
	writeError(w, status, "plaid_error", pe.Error())
}

type itemRequest struct {
	PublicToken string `json:"public_token"`
}

type itemCreatedOut struct {
	ItemID        string       `json:"item_id"`
	InstitutionID *string      `json:"institution_id"`
	Accounts      []AccountOut `json:"accounts"`
}

func (s *server) addItem(w http.ResponseWriter, r *http.Request) {
	if s.noPlaid(w) {
		return
	}
	var req *itemRequest
	if !s.decode(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.PublicToken) == "" {
		writeError(w, http.StatusBadRequest, "invalid_body", "public_token is required: the one Plaid Link's onSuccess handed over")
		return
	}
	ctx := r.Context()
	biz := r.PathValue("id")
	if _, err := s.st.Business(ctx, biz); err != nil {
		s.storeError(w, err)
		return
	}
	used := func() bool {
		u, err := s.st.PublicTokenUsed(ctx, req.PublicToken)
		return err == nil && u
	}
	if used() {
		writeError(w, http.StatusConflict, "conflict", "this public token was exchanged already; its Item is linked")
		return
	}
	access, itemID, err := s.plaid.ExchangePublicToken(ctx, req.PublicToken)
	switch {
	case plaidapi.IsInvalidPublicToken(err) && used():
		writeError(w, http.StatusConflict, "conflict", "this public token was exchanged already; its Item is linked")
		return
	case plaidapi.IsInvalidPublicToken(err) && plaidapi.ClassOf(err) != plaidapi.Transient:
		writeError(w, http.StatusBadRequest, "invalid_public_token", "Plaid refused the public token: it is unknown, expired (30 minutes) or was exchanged already; link the bank again")
		return
	case err != nil:
		plaidFailure(w, err)
		return
	}
	inst, accts, err := s.plaid.ItemAccounts(ctx, access)
	if err == nil {
		in := store.ItemInput{BusinessID: biz, ItemID: itemID, InstitutionID: inst, AccessToken: access, PublicToken: req.PublicToken,
			WebhookURL: s.webhookURL}
		for _, a := range accts {
			in.Accounts = append(in.Accounts, AccountInfo(a))
		}
		_, err = s.st.AddItem(ctx, in)
	}
	if err != nil {
		// Bankfeed will not hold the Item: remove it at Plaid rather than
		// leave a billed Item nobody syncs; but never an Item bankfeed
		// already holds (a public token of an Item linked before).
		if _, held := s.st.ItemByPlaidID(ctx, itemID); held != nil {
			_ = s.plaid.RemoveItem(context.WithoutCancel(ctx), access)
		}
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			s.storeError(w, err)
		} else {
			plaidFailure(w, err)
		}
		return
	}
	it, err := s.st.ItemByPlaidID(ctx, itemID)
	if err == nil && s.onSync != nil {
		s.onSync(it.ID) // its history starts arriving now, not at the next tick
	}
	all, err := ListAccounts(ctx, s.st, biz)
	if err != nil {
		internalError(w, err)
		return
	}
	out := itemCreatedOut{ItemID: itemID, InstitutionID: str(inst), Accounts: []AccountOut{}}
	for _, a := range all {
		if a.ItemID != nil && *a.ItemID == itemID {
			out.Accounts = append(out.Accounts, a)
		}
	}
	writeJSON(w, http.StatusCreated, out)
}

// AccountInfo is what the store keeps of a Plaid account.
func AccountInfo(a plaidapi.Account) store.AccountInfo {
	return store.AccountInfo{PlaidAccountID: a.ID, Name: a.Name, OfficialName: a.OfficialName, Mask: a.Mask, Type: a.Type,
		Subtype: a.Subtype, Currency: a.Currency.Code, CurrencyExponent: a.Currency.Exponent}
}

// ItemOut is one object of GET …/plaid/items and `items list --json`.
type ItemOut struct {
	BusinessID    string   `json:"business_id"`
	ItemID        string   `json:"item_id"`
	InstitutionID *string  `json:"institution_id"`
	Status        string   `json:"status"` // active, needs_refresh or removed
	Reason        *string  `json:"reason"`
	AccountIDs    []string `json:"account_ids"`
	LastSyncedAt  *string  `json:"last_synced_at"`
	History       *string  `json:"history"`
	Remedy        *string  `json:"remedy"`
	// PendingDisconnect: Plaid warned the Item stops working soon unless
	// its owner reconnects (update mode).
	PendingDisconnect bool `json:"pending_disconnect"`
}

// ListItems lists the Items of one business (every business when
// businessID is empty), removed ones included.
func ListItems(ctx context.Context, st *store.Store, businessID string) ([]ItemOut, error) {
	items, err := st.Items(ctx, businessID)
	if err != nil {
		return nil, err
	}
	out := make([]ItemOut, 0, len(items))
	for _, it := range items {
		o := ItemOut{BusinessID: it.BusinessID, ItemID: it.ItemID, InstitutionID: str(it.InstitutionID), Status: it.Status,
			Reason: str(it.Reason), AccountIDs: it.AccountIDs, LastSyncedAt: stamp(it.LastSyncedAt), History: str(it.History),
			PendingDisconnect: it.Status == store.StatusActive && it.LastErrorCode == "PENDING_DISCONNECT"}
		if o.AccountIDs == nil {
			o.AccountIDs = []string{}
		}
		if it.Status == store.StatusNeedsRefresh && it.Reason != "" {
			o.Remedy = str(itemRemedy(it.Reason))
		}
		out = append(out, o)
	}
	return out, nil
}

func (s *server) listItems(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.st.Business(r.Context(), id); err != nil {
		s.storeError(w, err)
		return
	}
	items, err := ListItems(r.Context(), s.st, id)
	if err != nil {
		internalError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, items)
}

func (s *server) deleteItem(w http.ResponseWriter, r *http.Request) {
	if s.noPlaid(w) {
		return
	}
	ctx := r.Context()
	it, ok := s.item(w, r, r.PathValue("item_id"))
	if !ok {
		return
	}
	if it.Status != store.StatusRemoved {
		access, err := s.st.Reveal(ctx, it.ID)
		if err != nil {
			internalError(w, err)
			return
		}
		if err := s.plaid.RemoveItem(ctx, access); err != nil {
			plaidFailure(w, err)
			return
		}
		if err := s.st.RemoveItem(ctx, it.ID); err != nil {
			internalError(w, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// itemRemedy says what fixes a flagged Item: Reconnect on the page (update
// mode) when the same Item can work again, else linking the bank anew.
// Processor-token remedies speak of PUTting tokens, which an Item has not.
func itemRemedy(code string) string {
	if !plaidapi.NeedsNewToken(code) && plaidapi.Classify("ITEM_ERROR", code, 400) == plaidapi.InvalidToken {
		return "the business presses Reconnect on the Bank Linking page (bankfeed link BUSINESS_ID prints its URL) and logs in again; the Item then works again"
	}
	return "the business links the bank again on the Bank Linking page, then this Item can be removed (DELETE …/plaid/items/ITEM_ID); Plaid says: " + plaidapi.Remedy(code)
}

// reconnected is what the page calls when Link finished in update mode:
// the owner says the login works again. The Item is probed at once (and
// synced when the probe succeeds) instead of at the next probe time; a
// LOGIN_REPAIRED webhook, when Plaid sends one, does the same.
func (s *server) reconnected(w http.ResponseWriter, r *http.Request) {
	it, ok := s.item(w, r, r.PathValue("item_id"))
	if !ok {
		return
	}
	if it.Status == store.StatusNeedsRefresh {
		if err := s.st.SetNextProbe(r.Context(), it.ID, s.now()); err != nil {
			internalError(w, err)
			return
		}
	}
	if s.onSync != nil && it.Status != store.StatusRemoved {
		s.onSync(it.ID)
	}
	writeJSON(w, http.StatusAccepted, struct{}{})
}
