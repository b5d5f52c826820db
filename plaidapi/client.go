// Package plaidapi is bankfeed's only door to Plaid: it calls the processor
// endpoints through plaid-go, retries what is worth retrying, classifies
// every failure, and hands back exact, validated values. No float and no
// plaid-go type leaves this package.
package plaidapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/plaid/plaid-go/v29/plaid"
	"golang.org/x/time/rate"
)

// Config configures a Client. Zero values take the defaults noted.
type Config struct {
	BaseURL         string                                           // e.g. https://sandbox.plaid.com or a local fake; required
	ClientID        string                                           //
	Secret          string                                           // revealed value; never logged or put in errors
	Timeout         time.Duration                                    // per HTTP request, body included (default 90s)
	RatePerMin      int                                              // client-wide calls per minute (0 = unlimited)
	RetryMax        int                                              // attempts per call including the first (default 5)
	RetryMaxElapsed time.Duration                                    // cap on time spent retrying one call (default 2m)
	MaxBody         int64                                            // response body limit in bytes (default 32 MiB)
	HTTPClient      *http.Client                                     // optional; copied, and its Transport wrapped
	Sleep           func(ctx context.Context, d time.Duration) error // optional, for tests
	DaysRequested   int                                              // history Plaid keeps for a new Item, 1..730 (default 730)
	// OnCall, when set, is told of every HTTP attempt: the endpoint (Plaid's
	// path, e.g. /processor/transactions/sync) and the outcome ("ok", Plaid's
	// error_code, "4xx"/"5xx" without one, "too_large" for a body over
	// MaxBody, or "no_response"). Neither ever
	// holds a token. It must be safe for concurrent use.
	OnCall func(endpoint, outcome string)
}

const (
	defaultTimeout         = 90 * time.Second
	defaultRetryMax        = 5
	defaultRetryMaxElapsed = 2 * time.Minute
	defaultMaxBody         = 32 << 20

	backoffBase = 250 * time.Millisecond
	backoffCap  = 30 * time.Second

	// Plaid's rate limits are per Item and per minute (plaid-facts §6):
	// retrying within seconds only gets refused again. A refused call waits
	// out the window instead, and these waits have their own allowance, so
	// that neither RetryMax nor RetryMaxElapsed cuts them short.
	rateWindow    = time.Minute
	rateJitter    = 5 * time.Second
	maxRateWaits  = 4               // window waits per call
	maxRetryAfter = 5 * time.Minute // a longer Retry-After is left to the next run

	maxCount = 500 // Plaid's upper bound for sync count

	defaultDaysRequested = 730 // two years of books, Plaid's maximum
)

// Client calls Plaid's processor endpoints. It is safe for concurrent use;
// the rate limit and the call count are shared by all callers.
type Client struct {
	api             *plaid.PlaidApiService
	limiter         *rate.Limiter // nil when unlimited
	sleep           func(ctx context.Context, d time.Duration) error
	retryMax        int
	retryMaxElapsed time.Duration
	secret          string
	daysRequested   int
	setupErr        error // reported by every call, so New needs no error
	calls           atomic.Int64
}

// New builds a Client. A missing or malformed BaseURL does not fall back to
// plaid-go's default server (production); every call fails Fatal instead.
func New(cfg Config) *Client {
	cfg = withDefaults(cfg)
	pc := plaid.NewConfiguration()
	pc.UseEnvironment(plaid.Environment(strings.TrimRight(cfg.BaseURL, "/")))
	pc.AddDefaultHeader("PLAID-CLIENT-ID", cfg.ClientID)
	pc.AddDefaultHeader("PLAID-SECRET", cfg.Secret)
	pc.HTTPClient = httpClient(cfg)
	c := &Client{
		api:             plaid.NewAPIClient(pc).PlaidApi,
		sleep:           cfg.Sleep,
		retryMax:        cfg.RetryMax,
		retryMaxElapsed: cfg.RetryMaxElapsed,
		secret:          cfg.Secret,
		daysRequested:   cfg.DaysRequested,
		setupErr:        errors.Join(checkBaseURL(cfg.BaseURL), checkDays(cfg.DaysRequested)),
	}
	if cfg.RatePerMin > 0 {
		c.limiter = perMinute(cfg.RatePerMin)
	}
	return c
}

// perMinute limits calls so that no 60-second window holds more than n: a
// second's worth of burst starts a run briskly, and the refill rate leaves
// room for it, since a token bucket allows burst + rate×60 s in a minute.
func perMinute(n int) *rate.Limiter {
	burst := max(1, n/60)
	refill := float64(n-burst) / 60
	if refill <= 0 { // n = 1
		refill = float64(n) / 60
	}
	return rate.NewLimiter(rate.Limit(refill), burst)
}

func withDefaults(cfg Config) Config {
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = defaultRetryMax
	}
	if cfg.RetryMaxElapsed <= 0 {
		cfg.RetryMaxElapsed = defaultRetryMaxElapsed
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = defaultMaxBody
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	if cfg.DaysRequested == 0 {
		cfg.DaysRequested = defaultDaysRequested
	}
	return cfg
}

func checkDays(days int) error {
	if days < 1 || days > 730 {
		return fmt.Errorf("days requested %d is outside Plaid's 1..730", days)
	}
	return nil
}

func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("base URL %q is not an absolute http(s) URL", s)
	}
	return nil
}

// httpClient never returns http.DefaultClient, which has no timeout.
func httpClient(cfg Config) *http.Client {
	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		copied := *cfg.HTTPClient
		hc = &copied
	}
	if hc.Timeout == 0 {
		hc.Timeout = cfg.Timeout
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = &limitTransport{base: base, max: cfg.MaxBody}
	if cfg.OnCall != nil {
		prefix := ""
		if u, err := url.Parse(cfg.BaseURL); err == nil {
			prefix = strings.TrimRight(u.Path, "/")
		}
		hc.Transport = &countTransport{base: hc.Transport, prefix: prefix, observe: cfg.OnCall}
	}
	return hc
}

// Calls returns the number of HTTP attempts made so far.
func (c *Client) Calls() int64 { return c.calls.Load() }

// Sync makes one /processor/transactions/sync call. An empty cursor asks
// for the full history; count 0 means Plaid's default of 100.
func (c *Client) Sync(ctx context.Context, token, cursor string, count int) (Page, error) {
	const op = "sync"
	if count < 0 || count > maxCount {
		return Page{}, &Error{Class: Fatal, Op: op, Message: fmt.Sprintf("count %d is outside 1..%d", count, maxCount)}
	}
	req := plaid.NewProcessorTransactionsSyncRequest(token)
	if count > 0 {
		req.SetCount(int32(count))
	}
	if cursor != "" {
		req.SetCursor(cursor)
	}
	req.SetOptions(syncOptions(c.daysRequested))
	var resp plaid.ProcessorTransactionsSyncResponse
	httpResp, err := c.do(ctx, op, token, func(ctx context.Context) (hr *http.Response, err error) {
		resp, hr, err = c.api.ProcessorTransactionsSync(ctx).ProcessorTransactionsSyncRequest(*req).Execute()
		return hr, err
	})
	if err != nil {
		return Page{}, err
	}
	page, err := convertPage(resp, cursor)
	if err != nil {
		return Page{}, c.rejected(op, token, httpResp, resp.RequestId, err)
	}
	return page, nil
}

// syncOptions is a struct literal on purpose: plaid-go's
// NewTransactionsSyncRequestOptions presets days_requested to 90 (and sends
// explicit falses), which would cut a new Item's history to three months.
// days_requested only counts on the call that initialises the Item; sending
// it on every call costs nothing and needs no state.
func syncOptions(days int) plaid.TransactionsSyncRequestOptions {
	o := plaid.TransactionsSyncRequestOptions{}
	o.SetDaysRequested(int32(days))
	o.SetIncludeOriginalDescription(true)
	return o
}

// Balance fetches the real-time balance (/processor/balance/get). A non-zero
// minLastUpdated is sent as options.min_last_updated_datetime, which Capital
// One (ins_128026) non-depository accounts require.
func (c *Client) Balance(ctx context.Context, token string, minLastUpdated time.Time) (Account, error) {
	const op = "balance"
	req := plaid.NewProcessorBalanceGetRequest(token)
	if !minLastUpdated.IsZero() {
		o := plaid.ProcessorBalanceGetRequestOptions{}
		o.SetMinLastUpdatedDatetime(minLastUpdated.UTC())
		req.SetOptions(o)
	}
	var resp plaid.ProcessorBalanceGetResponse
	httpResp, err := c.do(ctx, op, token, func(ctx context.Context) (hr *http.Response, err error) {
		resp, hr, err = c.api.ProcessorBalanceGet(ctx).ProcessorBalanceGetRequest(*req).Execute()
		return hr, err
	})
	if err != nil {
		return Account{}, err
	}
	acct, err := convertAccount(resp.Account, resp.RequestId)
	if err != nil {
		return Account{}, c.rejected(op, token, httpResp, resp.RequestId, err)
	}
	return acct, nil
}

// Account fetches the account with its cached balance
// (/processor/account/get): the cheap way to check a token still works.
func (c *Client) Account(ctx context.Context, token string) (Account, error) {
	const op = "account"
	req := plaid.NewProcessorAccountGetRequest(token)
	var resp plaid.ProcessorAccountGetResponse
	httpResp, err := c.do(ctx, op, token, func(ctx context.Context) (hr *http.Response, err error) {
		resp, hr, err = c.api.ProcessorAccountGet(ctx).ProcessorAccountGetRequest(*req).Execute()
		return hr, err
	})
	if err != nil {
		return Account{}, err
	}
	acct, err := convertAccount(resp.Account, resp.RequestId)
	if err != nil {
		return Account{}, c.rejected(op, token, httpResp, resp.RequestId, err)
	}
	acct.InstitutionID = resp.InstitutionId
	return acct, nil
}

// rejected reports a response that decoded but failed our checks.
func (c *Client) rejected(op, token string, httpResp *http.Response, requestID string, err error) error {
	e := &Error{Class: Fatal, Op: op, RequestID: requestID,
		Message: "invalid response from Plaid: " + err.Error(), Err: err}
	if httpResp != nil {
		e.HTTPStatus = httpResp.StatusCode
	}
	return c.scrub(e, token)
}

// do runs one Plaid call, retrying transient failures of that same request
// with capped exponential backoff and full jitter.
func (c *Client) do(ctx context.Context, op, token string, call func(context.Context) (*http.Response, error)) (*http.Response, error) {
	if c.setupErr != nil {
		return nil, &Error{Class: Fatal, Op: op, Message: c.setupErr.Error()}
	}
	start := time.Now()
	var slept, waited time.Duration // backoff sleeps; rate-limit waits
	rateWaits := 0
	for attempt := 1; ; {
		if err := c.wait(ctx); err != nil {
			return nil, c.scrub(&Error{Class: Transient, Op: op, Message: "waiting for the rate limiter: " + err.Error(), Err: err}, token)
		}
		c.calls.Add(1)
		httpResp, err := call(ctx)
		if err == nil {
			return httpResp, nil
		}
		e := c.scrub(classifyCall(ctx, op, httpResp, err), token)
		// A mutation during pagination recurs if the same page is retried:
		// only the caller can restart from the loop's first cursor.
		if e.Class != Transient || e.Code == codeMutationDuringPagination || ctx.Err() != nil {
			return nil, e
		}
		if e.Type == typeRateLimit {
			d, ok := rateWait(e.RetryAfter, rateWaits)
			if !ok {
				return nil, e
			}
			if err := c.sleep(ctx, d); err != nil {
				return nil, c.scrub(stopped(e, err), token)
			}
			rateWaits++
			waited += d
			continue
		}
		if attempt >= c.retryMax {
			return nil, e
		}
		d := backoff(attempt)
		// With an injected Sleep, wall time does not move; count the waits.
		// Rate-limit waits are not part of this budget.
		if max(time.Since(start)-waited, slept)+d > c.retryMaxElapsed {
			return nil, e
		}
		if err := c.sleep(ctx, d); err != nil {
			return nil, c.scrub(stopped(e, err), token)
		}
		slept += d
		attempt++
	}
}

// rateWait is how long to wait after the call was refused for a rate limit,
// having waited `waits` times already: Retry-After when Plaid sent one, else
// until the per-minute window that refused the call is over (it began at
// the latest with this call), plus jitter so that refused callers do not
// return together.
func rateWait(retryAfter time.Duration, waits int) (time.Duration, bool) {
	if waits >= maxRateWaits || retryAfter > maxRetryAfter {
		return 0, false
	}
	if retryAfter > 0 {
		return retryAfter + rand.N(time.Second), true
	}
	return rateWindow + rand.N(rateJitter), true
}

func (c *Client) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.limiter == nil {
		return nil
	}
	return c.limiter.Wait(ctx)
}

// backoff is full jitter over a capped exponential: spreading retries out
// matters more than their mean when many tokens hit a limit together.
func backoff(attempt int) time.Duration {
	ceiling := backoffCap
	if attempt < 20 {
		ceiling = min(backoffCap, backoffBase<<(attempt-1))
	}
	return rand.N(ceiling) + 1
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// stopped keeps the last failure's details when the caller gives up waiting.
func stopped(last *Error, cause error) *Error {
	e := *last
	e.Message = fmt.Sprintf("stopped retrying (%v) after: %s", cause, last.Message)
	e.Err = errors.Join(cause, last.Err)
	return &e
}

func (c *Client) scrub(e *Error, token string) *Error {
	r := redactor{token, c.secret}
	e.Type, e.Code, e.RequestID = r.String(e.Type), r.String(e.Code), r.String(e.RequestID)
	e.Message = r.String(e.Message)
	e.Err = r.Err(e.Err)
	return e
}

// classifyCall turns what plaid-go returned into an Error, following the
// table in plaid-facts §1.5.
func classifyCall(ctx context.Context, op string, httpResp *http.Response, err error) *Error {
	status := 0
	if httpResp != nil {
		status = httpResp.StatusCode
	}
	var tooBig *bodyLimitError
	if errors.As(err, &tooBig) {
		return &Error{Class: Fatal, Op: op, HTTPStatus: status, Message: tooBig.Error(), Err: err}
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return &Error{Class: Transient, Op: op, HTTPStatus: status, Message: err.Error(), Err: errors.Join(ctxErr, err)}
	}
	var gerr plaid.GenericOpenAPIError
	if !errors.As(err, &gerr) {
		// Transport failures, timeouts, and bodies cut off mid-read.
		msg := "no response: " + err.Error()
		if httpResp != nil {
			msg = "reading the response: " + err.Error()
		}
		return &Error{Class: Transient, Op: op, HTTPStatus: status, Message: msg, Err: err}
	}
	requestID := bodyRequestID(gerr.Body())
	if httpResp == nil {
		return &Error{Class: Fatal, Op: op, Message: "building the request: " + gerr.Error(), Err: err}
	}
	if status < 300 {
		// Decoding failed: schema drift or a broken server. Never guess.
		return &Error{Class: Fatal, Op: op, HTTPStatus: status, RequestID: requestID,
			Message: "malformed response from Plaid: " + gerr.Error(), Err: err}
	}
	pe, perr := plaid.ToPlaidError(gerr)
	if perr != nil || pe.ErrorCode == "" {
		return &Error{Class: Classify("", "", status), Op: op, HTTPStatus: status, RequestID: requestID,
			Message: fmt.Sprintf("HTTP %d without a Plaid error code (%s)", status, gerr.Error()), Err: err}
	}
	if id := pe.GetRequestId(); id != "" {
		requestID = id
	}
	msg := pe.ErrorMessage
	if msg == "" {
		msg = Remedy(pe.ErrorCode)
	}
	return &Error{Class: Classify(string(pe.ErrorType), pe.ErrorCode, status), Op: op, HTTPStatus: status,
		Type: string(pe.ErrorType), Code: pe.ErrorCode, RequestID: requestID, Message: msg, Err: err,
		RetryAfter: retryAfter(httpResp.Header.Get("Retry-After"), time.Now())}
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
// Plaid documents none, but a proxy in front of it may send one.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil {
		return max(time.Duration(s)*time.Second, 0)
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// bodyRequestID digs request_id out of a body plaid-go could not decode, so
// even a malformed response can be traced with Plaid.
func bodyRequestID(body []byte) string {
	var v struct {
		RequestID string `json:"request_id"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	return v.RequestID
}
