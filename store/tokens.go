package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Token statuses.
const (
	StatusActive       = "active"
	StatusNeedsRefresh = "needs_refresh"
	StatusRemoved      = "removed"
)

// Business is a platform customer owning processor tokens.
type Business struct {
	ID         string
	ExternalID string
	LegalName  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Tokens     []Token
}

// Token is a processor token as bankfeed tracks it. The token itself is
// only reachable through Store.Reveal.
type Token struct {
	ID             int64
	BusinessID     string
	Hint           string
	Status         string
	Reason         string // Plaid error_code when flagged
	FlaggedAt      *time.Time
	FlagRequestID  string
	NextProbeAt    *time.Time
	Cursor         string
	AccountID      int64 // 0 until the first sync names the account
	PlaidAccountID string
	LastSyncedAt   *time.Time
	LastErrorCode  string
	LastErrorAt    *time.Time
	NewestTxnDate  string
	CreatedAt      time.Time
	History        string     // "" before the first sync, else HistoryNotReady, HistoryInitial or HistoryComplete
	RealtimeAt     *time.Time // last claimed real-time balance call
	// Kind is KindProcessor or KindItem. An Item's row holds its access
	// token and its one cursor; ItemID and InstitutionID are Plaid's.
	Kind          string
	ItemID        string
	InstitutionID string
	WebhookURL    string // the URL last set at Plaid for a processor token's webhooks
	// Replaced: the token's account was re-linked, and its successor
	// carries its ledger account on; the token is never synced again.
	Replaced bool
	// InstitutionKnown: its account's bank (institution_id) is recorded.
	InstitutionKnown bool
}

// Token kinds.
const (
	KindProcessor = "processor"
	KindItem      = "item"
	KindAll       = "all" // TokenFilter only
)

var tokenForm = regexp.MustCompile(`^processor-(sandbox|development|production)-[A-Za-z0-9][A-Za-z0-9-]{3,200}$`)

// ErrBadToken marks a string that is not a processor token for this
// environment. Its message never contains the token.
var ErrBadToken = errors.New("not a Plaid processor token")

// CheckTokenForm checks the form processor-<env>-<id> without calling Plaid.
func CheckTokenForm(tok, env string) error {
	m := tokenForm.FindStringSubmatch(tok)
	if m == nil {
		return fmt.Errorf("%w: expected processor-%s-<id> (a token ending %q)", ErrBadToken, env, hint(tok))
	}
	if m[1] != env {
		return fmt.Errorf("%w: the token ending %q is for Plaid's %s environment but PLAID_ENV is %s", ErrBadToken, hint(tok), m[1], env)
	}
	return nil
}

func hint(tok string) string {
	if len(tok) <= 4 {
		return strings.Repeat("*", len(tok))
	}
	return tok[len(tok)-4:]
}

// businessIDForm is what a business id may be, wherever it is chosen (the
// CLI's business put, the API's POST /v1/businesses): safe in a URL path
// and a log line without escaping.
var businessIDForm = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// ErrBadBusinessID is a business id outside businessIDForm; its message is
// the rule, in the same words for the CLI (exit 2) and the API (400).
var ErrBadBusinessID = errors.New("a business id must be 1 to 128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit")

// CheckBusinessID applies the one rule for new business ids.
func CheckBusinessID(id string) error {
	if !businessIDForm.MatchString(id) {
		return ErrBadBusinessID
	}
	return nil
}

// BusinessInput is what creates or updates a business.
type BusinessInput struct {
	ID         string
	ExternalID string
	LegalName  string
}

// CreateBusiness inserts a business and attaches tokens.
func (s *Store) CreateBusiness(ctx context.Context, in BusinessInput, env string, tokens []string) (Business, error) {
	if err := CheckBusinessID(in.ID); err != nil {
		return Business{}, err
	}
	if err := checkTokens(tokens, env); err != nil {
		return Business{}, err
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := ts(s.Now())
		_, err := tx.ExecContext(ctx, `INSERT INTO businesses(id, external_id, legal_name, created_at, updated_at) VALUES (?,?,?,?,?)`,
			in.ID, nullStr(in.ExternalID), nullStr(in.LegalName), now, now)
		if err != nil {
			if strings.Contains(err.Error(), "UNIQUE") {
				return fmt.Errorf("%w: business %s already exists", ErrConflict, in.ID)
			}
			return err
		}
		return s.replaceTokens(ctx, tx, in.ID, tokens)
	})
	if err != nil {
		return Business{}, err
	}
	s.signalOutbox()
	return s.Business(ctx, in.ID)
}

// PutTokens gives a business exactly the listed tokens: tokens not listed
// are removed (their accounts keep their history), an empty list removes
// all. With create, an unknown business is created; otherwise it is
// ErrNotFound. A token attached to another business is ErrConflict.
func (s *Store) PutTokens(ctx context.Context, businessID, env string, tokens []string, create bool) (Business, error) {
	if err := checkTokens(tokens, env); err != nil {
		return Business{}, err
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := ts(s.Now())
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM businesses WHERE id = ?", businessID).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows) && create:
			// Only a new id must follow the rule: a business created
			// before it keeps working.
			if err := CheckBusinessID(businessID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO businesses(id, created_at, updated_at) VALUES (?,?,?)`, businessID, now, now); err != nil {
				return err
			}
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("%w: business %s", ErrNotFound, businessID)
		case err != nil:
			return err
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE businesses SET updated_at = ? WHERE id = ?`, now, businessID); err != nil {
				return err
			}
		}
		return s.replaceTokens(ctx, tx, businessID, tokens)
	})
	if err != nil {
		return Business{}, err
	}
	s.signalOutbox() // a re-put may have recovered a flagged token
	return s.Business(ctx, businessID)
}

func checkTokens(tokens []string, env string) error {
	var errs []error
	for i, t := range tokens {
		if err := CheckTokenForm(t, env); err != nil {
			errs = append(errs, fmt.Errorf("token %d: %w", i+1, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Store) replaceTokens(ctx context.Context, tx *sql.Tx, businessID string, tokens []string) error {
	// Fingerprints and seals both come from the key: under a key the
	// database no longer records, a lookup would miss and a seal would
	// write a token nobody can open.
	if err := s.checkKeyID(ctx, tx); err != nil {
		return err
	}
	now := ts(s.Now())
	keep := map[int64]bool{}
	for _, tok := range tokens {
		fp := s.crypt.fingerprint(tok)
		var id int64
		var owner, status string
		var reason sql.NullString
		err := tx.QueryRowContext(ctx, "SELECT id, business_id, status, reason FROM tokens WHERE fingerprint = ?", fp).Scan(&id, &owner, &status, &reason)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			ct, err := s.crypt.seal(tok)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO tokens(business_id, fingerprint, ciphertext, hint, status, created_at, updated_at)
				VALUES (?,?,?,?,?,?,?)`, businessID, fp, ct, hint(tok), StatusActive, now, now)
			if err != nil {
				return err
			}
			id, _ = res.LastInsertId()
		case err != nil:
			return err
		case owner != businessID && status != StatusRemoved:
			return fmt.Errorf("%w: the token ending %q is attached to another business", ErrConflict, hint(tok))
		case owner != businessID:
			// A released token moving to a new business starts afresh:
			// its account's history stays with the old business.
			if _, err := tx.ExecContext(ctx, `UPDATE tokens SET business_id = ?, status = 'active', reason = NULL, flagged_at = NULL,
				flag_request_id = NULL, next_probe_at = NULL, cursor = '', account_id = NULL, history = NULL, removed_at = NULL, updated_at = ? WHERE id = ?`,
				businessID, now, id); err != nil {
				return err
			}
		default:
			// Re-putting a known token is the platform saying "this works
			// now": clear any flag at once and keep the cursor.
			if _, err := tx.ExecContext(ctx, `UPDATE tokens SET status = 'active', reason = NULL, flagged_at = NULL,
				flag_request_id = NULL, next_probe_at = NULL, removed_at = NULL, updated_at = ? WHERE id = ?`, now, id); err != nil {
				return err
			}
			if status == StatusNeedsRefresh {
				if err := s.tokenEvent(ctx, tx, EventTokenRecovered, id, reason.String); err != nil {
					return err
				}
			}
		}
		keep[id] = true
	}
	drop, err := tokensToDrop(ctx, tx, businessID, keep)
	if err != nil {
		return err
	}
	for _, id := range drop {
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET status = 'removed', removed_at = ?, updated_at = ? WHERE id = ?`, now, now, id); err != nil {
			return err
		}
	}
	return nil
}

// tokensToDrop lists the business's live tokens that a replace does not
// keep. A scan cut short is an error: it would leave active a token the
// platform asked to remove.
func tokensToDrop(ctx context.Context, tx *sql.Tx, businessID string, keep map[int64]bool) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, "SELECT id FROM tokens WHERE business_id = ? AND status != 'removed' AND kind = 'processor'", businessID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var drop []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		if !keep[id] {
			drop = append(drop, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return drop, rows.Close()
}

// Business returns a business with its live tokens.
func (s *Store) Business(ctx context.Context, id string) (Business, error) {
	var b Business
	var ext, name sql.NullString
	var created, updated string
	err := s.rdb.QueryRowContext(ctx, "SELECT id, external_id, legal_name, created_at, updated_at FROM businesses WHERE id = ?", id).
		Scan(&b.ID, &ext, &name, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Business{}, fmt.Errorf("%w: business %s", ErrNotFound, id)
	}
	if err != nil {
		return Business{}, Classify(err)
	}
	b.ExternalID, b.LegalName = ext.String, name.String
	b.CreatedAt, _ = parseTime(created)
	b.UpdatedAt, _ = parseTime(updated)
	b.Tokens, err = s.Tokens(ctx, TokenFilter{BusinessID: id})
	return b, err
}

// TokenFilter narrows Tokens.
type TokenFilter struct {
	BusinessID     string
	Status         string // "" = every status but removed
	IncludeRemoved bool
	Kind           string // "" = KindProcessor; KindItem; KindAll
}

// tokenCols reads a token with its account's newest transaction date: one
// index probe per pending state (MAX over the last index column), so
// listing tokens costs the same with ten transactions or a million.
const tokenCols = `t.id, t.business_id, t.hint, t.status, t.reason, t.flagged_at, t.flag_request_id, t.next_probe_at, t.cursor,
	COALESCE(t.account_id, 0), COALESCE(a.plaid_account_id, ''), t.last_synced_at, t.last_error_code, t.last_error_at, t.created_at,
	MAX(COALESCE((SELECT MAX(date) FROM bank_transactions bt WHERE bt.account_id = t.account_id AND bt.removed = 0 AND bt.pending = 0), ''),
	    COALESCE((SELECT MAX(date) FROM bank_transactions bt WHERE bt.account_id = t.account_id AND bt.removed = 0 AND bt.pending = 1), '')),
	COALESCE(t.history, ''), t.realtime_at, t.kind, COALESCE(t.item_id, ''), COALESCE(t.institution_id, ''), COALESCE(t.webhook_url, ''),
	EXISTS (SELECT 1 FROM accounts s WHERE s.replaces = t.account_id), a.institution_id IS NOT NULL`

// oneTokenSQL reads one token (Store.Token, Tx.Token).
const oneTokenSQL = `SELECT ` + tokenCols + ` FROM tokens t LEFT JOIN accounts a ON a.id = t.account_id WHERE t.id = ?`

// tokensQuery is the statement that lists the tokens f selects.
func tokensQuery(f TokenFilter) (string, []any) {
	q := `SELECT ` + tokenCols + ` FROM tokens t LEFT JOIN accounts a ON a.id = t.account_id WHERE 1=1`
	var args []any
	if f.BusinessID != "" {
		q += " AND t.business_id = ?"
		args = append(args, f.BusinessID)
	}
	switch f.Kind {
	case "":
		q += " AND t.kind = 'processor'"
	case KindAll:
	default:
		q += " AND t.kind = ?"
		args = append(args, f.Kind)
	}
	switch {
	case f.Status != "":
		q += " AND t.status = ?"
		args = append(args, f.Status)
	case !f.IncludeRemoved:
		q += " AND t.status != 'removed'"
	}
	return q + " ORDER BY t.id", args
}

// Tokens lists tokens in id order.
func (s *Store) Tokens(ctx context.Context, f TokenFilter) ([]Token, error) {
	q, args := tokensQuery(f)
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, Classify(rows.Err())
}

type scanner interface{ Scan(...any) error }

func scanToken(r scanner) (Token, error) {
	var t Token
	var reason, flagged, flagReq, probe, synced, errCode, errAt, realtime sql.NullString
	var created string
	if err := r.Scan(&t.ID, &t.BusinessID, &t.Hint, &t.Status, &reason, &flagged, &flagReq, &probe, &t.Cursor,
		&t.AccountID, &t.PlaidAccountID, &synced, &errCode, &errAt, &created, &t.NewestTxnDate, &t.History, &realtime,
		&t.Kind, &t.ItemID, &t.InstitutionID, &t.WebhookURL, &t.Replaced, &t.InstitutionKnown); err != nil {
		return Token{}, Classify(err)
	}
	t.Reason, t.FlagRequestID, t.LastErrorCode, t.RealtimeAt = reason.String, flagReq.String, errCode.String, parseTS(realtime)
	t.FlaggedAt, t.NextProbeAt, t.LastSyncedAt, t.LastErrorAt = parseTS(flagged), parseTS(probe), parseTS(synced), parseTS(errAt)
	if c := parseTS(sql.NullString{String: created, Valid: true}); c != nil {
		t.CreatedAt = *c
	}
	return t, nil
}

// Token reads one token by id.
func (s *Store) Token(ctx context.Context, id int64) (Token, error) {
	row := s.rdb.QueryRowContext(ctx, oneTokenSQL, id)
	t, err := scanToken(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("%w: token %d", ErrNotFound, id)
	}
	return t, err
}

// Reveal decrypts a token for the one call that sends it to Plaid.
func (s *Store) Reveal(ctx context.Context, id int64) (string, error) {
	// One statement, one snapshot: the key id read is the one the
	// ciphertext was sealed under.
	var ct []byte
	var keyID string
	err := s.rdb.QueryRowContext(ctx, "SELECT t.ciphertext, k.key_id FROM tokens t, token_key k WHERE t.id = ? AND k.one = 1", id).Scan(&ct, &keyID)
	if err != nil {
		return "", Classify(err)
	}
	if keyID != s.crypt.keyID {
		return "", &WrongKeyError{Recorded: keyID, Have: s.crypt.keyID}
	}
	return s.crypt.open(ct)
}

// FlagToken marks a token needs_refresh with Plaid's code. nextProbe is
// when a token that its owner can repair without a new token should be
// tried again (nil: only a re-put helps).
func (s *Store) FlagToken(ctx context.Context, id int64, code, requestID string, nextProbe *time.Time) error {
	now := ts(s.Now())
	var probe sql.NullString
	if nextProbe != nil {
		probe = nullStr(ts(*nextProbe))
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var was string
		err := tx.QueryRowContext(ctx, `SELECT status FROM tokens WHERE id = ?`, id).Scan(&was)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE tokens SET status = 'needs_refresh', reason = ?, flag_request_id = ?, next_probe_at = ?,
			flagged_at = CASE WHEN status = 'needs_refresh' AND reason = ? THEN flagged_at ELSE ? END,
			last_error_code = ?, last_error_at = ?, updated_at = ? WHERE id = ? AND status != 'removed'`,
			code, nullStr(requestID), probe, code, now, code, now, now, id)
		if err != nil || was != StatusActive {
			// Only the transition tells: a token that stays flagged
			// across syncs and probes raised its event once.
			return err
		}
		return s.tokenEvent(ctx, tx, EventTokenNeedsRefresh, id, code)
	})
	if err == nil {
		s.signalOutbox()
	}
	return err
}

// Reactivate clears a token's flag after a successful probe.
func (s *Store) Reactivate(ctx context.Context, id int64) error {
	now := ts(s.Now())
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var reason sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT reason FROM tokens WHERE id = ? AND status = 'needs_refresh'`, id).Scan(&reason)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // not flagged: nothing recovers
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET status = 'active', reason = NULL, flagged_at = NULL, flag_request_id = NULL,
			next_probe_at = NULL, updated_at = ? WHERE id = ? AND status = 'needs_refresh'`, now, id); err != nil {
			return err
		}
		return s.tokenEvent(ctx, tx, EventTokenRecovered, id, reason.String)
	})
	if err == nil {
		s.signalOutbox()
	}
	return err
}

// SetNextProbe moves the next probe of a flagged token, e.g. forward to
// now once the owner says the login is repaired.
func (s *Store) SetNextProbe(ctx context.Context, id int64, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE tokens SET next_probe_at = ? WHERE id = ?`, ts(at), id)
		return err
	})
}

// RecordTokenError notes a failure that did not flag the token.
func (s *Store) RecordTokenError(ctx context.Context, id int64, code string) error {
	now := ts(s.Now())
	if code == "" {
		code = "ERROR"
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE tokens SET last_error_code = ?, last_error_at = ?, updated_at = ? WHERE id = ?`, code, now, now, id)
		return err
	})
}
