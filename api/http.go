package api

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"bankfeed/store"
)

// Options configure the business API.
type Options struct {
	APIKeys []string       // bearer keys; only their SHA-256 hashes are kept
	Env     string         // PLAID_ENV, for the processor-token form check
	Log     zerolog.Logger // one line per request, never a body or a credential
	Now     func() time.Time
	MaxBody int64 // default 1 MiB

	// The bankfeed-managed Plaid connection. Plaid nil: its routes answer 503.
	Plaid      Plaid
	WebhookURL string // BANKFEED_WEBHOOK_URL: sent with every link token; "" for none
	// OnSync asks for a sync of one token or Item soon (a webhook, a new
	// Item); serve coalesces. Nil: the next scheduled run picks it up.
	OnSync func(tokenID int64)
	// LinkJSURL is where the page loads Plaid's link-initialize.js from.
	LinkJSURL string
	// ProbeInterval is when an Item flagged by a webhook is probed again.
	ProbeInterval time.Duration
}

// DefaultLinkJSURL is Plaid's Link script, the page's one external asset.
const DefaultLinkJSURL = "https://cdn.plaid.com/link/v2/stable/link-initialize.js"

// DefaultMaxBody is the largest request body the contract accepts.
const DefaultMaxBody = 1 << 20

// Enabled reports whether keys hold at least one usable API key. The
// contract keeps the API off without one, and the caller (serve) decides
// whether to listen at all: NewHandler without keys answers every request
// 401, which is safe but useless.
func Enabled(keys []string) bool {
	for _, k := range keys {
		if strings.TrimSpace(k) != "" {
			return true
		}
	}
	return false
}

type server struct {
	st      *store.Store
	env     string
	log     zerolog.Logger
	now     func() time.Time
	maxBody int64
	keys    [][sha256.Size]byte

	plaid         Plaid
	webhookURL    string
	onSync        func(int64)
	linkJSURL     string
	probeInterval time.Duration
	hooks         *verifier
}

// NewHandler serves the business API (design.md, "Contract: business
// API") over st. Every request must carry a valid bearer key.
func NewHandler(st *store.Store, o Options) http.Handler {
	s := &server{st: st, env: o.Env, log: o.Log, now: o.Now, maxBody: o.MaxBody,
		plaid: o.Plaid, webhookURL: o.WebhookURL, onSync: o.OnSync, linkJSURL: o.LinkJSURL, probeInterval: o.ProbeInterval}
	if s.now == nil {
		s.now = time.Now
	}
	if s.linkJSURL == "" {
		s.linkJSURL = DefaultLinkJSURL
	}
	if s.probeInterval <= 0 {
		s.probeInterval = 6 * time.Hour
	}
	s.hooks = &verifier{plaid: o.Plaid, now: s.now, keys: map[string]*ecdsa.PublicKey{}}
	if s.env == "" {
		s.env = "sandbox" // PLAID_ENV's contract default
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBody
	}
	for _, k := range o.APIKeys {
		// An empty key would let an empty bearer in.
		if k = strings.TrimSpace(k); k != "" {
			s.keys = append(s.keys, sha256.Sum256([]byte(k)))
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/businesses", platformOnly(s.createBusiness))
	mux.HandleFunc("GET /v1/businesses", platformOnly(s.listBusinesses))
	mux.HandleFunc("GET /v1/businesses/{id}/bank-transactions", platformOnly(s.listBankTransactions))
	mux.HandleFunc("GET /v1/businesses/{id}/ledger/balances", platformOnly(s.ledgerBalances))
	mux.HandleFunc("PUT /v1/businesses/{id}", platformOnly(s.putBusiness))
	mux.HandleFunc("GET /v1/businesses/{id}", platformOnly(s.getBusiness))
	mux.HandleFunc("POST /v1/businesses/{id}/scoped-tokens", platformOnly(s.createScopedToken))
	mux.HandleFunc("GET /v1/businesses/{id}/plaid/accounts", forBusiness(s.listAccounts))
	mux.HandleFunc("POST /v1/businesses/{id}/plaid/link-token", forBusiness(s.linkToken))
	mux.HandleFunc("POST /v1/businesses/{id}/plaid/items", forBusiness(s.addItem))
	mux.HandleFunc("GET /v1/businesses/{id}/plaid/items", forBusiness(s.listItems))
	mux.HandleFunc("DELETE /v1/businesses/{id}/plaid/items/{item_id}", forBusiness(s.deleteItem))
	mux.HandleFunc("POST /v1/businesses/{id}/plaid/items/{item_id}/reconnected", forBusiness(s.reconnected))
	// Authenticate before routing, so that without a key every path looks
	// the same (401) and the routes cannot be probed. The page and Plaid's
	// webhooks carry their own credentials (a scoped token in the page's
	// script, a signature on the webhook).
	top := http.NewServeMux()
	top.Handle("/", s.authenticate(jsonFallback(mux)))
	top.HandleFunc("GET /link", s.linkPage)
	top.HandleFunc("GET /link.js", s.linkScript)
	top.HandleFunc("POST /plaid/webhook", s.webhook)
	// The API's own description: public, like the README that documents it.
	top.HandleFunc("GET /openapi.json", serveOpenAPI)
	return s.logRequests(s.recoverPanics(top))
}

// tokenIn is one element of "plaid_processor_tokens".
type tokenIn struct {
	ProcessorToken string `json:"processor_token"`
}

type createRequest struct {
	ID         string    `json:"id"` // optional: lets a client retry a create without making two businesses
	ExternalID string    `json:"external_id"`
	LegalName  string    `json:"legal_name"`
	Tokens     []tokenIn `json:"plaid_processor_tokens"`
}

type putRequest struct {
	// A pointer tells a missing field (a client bug that must not remove
	// every token) from an explicit [] (remove all).
	Tokens *[]tokenIn `json:"plaid_processor_tokens"`
}

// businessOut is the business object every business route returns. Tokens
// are shown by hint, status and health, never whole.
type businessOut struct {
	ID         string     `json:"id"`
	ExternalID *string    `json:"external_id"`
	LegalName  *string    `json:"legal_name"`
	Tokens     []TokenOut `json:"plaid_processor_tokens"`
	CreatedAt  string     `json:"created_at"`
	UpdatedAt  string     `json:"updated_at"`
}

func (s *server) businessOut(b store.Business) businessOut {
	out := businessOut{ID: b.ID, ExternalID: str(b.ExternalID), LegalName: str(b.LegalName),
		Tokens: make([]TokenOut, 0, len(b.Tokens)), CreatedAt: formatTime(b.CreatedAt), UpdatedAt: formatTime(b.UpdatedAt)}
	now := s.now()
	for _, t := range b.Tokens {
		out.Tokens = append(out.Tokens, tokenOut(t, now))
	}
	return out
}

func (s *server) createBusiness(w http.ResponseWriter, r *http.Request) {
	var req *createRequest
	if !s.decode(w, r, &req) {
		return
	}
	id := req.ID
	if id == "" {
		id = newUUID()
	} else if err := store.CheckBusinessID(id); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", err.Error())
		return
	}
	b, err := s.st.CreateBusiness(r.Context(), store.BusinessInput{ID: id, ExternalID: req.ExternalID, LegalName: req.LegalName},
		s.env, tokenList(req.Tokens))
	if err != nil {
		s.storeError(w, err)
		return
	}
	w.Header().Set("Location", "/v1/businesses/"+b.ID)
	writeJSON(w, http.StatusCreated, s.businessOut(b))
}

func (s *server) putBusiness(w http.ResponseWriter, r *http.Request) {
	var req *putRequest
	if !s.decode(w, r, &req) {
		return
	}
	if req.Tokens == nil {
		writeError(w, http.StatusBadRequest, "invalid_body", "plaid_processor_tokens is required ([] removes every token)")
		return
	}
	b, err := s.st.PutTokens(r.Context(), r.PathValue("id"), s.env, tokenList(*req.Tokens), false)
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.businessOut(b))
}

func (s *server) getBusiness(w http.ResponseWriter, r *http.Request) {
	b, err := s.st.Business(r.Context(), r.PathValue("id"))
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.businessOut(b))
}

// listAccounts answers "List Plaid Accounts" with a bare JSON array of the
// objects of `accounts list --json`, as the contract says, rather than an
// envelope such as {"data": [...]}: one shape for the CLI and the API.
func (s *server) listAccounts(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	// An unknown business is a 404, not an empty list: a typo in the id
	// must not look like a business without accounts.
	if _, err := s.st.Business(r.Context(), id); err != nil {
		s.storeError(w, err)
		return
	}
	accts, err := ListAccounts(r.Context(), s.st, id)
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, accts)
}

// tokenList extracts the tokens in order, dropping repeats: a platform
// that lists a token twice means it once.
func tokenList(in []tokenIn) []string {
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, t := range in {
		if !seen[t.ProcessorToken] {
			seen[t.ProcessorToken] = true
			out = append(out, t.ProcessorToken)
		}
	}
	return out
}

// decode reads exactly one JSON object into *dst (a pointer to a pointer,
// so that a literal null is refused rather than read as {}), or writes
// the error response and returns false.
func (s *server) decode(w http.ResponseWriter, r *http.Request, dst any) bool {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" || (params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as Content-Type: application/json")
		return false
	}
	if r.ContentLength > s.maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", tooLarge(s.maxBody))
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.maxBody))
	dec.DisallowUnknownFields()
	err = dec.Decode(dst)
	if err == nil {
		// Anything after the object, even a second object, is a client
		// bug that silently ignoring would hide.
		if err = dec.Decode(&json.RawMessage{}); err == io.EOF {
			err = nil
		} else if err == nil {
			err = errTrailing
		}
	}
	if err == nil && isNil(dst) {
		err = errNotObject
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", tooLarge(s.maxBody))
	// encoding/json has no typed error for an unknown field: its message
	// prefix is the documented way to recognise one.
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		writeError(w, http.StatusBadRequest, "unknown_field", strings.TrimPrefix(err.Error(), "json: ")+" in the request body")
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "invalid_body", "the request body is empty: send a JSON object")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		writeError(w, http.StatusBadRequest, "invalid_body", "the request body is not valid JSON")
	case errors.As(err, &typ) && typ.Field != "":
		writeError(w, http.StatusBadRequest, "invalid_body", fmt.Sprintf("%s must be %s, not %s", typ.Field, jsonKind(typ.Type.String()), kindOf(typ.Value)))
	case errors.As(err, &typ), errors.Is(err, errNotObject):
		writeError(w, http.StatusBadRequest, "invalid_body", "the request body must be a JSON object")
	case errors.Is(err, errTrailing):
		writeError(w, http.StatusBadRequest, "invalid_body", "unexpected data after the JSON object")
	default:
		// A read error on the connection: nothing useful to tell.
		writeError(w, http.StatusBadRequest, "invalid_body", "the request body could not be read")
	}
	return false
}

var (
	errTrailing  = errors.New("trailing data")
	errNotObject = errors.New("not an object")
)

func tooLarge(n int64) string {
	return fmt.Sprintf("the request body is over %d bytes", n)
}

func isNil(dst any) bool {
	switch p := dst.(type) {
	case **createRequest:
		return *p == nil
	case **putRequest:
		return *p == nil
	case **linkTokenRequest:
		return *p == nil
	case **itemRequest:
		return *p == nil
	}
	return false
}

// jsonKind names a Go type the way a JSON client thinks of it.
func jsonKind(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	default:
		return "an object"
	}
}

// kindOf keeps only the JSON kind of an offending value ("number 5" ->
// "a number"): values are never echoed.
func kindOf(v string) string {
	k, _, _ := strings.Cut(v, " ")
	switch k {
	case "array", "object":
		return "an " + k
	case "":
		return "this"
	}
	return "a " + k
}

// storeError maps the store's outcomes onto the contract's statuses. Its
// messages for the client-caused ones never contain a token (the store
// names tokens by hint only); anything else is ours and stays in the log.
func (s *server) storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrBadToken):
		writeError(w, http.StatusBadRequest, "invalid_token", err.Error())
	case errors.Is(err, store.ErrBadBusinessID):
		writeError(w, http.StatusBadRequest, "invalid_body", err.Error())
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	default:
		internalError(w, err)
	}
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{errorDetail{Code: code, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		internalError(w, fmt.Errorf("encode response: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
