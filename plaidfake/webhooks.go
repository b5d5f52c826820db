package plaidfake

import (
	"bytes"
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// webhooks is the fake's side of Plaid's webhooks: its ES256 signing keys
// and, WithWebhooks, the deliveries it makes on its own.
type webhooks struct {
	on        bool
	keys      []*sigKey // the last one signs
	wg        sync.WaitGroup
	delivered []Delivery
}

type sigKey struct {
	kid     string
	priv    *ecdsa.PrivateKey
	created int64
	expired *int64
}

// Delivery is one webhook the fake POSTed on its own (WithWebhooks).
type Delivery struct {
	URL  string
	Body []byte
	Err  error // nil when the receiver answered 2xx
}

// WithWebhooks makes the fake send SYNC_UPDATES_AVAILABLE by itself when an
// Item's transactions change (or, WithPulls, when a pull brings changes, or
// its history advances): to the Item's webhook (from the link token or
// /sandbox/public_token/create) and to every processor token of the changed
// account with a webhook set by /processor/token/webhook/update. As Plaid
// does, only once sync has been called on the Item. Deliveries run in the
// background; FlushWebhooks waits for them.
func WithWebhooks() Option { return func(s *Server) { s.hooks.on = true } }

var b64 = base64.RawURLEncoding

// keyLocked is the current signing key, made on first use so that worlds
// that never sign pay nothing for it.
func (s *Server) keyLocked() *sigKey {
	if len(s.hooks.keys) == 0 {
		s.addKeyLocked()
	}
	return s.hooks.keys[len(s.hooks.keys)-1]
}

func (s *Server) addKeyLocked() *sigKey {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("plaidfake: webhook key: %v", err))
	}
	// A kid from the key itself: a counter would move the world's ids.
	pub, _ := priv.PublicKey.Bytes()
	h := sha256.Sum256(pub)
	k := &sigKey{kid: fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16]), priv: priv, created: s.now().Unix()}
	s.hooks.keys = append(s.hooks.keys, k)
	return k
}

// WebhookKeyID is the kid of the key the fake signs webhooks with now.
func (s *Server) WebhookKeyID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keyLocked().kid
}

// RotateWebhookKey retires the signing key (its JWK gets expired_at now and
// is still served) and signs with a new one from now on; it returns the
// new kid.
func (s *Server) RotateWebhookKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.keyLocked()
	now := s.now().Unix()
	old.expired = &now
	return s.addKeyLocked().kid
}

type jwk struct {
	Alg       string `json:"alg"`
	CreatedAt int64  `json:"created_at"`
	Crv       string `json:"crv"`
	ExpiredAt *int64 `json:"expired_at"`
	Kid       string `json:"kid"`
	Kty       string `json:"kty"`
	Use       string `json:"use"`
	X         string `json:"x"`
	Y         string `json:"y"`
}

func (s *Server) webhookKey(req *request, rid string) (any, *apiError) {
	if req.KeyID == "" {
		return nil, missing("key_id")
	}
	s.keyLocked()
	for _, k := range s.hooks.keys {
		if k.kid == req.KeyID {
			pub, _ := k.priv.PublicKey.Bytes() // 0x04 || X || Y
			return &struct {
				Key       jwk    `json:"key"`
				RequestID string `json:"request_id"`
			}{jwk{Alg: "ES256", CreatedAt: k.created, Crv: "P-256", ExpiredAt: k.expired, Kid: k.kid, Kty: "EC", Use: "sig",
				X: b64.EncodeToString(pub[1:33]), Y: b64.EncodeToString(pub[33:65])}, rid}, nil
		}
	}
	return nil, plaidError("INVALID_WEBHOOK_VERIFICATION_KEY_ID", "invalid key_id provided")
}

// WebhookHeader is the Plaid-Verification header for body: a compact JWS
// (ES256) whose payload holds iat and the body's SHA-256, as Plaid signs
// webhooks. kid goes into the header as given; the signature is by that
// key when the fake has it, else by the current key, so tests can forge
// headers with a stale iat, an unknown kid or another body's hash.
func (s *Server) WebhookHeader(body []byte, iat time.Time, kid string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signLocked(body, iat, kid)
}

func (s *Server) signLocked(body []byte, iat time.Time, kid string) string {
	k := s.keyLocked()
	for _, o := range s.hooks.keys {
		if o.kid == kid {
			k = o
		}
	}
	header, _ := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{"ES256", kid, "JWT"})
	sum := sha256.Sum256(body)
	payload, _ := json.Marshal(struct {
		Iat  int64  `json:"iat"`
		Hash string `json:"request_body_sha256"`
	}{iat.Unix(), hex.EncodeToString(sum[:])})
	signing := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	digest := sha256.Sum256([]byte(signing))
	r, ss, err := ecdsa.Sign(rand.Reader, k.priv, digest[:])
	if err != nil {
		panic(fmt.Sprintf("plaidfake: signing a webhook: %v", err))
	}
	sig := make([]byte, 64) // JWS wants r || s, 32 bytes each, not ASN.1
	r.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	return signing + "." + b64.EncodeToString(sig)
}

// SendWebhook POSTs body (JSON-encoded unless it is already []byte) to url
// as Plaid does, signed with the current key and the fake's now as iat. It
// fails when the receiver does not answer 2xx.
func (s *Server) SendWebhook(url string, body any) error {
	b, ok := body.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return fmt.Errorf("webhook body: %w", err)
		}
	}
	s.mu.Lock()
	hdr := s.signLocked(b, s.now(), s.keyLocked().kid)
	s.mu.Unlock()
	return postWebhook(url, b, hdr)
}

var webhookClient = &http.Client{Timeout: 10 * time.Second}

func postWebhook(url string, body []byte, header string) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook to %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Plaid-Verification", header)
	resp, err := webhookClient.Do(req)
	if err != nil {
		return fmt.Errorf("webhook to %s: %w", url, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook to %s: HTTP %d", url, resp.StatusCode)
	}
	return nil
}

// FlushWebhooks waits until every automatic delivery so far has finished.
func (s *Server) FlushWebhooks() { s.hooks.wg.Wait() }

// Deliveries lists the automatic deliveries finished so far, in the order
// they finished.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.hooks.delivered...)
}

// changedLocked tells the webhooks that a's transactions changed in the
// bank; without pulls Plaid sees that at once.
func (s *Server) changedLocked(a *account) {
	if !s.pulls {
		s.notifyLocked(a.it, a)
	}
}

// notifyLocked sends SYNC_UPDATES_AVAILABLE for the Item (only: the account
// that changed; nil: all) where webhooks are configured.
func (s *Server) notifyLocked(it *item, only *account) {
	if !s.hooks.on || !it.synced || it.removed {
		return
	}
	if it.webhook != "" && it.access != "" {
		s.deliverLocked(it.webhook, s.syncUpdatesLocked(it, ""))
	}
	for _, t := range s.tokensOf(it) {
		if t.webhook != "" && !t.invalid && (only == nil || t.acct == only) {
			s.deliverLocked(t.webhook, s.syncUpdatesLocked(it, t.acct.ID))
		}
	}
}

// tokensOf lists the Item's processor tokens, sorted so that deliveries
// start in a reproducible order.
func (s *Server) tokensOf(it *item) []*token {
	var keys []string
	for k, t := range s.tokens {
		if t.acct.it == it {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := make([]*token, len(keys))
	for i, k := range keys {
		out[i] = s.tokens[k]
	}
	return out
}

func (s *Server) deliverLocked(url string, body map[string]any) {
	b, _ := json.Marshal(body)
	hdr := s.signLocked(b, s.now(), s.keyLocked().kid)
	s.hooks.wg.Add(1)
	go func() {
		defer s.hooks.wg.Done()
		err := postWebhook(url, b, hdr)
		s.mu.Lock()
		s.hooks.delivered = append(s.hooks.delivered, Delivery{URL: url, Body: b, Err: err})
		s.mu.Unlock()
	}()
}

// syncUpdatesLocked is SYNC_UPDATES_AVAILABLE for the Item, or, with an
// account id, the processor partner's version for that account.
func (s *Server) syncUpdatesLocked(it *item, accountID string) map[string]any {
	b := map[string]any{"webhook_type": "TRANSACTIONS", "webhook_code": "SYNC_UPDATES_AVAILABLE",
		"initial_update_complete": it.phase >= phaseInitial, "historical_update_complete": it.phase == phaseHistorical,
		"environment": s.env}
	if accountID != "" {
		b["account_id"] = accountID
	} else {
		b["item_id"] = it.id
	}
	return b
}

// SyncUpdatesAvailable is the SYNC_UPDATES_AVAILABLE webhook body for the
// Item, for SendWebhook.
func (s *Server) SyncUpdatesAvailable(itemID string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncUpdatesLocked(s.item(itemID), "")
}

// ProcessorSyncUpdatesAvailable is the SYNC_UPDATES_AVAILABLE body Plaid
// sends a processor partner for the token's account.
func (s *Server) ProcessorSyncUpdatesAvailable(processorToken string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[processorToken]
	if t == nil {
		panic(fmt.Sprintf("plaidfake: unknown token %q", processorToken))
	}
	return s.syncUpdatesLocked(t.acct.it, t.acct.ID)
}

// ItemWebhook is the body of an ITEM webhook for the Item: code "ERROR"
// (with the Item's error, ITEM_LOGIN_REQUIRED when it has none),
// "LOGIN_REPAIRED", "PENDING_DISCONNECT" or "USER_PERMISSION_REVOKED".
func (s *Server) ItemWebhook(itemID, code string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.item(itemID)
	b := map[string]any{"webhook_type": "ITEM", "webhook_code": code, "item_id": it.id, "environment": s.env}
	switch code {
	case "ERROR":
		b["error"] = webhookError(cmp.Or(it.failure(), "ITEM_LOGIN_REQUIRED"))
	case "USER_PERMISSION_REVOKED":
		b["error"] = webhookError("USER_PERMISSION_REVOKED")
	case "PENDING_DISCONNECT":
		b["reason"] = "INSTITUTION_TOKEN_EXPIRATION"
		b["disconnect_time"] = s.now().AddDate(0, 0, 7).Format(time.RFC3339)
	case "LOGIN_REPAIRED":
	default:
		panic(fmt.Sprintf("plaidfake: no ITEM webhook %q", code))
	}
	return b
}

// webhookError is a Plaid error as webhooks carry it: with status, the only
// place Plaid fills it in.
func webhookError(code string) map[string]any {
	e := plaidError(code, "")
	return map[string]any{"error_type": e.ErrorType, "error_code": e.ErrorCode, "error_code_reason": nil,
		"error_message": e.ErrorMessage, "display_message": nil, "request_id": "", "causes": []any{},
		"status": e.status, "documentation_url": e.DocumentationURL, "suggested_action": nil}
}
