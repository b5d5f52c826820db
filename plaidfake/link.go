package plaidfake

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The Link side: what an app that links banks itself calls, so that the
// whole flow (link token, public token, exchange, accounts, Item sync,
// removal) runs against the fake.
const (
	pathItemSync      = "/transactions/sync"
	pathLinkToken     = "/link/token/create"
	pathSandboxPublic = "/sandbox/public_token/create"
	pathExchange      = "/item/public_token/exchange"
	pathAccountsGet   = "/accounts/get"
	pathItemRemove    = "/item/remove"
	pathWebhookUpdate = "/processor/token/webhook/update"
	pathItemWebhook   = "/item/webhook/update"
	pathWebhookKey    = "/webhook_verification_key/get"
)

var served = map[string]bool{
	pathSync: true, pathBalance: true, pathAccount: true,
	pathItemSync: true, pathLinkToken: true, pathSandboxPublic: true, pathExchange: true,
	pathAccountsGet: true, pathItemRemove: true, pathWebhookUpdate: true, pathWebhookKey: true,
	pathItemWebhook: true,
}

// LinkTokenRequest is what a /link/token/create call asked for.
type LinkTokenRequest struct {
	LinkToken     string // what the fake answered
	ClientName    string
	ClientUserID  string
	Products      []string // nil when the request had no products
	DaysRequested int      // transactions.days_requested; 0 when absent
	Webhook       string
	AccessToken   string // update mode; "" otherwise
	CountryCodes  []string
	Language      string
}

// LinkTokenRequests lists every accepted /link/token/create request, oldest
// first.
func (s *Server) LinkTokenRequests() []LinkTokenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]LinkTokenRequest, len(s.links))
	for i, l := range s.links {
		out[i] = l
		out[i].Products = slices.Clone(l.Products)
		out[i].CountryCodes = slices.Clone(l.CountryCodes)
	}
	return out
}

type publicToken struct {
	it        *item
	exchanged bool
}

func (s *Server) uuid(prefix string) string {
	x, y := s.next(), s.next()
	return fmt.Sprintf("%s-%s-%08x-%04x-%04x-%04x-%012x", prefix, s.env, x>>32, x>>16&0xffff, x&0xffff, y>>48, y&0xffffffffffff)
}

// answerLink serves the Link-side endpoints.
func (s *Server) answerLink(path string, req *request, rid string) (any, *apiError) {
	switch path {
	case pathLinkToken:
		return s.linkTokenCreate(req, rid)
	case pathSandboxPublic:
		return s.sandboxPublicToken(req, rid)
	case pathExchange:
		return s.exchange(req, rid)
	case pathWebhookUpdate:
		return s.webhookUpdate(req, rid)
	case pathWebhookKey:
		return s.webhookKey(req, rid)
	}
	it, pe := s.itemFor(req, path)
	if pe != nil {
		return nil, pe
	}
	switch path {
	case pathAccountsGet:
		return s.accountsGet(it, rid), nil
	case pathItemRemove:
		it.removed = true
		return &struct {
			RequestID string `json:"request_id"`
		}{rid}, nil
	case pathItemWebhook:
		return s.itemWebhookUpdate(it, req, rid), nil
	}
	return s.itemSync(it, req, rid)
}

// itemFor finds the access token's Item and applies what every call about
// an Item meets: its rate limit and its error.
func (s *Server) itemFor(req *request, path string) (*item, *apiError) {
	tok := deref(req.AccessToken)
	if tok == "" {
		return nil, plaidError("MISSING_FIELDS", "the following required fields are missing: access_token")
	}
	it := s.access[tok]
	if it == nil {
		return nil, plaidError("INVALID_ACCESS_TOKEN", "provided access token is in an invalid format or does not exist")
	}
	if pe := s.limit(it, path); pe != nil {
		return nil, pe
	}
	// An Item that needs a login can still be removed.
	if code := it.failure(); code != "" && (path != pathItemRemove || it.removed) {
		return nil, plaidError(code, "")
	}
	return it, nil
}

func missing(fields ...string) *apiError {
	return plaidError("MISSING_FIELDS", "the following required fields are missing: "+strings.Join(fields, ", "))
}

func daysRange(d *int) *apiError {
	if d != nil && (*d < 1 || *d > 730) {
		return plaidError("INVALID_FIELD", "days_requested must be between 1 and 730")
	}
	return nil
}

func (s *Server) linkTokenCreate(req *request, rid string) (any, *apiError) {
	var gaps []string
	if req.ClientName == "" {
		gaps = append(gaps, "client_name")
	}
	if req.Language == "" {
		gaps = append(gaps, "language")
	}
	if len(req.CountryCodes) == 0 {
		gaps = append(gaps, "country_codes")
	}
	if req.User == nil || req.User.ClientUserID == "" {
		gaps = append(gaps, "user.client_user_id")
	}
	update := deref(req.AccessToken) != ""
	if !update && (req.Products == nil || len(*req.Products) == 0) {
		gaps = append(gaps, "products")
	}
	if len(gaps) > 0 {
		return nil, missing(gaps...)
	}
	l := LinkTokenRequest{ClientName: req.ClientName, ClientUserID: req.User.ClientUserID, Webhook: deref(req.Webhook),
		AccessToken: deref(req.AccessToken), CountryCodes: req.CountryCodes, Language: req.Language}
	if req.Products != nil {
		l.Products = append([]string{}, *req.Products...)
	}
	if req.Transactions != nil {
		if pe := daysRange(req.Transactions.DaysRequested); pe != nil {
			return nil, pe
		}
		l.DaysRequested = deref(req.Transactions.DaysRequested)
	}
	if update {
		// Plaid's spec: in update mode products must be left out; the
		// Item keeps the ones it has.
		if req.Products != nil {
			return nil, plaidError("INVALID_FIELD", "products must not be set in update mode (access_token given)")
		}
		it := s.access[l.AccessToken]
		if it == nil {
			return nil, plaidError("INVALID_ACCESS_TOKEN", "provided access token is in an invalid format or does not exist")
		}
		if it.removed {
			return nil, plaidError("ITEM_NOT_FOUND", "")
		}
	}
	l.LinkToken = s.uuid("link")
	s.linkTokens[l.LinkToken] = len(s.links)
	s.links = append(s.links, l)
	return &struct {
		LinkToken  string `json:"link_token"`
		Expiration string `json:"expiration"`
		RequestID  string `json:"request_id"`
	}{l.LinkToken, s.now().Add(4 * time.Hour).Format(time.RFC3339), rid}, nil
}

// LinkSuccess plays the end user finishing Link with the link token, and
// returns the public_token Link's onSuccess would hand over: a new Item at
// ins_109508 with the default accounts, initialised with the token's
// transactions.days_requested (90 when unset) and webhook. In update mode
// (the link token was made with an access token) it repairs the Item's
// login instead and returns "", as there is nothing to exchange.
func (s *Server) LinkSuccess(linkToken string) (publicToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.linkTokens[linkToken]
	if !ok {
		panic(fmt.Sprintf("plaidfake: unknown link token %q", linkToken))
	}
	l := s.links[i]
	if l.AccessToken != "" {
		if it := s.access[l.AccessToken]; it != nil && !it.removed {
			it.err = ""
		}
		return ""
	}
	days := 0
	if slices.Contains(l.Products, "transactions") {
		days = cmp.Or(l.DaysRequested, 90)
	}
	return s.newPublicItemLocked("ins_109508", days, l.Webhook)
}

func (s *Server) sandboxPublicToken(req *request, rid string) (any, *apiError) {
	var gaps []string
	if req.InstitutionID == "" {
		gaps = append(gaps, "institution_id")
	}
	if len(req.InitialProducts) == 0 {
		gaps = append(gaps, "initial_products")
	}
	if len(gaps) > 0 {
		return nil, missing(gaps...)
	}
	days, webhook := 0, ""
	if slices.Contains(req.InitialProducts, "transactions") {
		days = 90
	}
	if o := req.Options; o != nil {
		webhook = deref(o.Webhook)
		if o.Transactions != nil {
			if pe := daysRange(o.Transactions.DaysRequested); pe != nil {
				return nil, pe
			}
			if d := deref(o.Transactions.DaysRequested); d != 0 && days != 0 {
				days = d
			}
		}
	}
	return &struct {
		PublicToken string `json:"public_token"`
		RequestID   string `json:"request_id"`
	}{s.newPublicItemLocked(req.InstitutionID, days, webhook), rid}, nil
}

// newPublicItemLocked links a new Item with the default accounts and
// returns a public token for it. days > 0 initialises Transactions, as
// linking with the transactions product does.
func (s *Server) newPublicItemLocked(institution string, days int, webhook string) string {
	it := s.newItemLocked(institution, HistoryReady)
	it.webhook = webhook
	if days > 0 {
		s.fixWindow(it, days)
	}
	s.seedDefaultAccounts(it)
	s.pullLocked(it) // linking fetches the accounts and their history
	tok := s.uuid("public")
	s.public[tok] = &publicToken{it: it}
	return tok
}

// defaultRows are "days ago|name|amount|pending" with Plaid's sign.
var defaultChecking = `
1|INTRST PYMNT|-4.22|false
3|United Airlines|500.00|false
9|Touchstone Climbing|78.50|false
14|Uber 063015 SF**POOL**|5.40|false
40|CREDIT CARD 3333 PAYMENT *//|25.00|false
0|Madison Bicycle Shop|500.00|true`

var defaultCard = `
2|McDonald's|12.00|false
5|Starbucks|4.33|false
12|SparkFun|89.40|false
33|KFC|500.00|false
0|Tectra Inc|500.00|true`

// seedDefaultAccounts gives a freshly linked Item a checking account and a
// credit card, with a few transactions each dated back from the fake's now.
func (s *Server) seedDefaultAccounts(it *item) {
	for _, d := range []struct {
		acc  Account
		rows string
	}{
		{Account{Name: "Plaid Checking", OfficialName: "Plaid Gold Standard 0% Interest Checking", Mask: "0000",
			Type: "depository", Subtype: "checking", Opening: "1210.00"}, defaultChecking},
		{Account{Name: "Plaid Credit Card", OfficialName: "Plaid Diamond 12.5% APR Interest Credit Card", Mask: "3333",
			Type: "credit", Subtype: "credit card", Opening: "410.00", Limit: "2000.00"}, defaultCard},
	} {
		a := s.addToItemLocked(it, d.acc)
		var edits []edit
		for _, line := range strings.Split(strings.TrimSpace(d.rows), "\n") {
			f := strings.Split(line, "|")
			var ago int
			fmt.Sscan(f[0], &ago)
			t := s.prepare(Txn{AccountID: a.ID, Date: s.now().AddDate(0, 0, -ago).Format(time.DateOnly),
				Name: f[1], Amount: f[2], Pending: f[3] == "true"}, a)
			edits = append(edits, edit{t.ID, t})
		}
		a.record(s.now(), edits...)
	}
}

func (s *Server) exchange(req *request, rid string) (any, *apiError) {
	if req.PublicToken == "" {
		return nil, missing("public_token")
	}
	p := s.public[req.PublicToken]
	if p == nil || p.exchanged {
		// Plaid's answer for a public token that is unknown, expired or
		// already exchanged: each is good for one exchange.
		return nil, plaidError("INVALID_PUBLIC_TOKEN", "provided public token is expired, has already been exchanged or is in an invalid format")
	}
	p.exchanged = true
	it := p.it
	it.access = s.uuid("access")
	s.access[it.access] = it
	return &struct {
		AccessToken string `json:"access_token"`
		ItemID      string `json:"item_id"`
		RequestID   string `json:"request_id"`
	}{it.access, it.id, rid}, nil
}

type wireItem struct {
	ItemID                string    `json:"item_id"`
	InstitutionID         string    `json:"institution_id"`
	Webhook               *string   `json:"webhook"`
	Error                 *struct{} `json:"error"` // calls fail while the Item is in error
	AvailableProducts     []string  `json:"available_products"`
	BilledProducts        []string  `json:"billed_products"`
	Products              []string  `json:"products"`
	ConsentExpirationTime *string   `json:"consent_expiration_time"`
	UpdateType            string    `json:"update_type"`
}

func (s *Server) accountsGet(it *item, rid string) any {
	accts := make([]*wireAccount, 0, len(it.accounts))
	for _, a := range it.accounts {
		accts = append(accts, s.pulledWire(a))
	}
	return &struct {
		Accounts  []*wireAccount `json:"accounts"`
		Item      wireItem       `json:"item"`
		RequestID string         `json:"request_id"`
	}{accts, wireItem{ItemID: it.id, InstitutionID: it.institution, Webhook: orNull(it.webhook),
		AvailableProducts: []string{"balance", "auth"}, BilledProducts: []string{"transactions"},
		Products: []string{"transactions"}, UpdateType: "background"}, rid}
}

type itemSyncResp struct {
	Accounts   []*wireAccount `json:"accounts"`
	Added      []wireTxn      `json:"added"`
	Modified   []wireTxn      `json:"modified"`
	Removed    []removedTxn   `json:"removed"`
	NextCursor string         `json:"next_cursor"`
	HasMore    bool           `json:"has_more"`
	RequestID  string         `json:"request_id"`
	Status     string         `json:"transactions_update_status"`
}

// itemSync answers /transactions/sync: one cursor for the whole Item, and
// every page carries all of its accounts.
func (s *Server) itemSync(it *item, req *request, rid string) (any, *apiError) {
	pg, pe := s.syncPage(it, nil, it.id, it.access, req)
	if pe != nil {
		return nil, pe
	}
	r := &itemSyncResp{Accounts: []*wireAccount{}, Added: pg.added, Modified: pg.modified, Removed: pg.removed,
		NextCursor: pg.next, HasMore: pg.hasMore, RequestID: rid, Status: pg.status.String()}
	if pg.status != phaseNotReady {
		for _, a := range it.accounts {
			r.Accounts = append(r.Accounts, s.pulledWire(a))
		}
	}
	return r, nil
}

func (s *Server) webhookUpdate(req *request, rid string) (any, *apiError) {
	if req.ProcessorToken == "" {
		return nil, missing("processor_token")
	}
	t := s.tokens[req.ProcessorToken]
	if t == nil || t.invalid {
		return nil, plaidError("INVALID_PROCESSOR_TOKEN", "provided processor token is in an invalid format or has been revoked")
	}
	if t.acct.it.removed {
		return nil, plaidError("ITEM_NOT_FOUND", "")
	}
	t.webhook = deref(req.Webhook)
	return &struct {
		RequestID string `json:"request_id"`
	}{rid}, nil
}

// itemWebhookUpdate moves the Item's webhooks to the URL asked for and, as
// Plaid does, tells the new URL with WEBHOOK_UPDATE_ACKNOWLEDGED.
func (s *Server) itemWebhookUpdate(it *item, req *request, rid string) any {
	it.webhook = deref(req.Webhook)
	if s.hooks.on && it.webhook != "" {
		s.deliverLocked(it.webhook, map[string]any{"webhook_type": "ITEM", "webhook_code": "WEBHOOK_UPDATE_ACKNOWLEDGED",
			"item_id": it.id, "error": nil, "new_webhook_url": it.webhook, "environment": s.env})
	}
	return &struct {
		Item      wireItem `json:"item"`
		RequestID string   `json:"request_id"`
	}{wireItem{ItemID: it.id, InstitutionID: it.institution, Webhook: orNull(it.webhook),
		AvailableProducts: []string{"balance", "auth"}, BilledProducts: []string{"transactions"},
		Products: []string{"transactions"}, UpdateType: "background"}, rid}
}

// ItemWebhookURL is the webhook URL the Item sends to ("" when none).
func (s *Server) ItemWebhookURL(itemID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it := s.item(itemID); it != nil {
		return it.webhook
	}
	return ""
}

// ProcessorWebhook is the URL /processor/token/webhook/update last set for
// the token ("" when none).
func (s *Server) ProcessorWebhook(processorToken string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[processorToken]; t != nil {
		return t.webhook
	}
	return ""
}

// ItemAccounts lists the ids of the Item's accounts, in the order Plaid
// reports them.
func (s *Server) ItemAccounts(itemID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, a := range s.item(itemID).accounts {
		out = append(out, a.ID)
	}
	return out
}

func (s *Server) item(id string) *item {
	for _, it := range s.items {
		if it.id == id {
			return it
		}
	}
	panic(fmt.Sprintf("plaidfake: unknown Item %q", id))
}
