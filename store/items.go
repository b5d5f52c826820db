package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Items are the Plaid Items bankfeed links itself. Each is a row of the
// tokens table (kind 'item'): its access token is sealed, fingerprinted
// and rotated like a processor token, and its one cursor, flag and sync
// log are a token's. Its accounts point at it (accounts.item_token_id).

// ItemInput is what linking an Item stores.
type ItemInput struct {
	BusinessID    string
	ItemID        string
	InstitutionID string
	AccessToken   string
	Accounts      []AccountInfo
	// PublicToken is the token that was exchanged; only its hash is kept,
	// so that the same one twice is a conflict.
	PublicToken string
	// WebhookURL is the webhook the Item's link token named: its webhooks
	// go there already, so the next run need not move them.
	WebhookURL string
}

// ItemView is an Item with the Plaid ids of its accounts.
type ItemView struct {
	Token
	AccountIDs []string
}

func sum256(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// PublicTokenUsed reports whether a public token was exchanged before.
func (s *Store) PublicTokenUsed(ctx context.Context, publicToken string) (bool, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM exchanged_public_tokens WHERE hash = ?`, sum256(publicToken)).Scan(&n)
	return n > 0, Classify(err)
}

// AddItem stores a newly exchanged Item and its accounts in one
// transaction. An unknown business is ErrNotFound; a public token stored
// before, an Item already held or an account of another business is
// ErrConflict.
func (s *Store) AddItem(ctx context.Context, in ItemInput) (ItemView, error) {
	var id int64
	err := s.Update(ctx, func(tx *Tx) error {
		if err := s.checkKeyID(ctx, tx.tx); err != nil {
			return err
		}
		var one int
		err := tx.tx.QueryRowContext(ctx, "SELECT 1 FROM businesses WHERE id = ?", in.BusinessID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: business %s", ErrNotFound, in.BusinessID)
		}
		if err != nil {
			return err
		}
		ct, err := s.crypt.seal(in.AccessToken)
		if err != nil {
			return err
		}
		res, err := tx.exec(`INSERT INTO tokens(business_id, fingerprint, ciphertext, hint, status, kind, item_id, institution_id, webhook_url, created_at, updated_at)
			VALUES (?,?,?,?,'active','item',?,?,?,?,?)`, in.BusinessID, s.crypt.fingerprint(in.AccessToken), ct, hint(in.ItemID),
			in.ItemID, nullStr(in.InstitutionID), nullStr(in.WebhookURL), tx.now, tx.now)
		if err != nil {
			if strings.Contains(err.Error(), "UNIQUE") {
				return fmt.Errorf("%w: Item %s is linked already", ErrConflict, in.ItemID)
			}
			return err
		}
		id, _ = res.LastInsertId()
		if in.PublicToken != "" {
			if _, err := tx.exec(`INSERT INTO exchanged_public_tokens(hash, item_token, exchanged_at) VALUES (?,?,?)`,
				sum256(in.PublicToken), id, tx.now); err != nil {
				if strings.Contains(err.Error(), "UNIQUE") {
					return fmt.Errorf("%w: this public token was exchanged already", ErrConflict)
				}
				return err
			}
		}
		for _, a := range in.Accounts {
			if _, err := tx.EnsureAccount(in.BusinessID, id, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return ItemView{}, err
	}
	return s.itemView(ctx, id)
}

// linkItemAccount points an account at the Item that syncs it, when
// tokenID is an Item.
func (t *Tx) linkItemAccount(tokenID, accountID int64) error {
	_, err := t.exec(`UPDATE accounts SET item_token_id = ? WHERE id = ? AND item_token_id IS NOT ?
		AND EXISTS (SELECT 1 FROM tokens WHERE id = ? AND kind = 'item')`, tokenID, accountID, tokenID, tokenID)
	return err
}

const (
	itemAccountIDsSQL = `SELECT plaid_account_id FROM accounts WHERE item_token_id = ? ORDER BY id`
	itemByPlaidIDSQL  = `SELECT id FROM tokens WHERE item_id = ? AND kind = 'item'`
)

// ItemAccountIDs lists the Plaid ids of the accounts bankfeed holds for an
// Item, in the order they were first seen.
func (s *Store) ItemAccountIDs(ctx context.Context, tokenID int64) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, itemAccountIDsSQL, tokenID)
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, Classify(err)
		}
		out = append(out, id)
	}
	return out, Classify(rows.Err())
}

func (s *Store) itemView(ctx context.Context, tokenID int64) (ItemView, error) {
	t, err := s.Token(ctx, tokenID)
	if err != nil {
		return ItemView{}, err
	}
	ids, err := s.ItemAccountIDs(ctx, tokenID)
	return ItemView{Token: t, AccountIDs: ids}, err
}

// Items lists a business's Items ("" = every business), removed ones too,
// in id order.
func (s *Store) Items(ctx context.Context, businessID string) ([]ItemView, error) {
	toks, err := s.Tokens(ctx, TokenFilter{BusinessID: businessID, Kind: KindItem, IncludeRemoved: true})
	if err != nil {
		return nil, err
	}
	out := make([]ItemView, 0, len(toks))
	for _, t := range toks {
		ids, err := s.ItemAccountIDs(ctx, t.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, ItemView{Token: t, AccountIDs: ids})
	}
	return out, nil
}

// ItemByPlaidID finds an Item by Plaid's item_id, whatever its business
// (a webhook names only the Item).
func (s *Store) ItemByPlaidID(ctx context.Context, itemID string) (Token, error) {
	var id int64
	err := s.rdb.QueryRowContext(ctx, itemByPlaidIDSQL, itemID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("%w: Item %s", ErrNotFound, itemID)
	}
	if err != nil {
		return Token{}, Classify(err)
	}
	return s.Token(ctx, id)
}

// TokenForAccount finds the live processor token of a Plaid account (a
// processor webhook names only the account).
func (s *Store) TokenForAccount(ctx context.Context, plaidAccountID string) (Token, error) {
	var id int64
	err := s.rdb.QueryRowContext(ctx, `SELECT t.id FROM tokens t JOIN accounts a ON a.id = t.account_id
		WHERE a.plaid_account_id = ? AND t.kind = 'processor' AND t.status != 'removed' ORDER BY t.id DESC LIMIT 1`, plaidAccountID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("%w: no live token for account %s", ErrNotFound, plaidAccountID)
	}
	if err != nil {
		return Token{}, Classify(err)
	}
	return s.Token(ctx, id)
}

// RemoveItem marks an Item removed: it is never synced again and its
// accounts show as unlinked; their history stays.
func (s *Store) RemoveItem(ctx context.Context, tokenID int64) error {
	now := ts(s.Now())
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE tokens SET status = 'removed', removed_at = ?, updated_at = ? WHERE id = ? AND kind = 'item'`, now, now, tokenID)
		return err
	})
}

// SetWebhookURL records the URL a processor token's webhooks were pointed at.
func (s *Store) SetWebhookURL(ctx context.Context, tokenID int64, url string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE tokens SET webhook_url = ? WHERE id = ?`, nullStr(url), tokenID)
		return err
	})
}

// ScopedTokenPrefix starts every scoped token, so that one is recognised
// (and told from an API key) at a glance.
const ScopedTokenPrefix = "bfs_"

// CreateScopedToken mints a bearer credential for one business, valid for
// ttl. Only its SHA-256 is stored. An unknown business is ErrNotFound.
func (s *Store) CreateScopedToken(ctx context.Context, businessID string, ttl time.Duration) (string, time.Time, error) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	tok := ScopedTokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	now := s.Now().UTC()
	exp := now.Add(ttl)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM businesses WHERE id = ?", businessID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: business %s", ErrNotFound, businessID)
		}
		if err != nil {
			return err
		}
		// Expired tokens are of no use to anyone: drop them as new ones come.
		if _, err := tx.ExecContext(ctx, `DELETE FROM scoped_tokens WHERE expires_at < ?`, ts(now.Add(-24*time.Hour))); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO scoped_tokens(hash, business_id, expires_at, created_at) VALUES (?,?,?,?)`,
			sum256(tok), businessID, ts(exp), ts(now))
		return err
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return tok, exp, nil
}

// ScopedToken looks a scoped token up: its business and expiry.
// ErrNotFound when it was never minted (or is long expired).
func (s *Store) ScopedToken(ctx context.Context, tok string) (businessID string, expires time.Time, err error) {
	var exp string
	err = s.rdb.QueryRowContext(ctx, `SELECT business_id, expires_at FROM scoped_tokens WHERE hash = ?`, sum256(tok)).Scan(&businessID, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, ErrNotFound
	}
	if err != nil {
		return "", time.Time{}, Classify(err)
	}
	t := parseTS(sql.NullString{String: exp, Valid: true})
	if t == nil {
		return "", time.Time{}, fmt.Errorf("%w: scoped token expiry %q", ErrCorrupt, exp)
	}
	return businessID, *t, nil
}

// TxnPlaidAccount names the Plaid account a stored transaction is on; ""
// when bankfeed does not hold the transaction.
func (t *Tx) TxnPlaidAccount(transactionID string) (string, error) {
	var id string
	err := t.tx.QueryRowContext(t.ctx, `SELECT a.plaid_account_id FROM bank_transactions b JOIN accounts a ON a.id = b.account_id
		WHERE b.transaction_id = ?`, transactionID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}
