package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"bankfeed/plaidapi"
	"bankfeed/store"
)

// Plaid's webhooks (POST /plaid/webhook). Each carries a Plaid-Verification
// header: a JWT signed ES256 by a key named by its kid, whose claims hold
// iat and the SHA-256 of the body. A webhook that fails any check is
// answered 401 and nothing is done. The JWT is checked by golang-jwt (a
// maintained library: algorithm pinning, signature encoding and claim
// parsing are its job, not ours); the key comes from
// /webhook_verification_key/get and is cached by kid.

// MaxWebhookAge is how old a webhook's iat may be (Plaid's advice: 5 minutes).
const MaxWebhookAge = 5 * time.Minute

type verifier struct {
	plaid Plaid
	now   func() time.Time
	mu    sync.Mutex
	keys  map[string]*ecdsa.PublicKey
}

type plaidClaims struct {
	jwt.RegisteredClaims
	BodySHA256 string `json:"request_body_sha256"`
}

var errNoKid = errors.New("the JWT names no kid")

// key returns the verification key by kid, fetching it once.
func (v *verifier) key(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	v.mu.Lock()
	k := v.keys[kid]
	v.mu.Unlock()
	if k != nil {
		return k, nil
	}
	if v.plaid == nil {
		return nil, errors.New("no Plaid client to fetch webhook keys with")
	}
	wk, err := v.plaid.WebhookKey(ctx, kid)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", kid, err)
	}
	if !wk.ExpiredAt.IsZero() && !wk.ExpiredAt.After(v.now()) {
		return nil, fmt.Errorf("key %s expired at %s", kid, wk.ExpiredAt.Format(time.RFC3339))
	}
	x, errX := base64.RawURLEncoding.DecodeString(wk.X)
	y, errY := base64.RawURLEncoding.DecodeString(wk.Y)
	if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
		return nil, fmt.Errorf("key %s is not a P-256 point", kid)
	}
	k, err = ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", kid, err)
	}
	if wk.ExpiredAt.IsZero() {
		// An expired key is never cached: it verifies nothing new.
		v.mu.Lock()
		v.keys[kid] = k
		v.mu.Unlock()
	}
	return k, nil
}

// verify checks a webhook's Plaid-Verification header against its body.
func (v *verifier) verify(ctx context.Context, header string, body []byte) error {
	if header == "" {
		return errors.New("no Plaid-Verification header")
	}
	now := v.now()
	claims := &plaidClaims{}
	_, err := jwt.ParseWithClaims(header, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errNoKid
		}
		return v.key(ctx, kid)
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuedAt(), jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithLeeway(5*time.Second))
	if err != nil {
		return err
	}
	if claims.IssuedAt == nil {
		return errors.New("the JWT has no iat")
	}
	if age := now.Sub(claims.IssuedAt.Time); age > MaxWebhookAge {
		return fmt.Errorf("the JWT was issued %s ago, more than %s", age.Round(time.Second), MaxWebhookAge)
	}
	sum := sha256.Sum256(body)
	want, err := hex.DecodeString(claims.BodySHA256)
	if err != nil || subtle.ConstantTimeCompare(sum[:], want) != 1 {
		return errors.New("the body's SHA-256 is not the one signed")
	}
	return nil
}

// webhookBody is the part of Plaid's webhooks bankfeed acts on.
type webhookBody struct {
	Type      string `json:"webhook_type"`
	Code      string `json:"webhook_code"`
	ItemID    string `json:"item_id"`
	AccountID string `json:"account_id"` // a processor partner's webhook names the account
	Error     *struct {
		Code string `json:"error_code"`
	} `json:"error"`
}

func (s *server) webhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", tooLarge(s.maxBody))
		return
	}
	if err := s.hooks.verify(r.Context(), r.Header.Get("Plaid-Verification"), body); err != nil {
		s.log.Warn().Str("error", err.Error()).Msg("webhook refused: its Plaid-Verification does not check out")
		writeError(w, http.StatusUnauthorized, "unauthorized", "the Plaid-Verification header does not verify this body")
		return
	}
	var b webhookBody
	if err := json.Unmarshal(body, &b); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", "the webhook body is not a JSON object")
		return
	}
	if err := s.act(r.Context(), b); err != nil {
		internalError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// act does what a verified webhook asks: flags at once (a short write),
// syncs through OnSync (after the answer).
func (s *server) act(ctx context.Context, b webhookBody) error {
	log := s.log.Info().Str("webhook_type", b.Type).Str("webhook_code", b.Code).Str("item_id", b.ItemID)
	var t store.Token
	var err error
	switch {
	case b.ItemID != "":
		t, err = s.st.ItemByPlaidID(ctx, b.ItemID)
	case b.AccountID != "":
		t, err = s.st.TokenForAccount(ctx, b.AccountID)
	default:
		log.Msg("webhook names neither an Item nor an account: ignored")
		return nil
	}
	if errors.Is(err, store.ErrNotFound) {
		log.Msg("webhook for an Item or account bankfeed does not hold: ignored")
		return nil
	}
	if err != nil {
		return err
	}
	log = log.Str("token_hint", t.Hint).Str("business_id", t.BusinessID)
	if t.Status == store.StatusRemoved {
		log.Msg("webhook for a removed Item or token: ignored")
		return nil
	}
	switch b.Type + "/" + b.Code {
	case "TRANSACTIONS/SYNC_UPDATES_AVAILABLE":
		if t.Status == store.StatusActive && s.onSync != nil {
			s.onSync(t.ID)
		}
	case "ITEM/ERROR", "ITEM/USER_PERMISSION_REVOKED":
		code := b.Code
		if b.Error != nil && b.Error.Code != "" {
			code = b.Error.Code
		}
		var next *time.Time
		if b.Code == "ERROR" && !plaidapi.NeedsNewToken(code) {
			n := s.now().Add(s.probeInterval) // the owner can repair it: probe later too
			next = &n
		}
		err = s.st.FlagToken(ctx, t.ID, code, "", next)
	case "ITEM/LOGIN_REPAIRED":
		if err = s.st.Reactivate(ctx, t.ID); err == nil && s.onSync != nil {
			s.onSync(t.ID)
		}
	case "ITEM/PENDING_DISCONNECT":
		// Still working, for now: noted so that the page offers Reconnect.
		err = s.st.RecordTokenError(ctx, t.ID, "PENDING_DISCONNECT")
	default:
		log.Msg("webhook not acted on")
		return nil
	}
	log.Msg("webhook")
	return err
}
