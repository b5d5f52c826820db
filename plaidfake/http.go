package plaidfake

import (
	"bufio"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	pathSync    = "/processor/transactions/sync"
	pathBalance = "/processor/balance/get"
	pathAccount = "/processor/account/get"
)

type callKey struct{ token, path string }

// Calls counts the token's requests to an endpoint path, failed ones included.
func (s *Server) Calls(token, endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[callKey{token, endpoint}]
}

func (s *Server) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.times)
}

// CallTimes lists every request's arrival, for rate-limit assertions.
func (s *Server) CallTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.times...)
}

func newRand(seed int64) *rand.Rand { return rand.New(rand.NewPCG(uint64(seed), 0x7a1)) }

// request is the union of the request bodies the fake serves.
type request struct {
	ProcessorToken string  `json:"processor_token"`
	AccessToken    *string `json:"access_token"` // null in a link token request outside update mode
	PublicToken    string  `json:"public_token"`
	Cursor         *string `json:"cursor"`
	Count          *int    `json:"count"`
	Options        *struct {
		IncludeOriginalDescription *bool         `json:"include_original_description"`
		DaysRequested              *int          `json:"days_requested"`
		MinLastUpdated             *string       `json:"min_last_updated_datetime"`
		Webhook                    *string       `json:"webhook"`
		Transactions               *transactions `json:"transactions"`
	} `json:"options"`
	InstitutionID   string    `json:"institution_id"`
	InitialProducts []string  `json:"initial_products"`
	Products        *[]string `json:"products"`
	ClientName      string    `json:"client_name"`
	Language        string    `json:"language"`
	CountryCodes    []string  `json:"country_codes"`
	User            *struct {
		ClientUserID string `json:"client_user_id"`
	} `json:"user"`
	Transactions *transactions `json:"transactions"`
	Webhook      *string       `json:"webhook"`
	KeyID        string        `json:"key_id"`
	ClientID     string        `json:"client_id"`
	Secret       string        `json:"secret"`
}

type transactions struct {
	DaysRequested *int `json:"days_requested"`
}

// token is what a request is about, for call counts and faults.
func (r *request) token() string {
	return cmp.Or(r.ProcessorToken, deref(r.AccessToken), r.PublicToken)
}

type apiError struct {
	ErrorType        string  `json:"error_type"`
	ErrorCode        string  `json:"error_code"`
	ErrorMessage     string  `json:"error_message"`
	DisplayMessage   *string `json:"display_message"`
	RequestID        string  `json:"request_id"`
	ErrorCodeReason  *string `json:"error_code_reason"`
	DocumentationURL string  `json:"documentation_url"`
	SuggestedAction  *string `json:"suggested_action"`
	status           int
	retryAfter       time.Duration // sent as Retry-After when > 0
}

func plaidError(code, msg string) *apiError {
	return typedError(code, "", msg)
}

// typedError is plaidError for a code that may be new to the fake: typ,
// when set, is its error_type unless the fake's table knows better.
func typedError(code, typ, msg string) *apiError {
	t, status, known := lookup(code)
	if !known && typ != "" {
		t, status = typ, typeStatus(typ)
	}
	return newAPIError(code, t, status, msg)
}

func newAPIError(code, typ string, status int, msg string) *apiError {
	if msg == "" {
		msg = strings.ToLower(strings.ReplaceAll(code, "_", " "))
	}
	page := strings.ToLower(strings.ReplaceAll(strings.TrimSuffix(typ, "_ERROR"), "_", "-"))
	return &apiError{ErrorType: typ, ErrorCode: code, ErrorMessage: msg, status: status,
		DocumentationURL: "https://plaid.com/docs/errors/" + page + "/#" + strings.ToLower(code)}
}

func (s *Server) authorized(r *http.Request, req *request) bool {
	if s.clientID == "" && s.secret == "" {
		return true
	}
	return r.Header.Get("PLAID-CLIENT-ID") == s.clientID && r.Header.Get("PLAID-SECRET") == s.secret ||
		req.ClientID == s.clientID && req.Secret == s.secret
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var req request
	bodyErr := json.Unmarshal(body, &req)
	path := r.URL.Path

	s.mu.Lock()
	s.times = append(s.times, time.Now())
	s.nreq++
	rid := fmt.Sprintf("req-%06d", s.nreq)
	s.calls[callKey{req.token(), path}]++
	var pe *apiError
	var f *Fault
	switch {
	case r.Method != http.MethodPost || !served[path]:
		pe = plaidError("NOT_FOUND", "not found: "+r.Method+" "+path)
	case bodyErr != nil:
		pe = plaidError("INVALID_BODY", "body could not be parsed as JSON: "+bodyErr.Error())
	case !s.authorized(r, &req):
		pe = plaidError("INVALID_API_KEYS", "invalid client_id or secret provided")
	default:
		if f = s.takeFault(req.token(), path); f == nil {
			if code := s.transient(path); code != "" {
				pe = plaidError(code, "")
			}
		}
	}
	release := s.release
	s.mu.Unlock()

	ctx := r.Context()
	if !wait(ctx, s.latency, nil) {
		return
	}
	kind := FaultKind(-1)
	if f != nil {
		kind = f.Kind
		switch f.Kind {
		case FaultPlaidError:
			pe = typedError(cmp.Or(f.Code, "INTERNAL_SERVER_ERROR"), f.Type, "")
		case FaultStall:
			if !wait(ctx, f.Stall, release) {
				return
			}
		case FaultHTML502:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n")
			return
		}
	}
	var resp any
	if pe == nil {
		s.mu.Lock()
		resp, pe = s.answer(path, &req, rid, kind)
		s.mu.Unlock()
	}
	if pe != nil {
		pe.RequestID = rid
		if pe.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((pe.retryAfter+time.Second-1)/time.Second)))
		}
		writeJSON(w, pe.status, pe)
		return
	}
	if kind == FaultHuge {
		writeHuge(w, resp, rid)
		return
	}
	out, err := json.Marshal(resp)
	if err != nil {
		panic(err) // every value here is built by this package
	}
	switch kind {
	case FaultTruncated:
		out = out[:len(out)/2]
	case FaultMissingFields:
		out = stripFields(out)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// wait sleeps for d, or until release is closed when d is 0, and reports
// whether the client is still there.
func wait(ctx context.Context, d time.Duration, release <-chan struct{}) bool {
	var timeout <-chan time.Time
	switch {
	case d > 0:
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	case release == nil:
		return ctx.Err() == nil
	}
	select {
	case <-timeout:
	case <-release:
	case <-ctx.Done():
		return false
	}
	return true
}

type accountResp struct {
	Account       *wireAccount `json:"account"`
	InstitutionID string       `json:"institution_id,omitempty"`
	RequestID     string       `json:"request_id"`
}

// answer builds the normal response, then lets a data fault spoil it.
func (s *Server) answer(path string, req *request, rid string, kind FaultKind) (any, *apiError) {
	switch path {
	case pathSync, pathBalance, pathAccount:
		return s.answerProcessor(path, req, rid, kind)
	}
	return s.answerLink(path, req, rid)
}

func (s *Server) answerProcessor(path string, req *request, rid string, kind FaultKind) (any, *apiError) {
	if req.ProcessorToken == "" {
		return nil, plaidError("MISSING_FIELDS", "the following required fields are missing: processor_token")
	}
	t := s.tokens[req.ProcessorToken]
	if t == nil || t.invalid {
		return nil, plaidError("INVALID_PROCESSOR_TOKEN", "provided processor token is in an invalid format or has been revoked")
	}
	a := t.acct
	if pe := s.limit(a.it, path); pe != nil {
		return nil, pe
	}
	if code := a.it.failure(); code != "" {
		return nil, plaidError(code, "")
	}
	switch path {
	case pathBalance:
		at, pe := s.capitalOneRule(a, req)
		if pe != nil {
			return nil, pe
		}
		r := &accountResp{Account: a.wire(&a.sums, at), RequestID: rid}
		s.spoilBalances(r.Account, kind)
		return r, nil
	case pathAccount:
		r := &accountResp{Account: s.pulledWire(a), InstitutionID: a.InstitutionID, RequestID: rid}
		s.spoilBalances(r.Account, kind)
		return r, nil
	}
	if kind == FaultEndless {
		// Ahead of cursor parsing: the cursors it hands out are not real ones.
		return &syncResp{Account: s.pulledWire(a), Added: []wireTxn{}, Modified: []wireTxn{}, Removed: []removedTxn{}, HasMore: true,
			NextCursor: base64.StdEncoding.EncodeToString([]byte("pf1:endless:" + rid)),
			RequestID:  rid, Status: "HISTORICAL_UPDATE_COMPLETE"}, nil
	}
	r, pe := s.sync(a, req, rid)
	if pe == nil {
		s.spoilSync(a, r, req, rid, kind)
	}
	return r, pe
}

func (s *Server) foreignAccount(a *account) string {
	for _, o := range s.order {
		if o != a {
			return o.ID
		}
	}
	return "foreign-" + a.ID
}

func (s *Server) spoilBalances(acc *wireAccount, kind FaultKind) {
	b := &acc.Balances
	switch kind {
	case FaultWrongTypes:
		b.Current = json.RawMessage(`"12.50"`)
	case FaultBothCurrencies:
		b.ISOCurrency, b.UnofficialCurrency = ptr("USD"), ptr("BTC")
	case FaultNoCurrency:
		b.ISOCurrency, b.UnofficialCurrency = nil, nil
	case FaultUnknownCurrency:
		b.ISOCurrency, b.UnofficialCurrency = ptr("XYZ"), nil
	case FaultTooPrecise:
		b.Current, b.ISOCurrency, b.UnofficialCurrency = json.RawMessage("1.234"), ptr("USD"), nil
	}
}

func (s *Server) spoilSync(a *account, r *syncResp, req *request, rid string, kind FaultKind) {
	switch kind {
	case FaultHasMoreStuck:
		r.HasMore, r.NextCursor = true, deref(req.Cursor)
		return
	case FaultHasMoreEmptyCursor:
		r.HasMore, r.NextCursor = true, ""
		return
	case FaultWrongTypes, FaultMissingFields, FaultBothCurrencies, FaultNoCurrency,
		FaultUnknownCurrency, FaultTooPrecise, FaultForeignAccount:
	default:
		return
	}
	if len(r.Added) == 0 {
		r.Added = append(r.Added, wire(&Txn{ID: "fault" + rid, AccountID: a.ID, Amount: "12.50", Date: "2024-01-02",
			Name: "FAULTY TRANSACTION", PaymentChannel: "other", ISOCurrency: a.ISOCurrency, UnofficialCurrency: a.UnofficialCurrency}, false))
	}
	t := &r.Added[0]
	switch kind {
	case FaultWrongTypes:
		t.Amount = json.RawMessage(`"12.50"`)
	case FaultBothCurrencies:
		t.ISOCurrency, t.UnofficialCurrency = ptr("USD"), ptr("BTC")
	case FaultNoCurrency:
		t.ISOCurrency, t.UnofficialCurrency = nil, nil
	case FaultUnknownCurrency:
		t.ISOCurrency, t.UnofficialCurrency = ptr("XYZ"), nil
	case FaultTooPrecise:
		t.Amount, t.ISOCurrency, t.UnofficialCurrency = json.RawMessage("1.234"), ptr("USD"), nil
	case FaultForeignAccount:
		t.AccountID = s.foreignAccount(a)
	}
}

// stripFields removes what FaultMissingFields promises to remove, keeping
// numbers exact.
func stripFields(body []byte) []byte {
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(string(body)))
	d.UseNumber()
	if d.Decode(&m) != nil {
		return body
	}
	delete(m, "request_id")
	if added, ok := m["added"].([]any); ok {
		for _, t := range added {
			delete(t.(map[string]any), "transaction_id")
			delete(t.(map[string]any), "date")
		}
	}
	if acc, ok := m["account"].(map[string]any); ok && m["added"] == nil {
		delete(acc, "account_id")
	}
	out, _ := json.Marshal(m)
	return out
}

// writeHuge streams a body just over 64 MiB made of repeats of a real
// transaction, so clients must cap what they read rather than trust it.
func writeHuge(w http.ResponseWriter, resp any, rid string) {
	const limit = 64<<20 + 1<<16
	acc, sample := &wireAccount{}, wire(&Txn{AccountID: "huge", Amount: "1.00", Date: "2024-01-02", Name: "HUGE", PaymentChannel: "other", ISOCurrency: "USD"}, false)
	switch r := resp.(type) {
	case *syncResp:
		acc = r.Account
		if len(r.Added) > 0 {
			sample = r.Added[0]
		}
	case *accountResp:
		acc = r.Account
	}
	w.Header().Set("Content-Type", "application/json")
	bw := bufio.NewWriterSize(w, 1<<16)
	head, _ := json.Marshal(acc)
	fmt.Fprintf(bw, `{"account":%s,"added":[`, head)
	// Marshal once and stamp a counter into the id, as the body is huge.
	sample.TransactionID = strings.Repeat("0", 37)
	t, _ := json.Marshal(sample)
	at := strings.Index(string(t), sample.TransactionID) + 37 - 12
	for n, i := len(head), 0; n < limit; i++ {
		if i > 0 {
			bw.WriteByte(',')
		}
		copy(t[at:], fmt.Appendf(nil, "%012d", i))
		if _, err := bw.Write(t); err != nil {
			return
		}
		n += len(t) + 1
	}
	fmt.Fprintf(bw, `],"modified":[],"removed":[],"next_cursor":"","has_more":false,"request_id":%q,"transactions_update_status":"HISTORICAL_UPDATE_COMPLETE"}`, rid)
	bw.Flush()
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// capitalOneRule applies Plaid's rule for Capital One's non-depository
// accounts, whose balances are not real-time: the caller must say how old a
// balance it accepts. It returns when Plaid last learned the balance.
func (s *Server) capitalOneRule(a *account, req *request) (time.Time, *apiError) {
	at := a.updated
	if s.pulls && a.pulled.at.After(at) {
		at = a.pulled.at
	}
	if a.InstitutionID != capitalOne {
		return at, nil
	}
	var raw *string
	if req.Options != nil {
		raw = req.Options.MinLastUpdated
	}
	if raw == nil {
		if a.Type == "depository" {
			return at, nil
		}
		return at, plaidError("INVALID_FIELD", "options.min_last_updated_datetime is required for this account")
	}
	min, err := time.Parse(time.RFC3339Nano, *raw)
	if err != nil {
		return at, plaidError("INVALID_FIELD", "options.min_last_updated_datetime must be an ISO 8601 date-time")
	}
	if at.Before(min) {
		return at, plaidError("LAST_UPDATED_DATETIME_OUT_OF_RANGE",
			"the account's balance was last updated before options.min_last_updated_datetime")
	}
	return at, nil
}

// WithRateLimit limits each Item to perItem calls per
// endpoint within window, as Plaid does per minute: the next call gets 429
// RATE_LIMIT_EXCEEDED (TRANSACTIONS_SYNC_LIMIT, BALANCE_LIMIT or
// ACCOUNTS_LIMIT), with a Retry-After header in whole seconds, rounded up,
// when retryAfter is set (Plaid documents none). Refused calls do not count.
// The window is read on the fake's clock (WithClock).
func WithRateLimit(perItem int, window time.Duration, retryAfter bool) Option {
	return func(s *Server) {
		s.ratePer, s.rateWindow, s.retryAfter = perItem, window, retryAfter
		s.rateCalls = map[rateKey][]time.Time{}
	}
}

type rateKey struct {
	it   *item
	path string
}

var limitCodes = map[string]string{pathSync: "TRANSACTIONS_SYNC_LIMIT", pathBalance: "BALANCE_LIMIT", pathAccount: "ACCOUNTS_LIMIT",
	pathItemSync: "TRANSACTIONS_SYNC_LIMIT", pathAccountsGet: "ACCOUNTS_LIMIT"}

func (s *Server) limit(it *item, path string) *apiError {
	if s.ratePer <= 0 || limitCodes[path] == "" {
		return nil
	}
	now, k := s.now(), rateKey{it, path}
	calls := s.rateCalls[k]
	for len(calls) > 0 && !calls[0].Add(s.rateWindow).After(now) {
		calls = calls[1:]
	}
	if len(calls) >= s.ratePer {
		s.rateCalls[k] = calls
		pe := plaidError(limitCodes[path], "rate limit exceeded for this Item")
		if s.retryAfter {
			pe.retryAfter = max(calls[0].Add(s.rateWindow).Sub(now), time.Nanosecond)
		}
		return pe
	}
	s.rateCalls[k] = append(calls, now)
	return nil
}
