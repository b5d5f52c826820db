// Package jobs is bankfeed's work: syncing processor tokens into the
// ledger, taking balance snapshots, probing flagged tokens and reconciling.
// serve (cron) and --run-once both call Runner.Run.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"bankfeed/plaidapi"
	"bankfeed/store"
)

// Plaid is what the jobs need from Plaid.
type Plaid interface {
	Sync(ctx context.Context, token, cursor string, count int) (plaidapi.Page, error)
	Balance(ctx context.Context, token string, minLastUpdated time.Time) (plaidapi.Account, error)
	Account(ctx context.Context, token string) (plaidapi.Account, error)
	SetProcessorWebhook(ctx context.Context, processorToken, url string) error
	// The Items bankfeed links itself: one access token, many accounts.
	ItemSync(ctx context.Context, accessToken, cursor string, count int, known ...string) (plaidapi.ItemPage, error)
	ItemAccounts(ctx context.Context, accessToken string) (institutionID string, accounts []plaidapi.Account, err error)
	SetItemWebhook(ctx context.Context, accessToken, url string) error
}

var _ Plaid = (*plaidapi.Client)(nil)

// Job names accepted by Run.
const (
	JobSync      = "sync"
	JobBalances  = "balances"
	JobReconcile = "reconcile"
	JobProbe     = "probe"
	JobAll       = "all"
)

// ValidJob reports whether name is a job Run accepts.
func ValidJob(name string) bool {
	switch name {
	case JobSync, JobBalances, JobReconcile, JobProbe, JobAll:
		return true
	}
	return false
}

// ErrTokensFailed means some tokens could not be synced after their
// retries; the others were.
var ErrTokensFailed = errors.New("some tokens failed")

// Runner runs jobs against one database.
type Runner struct {
	Store         *store.Store
	Plaid         Plaid
	Log           zerolog.Logger
	Concurrency   int
	PageSize      int
	MaxPages      int
	ProbeInterval time.Duration
	// LockWait bounds how long Run waits for another run on the same
	// database; 0 waits as long as ctx allows.
	LockWait time.Duration
	Now      func() time.Time
	// RealtimeBalances is RealtimeOff (no paid balance call at all; the
	// default) or RealtimeDaily.
	RealtimeBalances string
	// BusinessConcurrency bounds the tokens of one business worked on at
	// once (Plaid's rate limits are per Item, and one business's tokens
	// often share one); Concurrency still bounds them all. 0 means 2.
	BusinessConcurrency int
	// Reconcile, when set, runs the reconcile job; it lives outside this
	// file so that sync does not depend on reporting.
	Reconcile func(ctx context.Context, runID string) (map[string]int, error)

	// WebhookURL (BANKFEED_WEBHOOK_URL) is where processor tokens' webhooks
	// are pointed, once per token and URL; "" leaves them alone.
	WebhookURL string

	// ProgressEvery is how long a token's sync goes on before it logs how
	// far it has got (and again after each such interval): a first sync of
	// years of history takes minutes, and a quiet log looks stuck. 0 means
	// 10 seconds.
	ProgressEvery time.Duration

	runID string
	log   zerolog.Logger // the run's logger (run_id, job), set by run
	only  map[int64]bool // RunTargets: sync these tokens only
	// synced, during a run of all, holds each token the sync part left
	// synced as it was before that sync: the balances part works on these
	// only. nil outside a run of all.
	synced *syncedTokens
}

// name is how errors name the token: by hint, or an Item by its item_id.
func (res *TokenResult) name() string {
	if res.ItemID != "" {
		return "Item " + res.ItemID
	}
	return "token …" + res.TokenHint
}

// TokenResult is what happened to one token in one run.
type TokenResult struct {
	TokenID      int64
	BusinessID   string
	TokenHint    string // "" for an Item
	ItemID       string // Plaid's item_id for an Item
	Outcome      string // synced, flagged, failed, not_ready, skipped, reactivated
	Code         string
	RequestID    string
	Pages        int
	LoopRestarts int
	Applied      ApplyCounts
	Snapshot     bool
	BalanceCalls int // paid /processor/balance/get calls made
	Err          error
}

// Summary is a run's outcome.
type Summary struct {
	RunID    string
	Job      string
	Tokens   int
	Counts   map[string]int
	Results  []TokenResult
	Duration time.Duration
	Report   map[string]int
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Runner) pageSize() int {
	if r.PageSize <= 0 || r.PageSize > 500 {
		return 500
	}
	return r.PageSize
}

func (r *Runner) progressEvery() time.Duration {
	if r.ProgressEvery <= 0 {
		return 10 * time.Second
	}
	return r.ProgressEvery
}

func (r *Runner) maxPages() int {
	if r.MaxPages <= 0 {
		return 10000
	}
	return r.MaxPages
}

func newRunID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// Run runs one job over every token that needs it. Tokens are isolated:
// one token's failure is recorded and the others carry on. The returned
// error wraps ErrTokensFailed when any token failed.
func (r *Runner) Run(ctx context.Context, job string) (Summary, error) {
	if !ValidJob(job) {
		return Summary{}, fmt.Errorf("unknown job %q: use sync, balances, reconcile, probe or all", job)
	}
	lock, err := store.LockRun(ctx, r.Store.Path(), r.LockWait)
	if err != nil {
		return Summary{}, err
	}
	defer lock.Unlock()
	return r.run(ctx, job)
}

// run is Run once the run lock is held. A run of all is its jobs one
// after the other (sync, balances, reconcile), each recorded as a run of
// its own: the history, the metrics and the catch-up then speak of jobs,
// never of a mix. What it returns is the sync's summary with the
// reconcile's counts and the whole duration.
func (r *Runner) run(ctx context.Context, job string) (Summary, error) {
	if job != JobAll {
		return r.runJob(ctx, job)
	}
	started := time.Now()
	// The balances part asks, per token, what the token was before this
	// run's sync (no paid call in the run of a first sync), and only for
	// the tokens the sync left in good health.
	r.synced = &syncedTokens{m: map[int64]store.Token{}}
	defer func() { r.synced = nil }()
	sum, err := r.runJob(ctx, JobSync)
	if ctx.Err() == nil {
		_, berr := r.runJob(ctx, JobBalances)
		err = errors.Join(err, berr)
	}
	if ctx.Err() == nil && r.Reconcile != nil {
		rec, rerr := r.runJob(ctx, JobReconcile)
		sum.Report = rec.Report
		err = errors.Join(err, rerr)
	}
	sum.Job, sum.Duration = JobAll, time.Since(started)
	return sum, err
}

// runJob runs and records one job.
func (r *Runner) runJob(ctx context.Context, job string) (Summary, error) {
	r.runID = newRunID()
	started := time.Now()
	log := r.Log.With().Str("run_id", r.runID).Str("job", job).Logger()
	r.log = log
	sum := Summary{RunID: r.runID, Job: job, Counts: map[string]int{}}
	if err := r.Store.StartRun(ctx, r.runID, job); err != nil {
		return sum, err
	}
	var runErr error
	if job != JobReconcile {
		runErr = r.runTokens(ctx, job, &sum, log)
	}
	if job == JobReconcile && r.Reconcile != nil && ctx.Err() == nil {
		counts, err := r.Reconcile(ctx, r.runID)
		sum.Report = counts
		runErr = errors.Join(runErr, err)
	}
	sum.Duration = time.Since(started)
	status, errText := runOutcome(ctx, runErr, sum), ""
	if runErr != nil {
		errText = runErr.Error()
	}
	counts := runCounts(sum)
	// Record the end even when interrupted, so the run history is honest.
	if err := r.Store.FinishRun(context.WithoutCancel(ctx), r.runID, status, counts, errText, runDetail(sum)); err != nil {
		runErr = errors.Join(runErr, err)
	}
	ev := log.Info()
	if runErr != nil {
		ev = log.Error()
	}
	d := zerolog.Dict()
	for k, v := range counts {
		d = d.Int(k, v)
	}
	ev.Str("status", status).Int64("duration_ms", sum.Duration.Milliseconds()).Dict("counts", d).Msg("run finished")
	return sum, runErr
}

// runOutcome is the run's recorded outcome: interrupted by a signal,
// partial when some tokens failed and others were worked, ok when the
// only "error" is a reconciliation break, failed on any other error.
func runOutcome(ctx context.Context, err error, sum Summary) string {
	switch {
	case ctx.Err() != nil:
		return store.RunInterrupted
	case err == nil, onlyBreaks(err):
		// A break is what the reconcile found, not a failure of the run:
		// the report and the exit status (3) carry it.
		return store.RunOK
	case errors.Is(err, ErrTokensFailed) && sum.Counts["failed"] < len(sum.Results):
		return store.RunPartial
	}
	return store.RunFailed
}

// onlyBreaks reports whether every error joined in err is a break.
func onlyBreaks(err error) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !onlyBreaks(e) {
				return false
			}
		}
		return len(j.Unwrap()) > 0
	}
	return errors.Is(err, ErrBreak)
}

// runCounts are the figures a run records: tokens and their outcomes,
// pages, changes (added, modified, removed), errors, and the reconcile's
// summary under report_*.
func runCounts(sum Summary) map[string]int {
	counts := map[string]int{"tokens": sum.Tokens, "pages": 0, "added": 0, "modified": 0, "removed": 0, "errors": 0}
	for k, v := range sum.Counts {
		counts[k] = v
	}
	for _, res := range sum.Results {
		counts["pages"] += res.Pages
		counts["added"] += res.Applied.Added
		counts["modified"] += res.Applied.Modified
		counts["removed"] += res.Applied.Removed
		if res.Outcome == "failed" {
			counts["errors"]++
		}
	}
	for k, v := range sum.Report {
		counts["report_"+k] = v
	}
	return counts
}

// runDetail lists the tokens that failed or were flagged, by hint (an
// Item by its item_id): never the token.
func runDetail(sum Summary) store.RunDetail {
	var d store.RunDetail
	for _, res := range sum.Results {
		switch res.Outcome {
		case "failed", "flagged", "still_flagged", "interrupted":
		default:
			continue
		}
		rt := store.RunToken{BusinessID: res.BusinessID, TokenHint: res.TokenHint, ItemID: res.ItemID, Outcome: res.Outcome, ErrorCode: res.Code}
		if res.Err != nil {
			rt.Error = res.Err.Error()
		}
		d.Tokens = append(d.Tokens, rt)
	}
	return d
}

func (r *Runner) runTokens(ctx context.Context, job string, sum *Summary, log zerolog.Logger) error {
	tokens, err := r.Store.Tokens(ctx, store.TokenFilter{Kind: store.KindAll})
	if err != nil {
		return err
	}
	now := r.now()
	var work []store.Token
	for _, t := range tokens {
		switch {
		case r.only != nil && !r.only[t.ID]:
		case r.synced != nil && job == JobBalances && !r.wasSynced(t.ID):
		case t.Replaced:
			// Its account's books moved on with the successor: what the old
			// Item still says would count the real account twice.
			sum.Counts["replaced"]++
		case t.Status == store.StatusActive && job != JobProbe:
			work = append(work, t)
		case t.Status == store.StatusNeedsRefresh && (job == JobProbe || job == JobAll || job == JobSync) && probeDue(t, now):
			work = append(work, t)
		case t.Status == store.StatusNeedsRefresh:
			sum.Counts["needs_refresh"]++
		}
	}
	sum.Tokens = len(tokens)
	if job == JobBalances && r.RealtimeBalances != RealtimeDaily {
		// The only balance call is the paid real-time one; the balances
		// that anchor and reconcile come free with every sync.
		log.Info().Str("realtime_balances", RealtimeOff).Msg("balances: BANKFEED_REALTIME_BALANCES is off, so no Plaid call is made; sync keeps each account's balance")
		return nil
	}
	// Tokens whose account bankfeed does not know yet run after the rest:
	// a re-linked account is recognised by its predecessor's token having
	// been let go, and a platform that keeps the old token beside the new
	// one has it re-activated by the put; its sync in this run flags it
	// before the new account looks (see applier.succeed).
	var known, fresh []store.Token
	for _, t := range work {
		if t.AccountID == 0 {
			fresh = append(fresh, t)
		} else {
			known = append(known, t)
		}
	}
	work = append(interleave(known), interleave(fresh)...)
	results := make([]TokenResult, len(work))
	var mu sync.Mutex
	g := new(errgroup.Group)
	limit := r.Concurrency
	if limit <= 0 {
		limit = 8
	}
	g.SetLimit(limit)
	perBusiness := map[string]chan struct{}{}
	for _, t := range work {
		if perBusiness[t.BusinessID] == nil {
			perBusiness[t.BusinessID] = make(chan struct{}, r.businessConcurrency())
		}
	}
	for i, t := range work {
		if ctx.Err() != nil {
			break // stop starting new work; what runs finishes or rolls back
		}
		if i == len(known) && i > 0 {
			_ = g.Wait()
		}
		sem := perBusiness[t.BusinessID]
		g.Go(func() error {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return nil // never started: interrupted
			}
			defer func() { <-sem }()
			res := r.runToken(ctx, job, t, now)
			results[i] = res
			mu.Lock()
			sum.Counts[res.Outcome]++
			mu.Unlock()
			r.logToken(log, res)
			return nil
		})
	}
	_ = g.Wait()
	failed := 0
	var first *TokenResult
	for i, res := range results {
		if res.Outcome == "" {
			continue // never started: interrupted
		}
		sum.Results = append(sum.Results, res)
		if res.Outcome == "failed" {
			failed++
			if first == nil {
				first = &results[i]
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	if failed > 0 {
		return fmt.Errorf("%w: %d of %d tokens could not be synced, first %s of business %s: %v (each has a log line with outcome=failed)",
			ErrTokensFailed, failed, len(work), first.name(), first.BusinessID, first.Err)
	}
	return nil
}

func (r *Runner) businessConcurrency() int {
	if r.BusinessConcurrency <= 0 {
		return 2
	}
	return r.BusinessConcurrency
}

// interleave orders tokens round-robin across businesses, so that the
// workers waiting on one business's limit are few and the others' tokens
// are not queued behind them. Within a business the order is kept.
func interleave(work []store.Token) []store.Token {
	var order []string
	byBiz := map[string][]store.Token{}
	for _, t := range work {
		if byBiz[t.BusinessID] == nil {
			order = append(order, t.BusinessID)
		}
		byBiz[t.BusinessID] = append(byBiz[t.BusinessID], t)
	}
	out := make([]store.Token, 0, len(work))
	for len(out) < len(work) {
		for _, b := range order {
			if q := byBiz[b]; len(q) > 0 {
				out = append(out, q[0])
				byBiz[b] = q[1:]
			}
		}
	}
	return out
}

func probeDue(t store.Token, now time.Time) bool {
	return t.NextProbeAt != nil && !t.NextProbeAt.After(now)
}

func (r *Runner) runToken(ctx context.Context, job string, t store.Token, now time.Time) TokenResult {
	res := TokenResult{TokenID: t.ID, BusinessID: t.BusinessID, TokenHint: t.Hint}
	if t.Kind == store.KindItem {
		res.TokenHint, res.ItemID = "", t.ItemID
	}
	secret, err := r.Store.Reveal(ctx, t.ID)
	if err != nil {
		res.Outcome, res.Err = "failed", err
		return res
	}
	if t.Kind == store.KindItem {
		return r.runItem(ctx, job, t, secret)
	}
	if t.Status == store.StatusNeedsRefresh {
		// A cheap call tells whether the owner has repaired the login.
		acct, err := r.Plaid.Account(ctx, secret)
		if err != nil {
			r.handleErr(ctx, t, err, &res)
			if res.Outcome == "flagged" {
				res.Outcome = "still_flagged"
			}
			return res
		}
		res.RequestID = acct.RequestID
		if err := r.Store.Reactivate(ctx, t.ID); err != nil {
			res.Outcome, res.Err = "failed", err
			return res
		}
		if job == JobProbe {
			res.Outcome = "reactivated"
			return res
		}
		t.Status = store.StatusActive
	}
	before := t
	if job == JobBalances && r.synced != nil {
		before = r.syncedBefore(t.ID)
	}
	if r.WebhookURL != "" && t.WebhookURL != r.WebhookURL && (job == JobSync || job == JobAll) {
		if err := r.pointWebhook(ctx, t, secret); err != nil {
			r.handleErr(ctx, t, err, &res)
			return res
		}
	}
	if job == JobSync || job == JobAll {
		err := r.syncToken(ctx, t, secret, &res)
		switch {
		case errors.Is(err, errNotReady):
			// Not a failure: Plaid is still gathering the history. Nothing
			// is stored but the state, and the next run asks again.
			if err := r.Store.SetNotReady(ctx, t.ID); err != nil {
				res.Outcome, res.Err = "failed", err
				return res
			}
			res.Outcome = "not_ready"
			return res
		case err != nil:
			r.handleErr(ctx, t, err, &res)
			return res
		}
		if t, err = r.Store.Token(ctx, t.ID); err != nil {
			res.Outcome, res.Err = "failed", err
			return res
		}
	}
	if (job == JobBalances || job == JobAll) && r.balanceDue(before) {
		if err := r.balanceToken(ctx, t, secret, &res); err != nil {
			r.handleErr(ctx, t, err, &res)
			return res
		}
		if job == JobBalances && res.BalanceCalls == 0 {
			res.Outcome = "skipped" // today's call is made
			return res
		}
	} else if job == JobBalances {
		res.Outcome = "skipped" // not synced yet, or today's call is made
		return res
	}
	res.Outcome = "synced"
	if job == JobSync {
		r.noteSynced(before)
	}
	return res
}

// syncedTokens is Runner.synced: written by the sync part's workers.
type syncedTokens struct {
	mu sync.Mutex
	m  map[int64]store.Token
}

// noteSynced remembers, during a run of all, a token the sync part left
// synced, as it was before that sync.
func (r *Runner) noteSynced(before store.Token) {
	if r.synced == nil {
		return
	}
	r.synced.mu.Lock()
	defer r.synced.mu.Unlock()
	r.synced.m[before.ID] = before
}

func (r *Runner) wasSynced(id int64) bool {
	r.synced.mu.Lock()
	defer r.synced.mu.Unlock()
	_, ok := r.synced.m[id]
	return ok
}

func (r *Runner) syncedBefore(id int64) store.Token {
	r.synced.mu.Lock()
	defer r.synced.mu.Unlock()
	return r.synced.m[id]
}

// handleErr classifies a token's failure: an invalid token is flagged and
// is not a failure of the run; anything else is recorded and fails it.
func (r *Runner) handleErr(ctx context.Context, t store.Token, err error, res *TokenResult) {
	res.Err = err
	var pe *plaidapi.Error
	if errors.As(err, &pe) {
		res.Code, res.RequestID = pe.Code, firstNonEmpty(pe.RequestID, res.RequestID)
	}
	wctx := context.WithoutCancel(ctx)
	if plaidapi.ClassOf(err) == plaidapi.InvalidToken {
		var next *time.Time
		if !plaidapi.NeedsNewToken(res.Code) {
			n := r.now().Add(r.probeInterval())
			next = &n
		}
		if ferr := r.Store.FlagToken(wctx, t.ID, res.Code, res.RequestID, next); ferr != nil {
			res.Outcome, res.Err = "failed", errors.Join(err, ferr)
			return
		}
		res.Outcome = "flagged"
		return
	}
	res.Outcome = "failed"
	if ctx.Err() != nil {
		res.Outcome = "interrupted"
	}
	_ = r.Store.RecordTokenError(wctx, t.ID, res.Code)
}

func (r *Runner) probeInterval() time.Duration {
	if r.ProbeInterval <= 0 {
		return 6 * time.Hour
	}
	return r.ProbeInterval
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func (r *Runner) logToken(log zerolog.Logger, res TokenResult) {
	ev := log.Info()
	if res.Outcome == "failed" {
		ev = log.Error()
	} else if res.Outcome == "flagged" || res.Outcome == "still_flagged" {
		ev = log.Warn()
	}
	// The hint (and an Item's id), never the internal row id: an operator
	// finds a token by what tokens list shows.
	if res.TokenHint != "" { // an Item is named by its item_id below
		ev = ev.Str("token_hint", res.TokenHint)
	}
	ev = ev.Str("business_id", res.BusinessID).Str("outcome", res.Outcome).
		Int("pages", res.Pages).Int("added", res.Applied.Added).Int("modified", res.Applied.Modified).
		Int("removed", res.Applied.Removed).Int("posted", res.Applied.Posted).Int("reversed", res.Applied.Reversed)
	if res.ItemID != "" {
		ev = ev.Str("item_id", res.ItemID)
	}
	if res.LoopRestarts > 0 {
		ev = ev.Int("loop_restarts", res.LoopRestarts)
	}
	if res.Applied.History != "" {
		ev = ev.Str("history", res.Applied.History)
	}
	if res.Applied.Anchored {
		ev = ev.Bool("anchored", true)
	}
	if res.BalanceCalls > 0 {
		ev = ev.Int("balance_calls", res.BalanceCalls)
	}
	if res.RequestID != "" {
		ev = ev.Str("request_id", res.RequestID)
	}
	if res.Code != "" {
		ev = ev.Str("error_code", res.Code)
	}
	if res.Err != nil {
		ev = ev.Str("error", res.Err.Error())
	}
	ev.Msg("token")
}

// pointWebhook points a processor token's or an Item's webhooks at
// bankfeed, once per token and URL (the URL set is recorded).
func (r *Runner) pointWebhook(ctx context.Context, t store.Token, secret string) error {
	set := r.Plaid.SetProcessorWebhook
	if t.Kind == store.KindItem {
		set = r.Plaid.SetItemWebhook
	}
	if err := set(ctx, secret, r.WebhookURL); err != nil {
		return err
	}
	return r.Store.SetWebhookURL(ctx, t.ID, r.WebhookURL)
}
