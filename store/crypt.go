package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
)

// sealer encrypts processor tokens at rest with AES-256-GCM (a fresh random
// nonce per value) and fingerprints them with HMAC-SHA256 under a key
// derived from the same secret, so a token can be looked up without ever
// being stored in clear.
type sealer struct {
	aead  cipher.AEAD
	fpKey []byte
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("token key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("bankfeed token fingerprint v1"))
	return &sealer{aead: aead, fpKey: m.Sum(nil)}, nil
}

// tokenAAD binds a ciphertext to its purpose so it cannot be swapped into
// another column.
var tokenAAD = []byte("bankfeed processor token v1")

func (c *sealer) seal(plain string) ([]byte, error) {
	nonce := make([]byte, c.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return c.aead.Seal(nonce, nonce, []byte(plain), tokenAAD), nil
}

func (c *sealer) open(ct []byte) (string, error) {
	n := c.aead.NonceSize()
	if len(ct) < n {
		return "", ErrWrongKey
	}
	p, err := c.aead.Open(nil, ct[:n], ct[n:], tokenAAD)
	if err != nil {
		return "", ErrWrongKey
	}
	return string(p), nil
}

func (c *sealer) fingerprint(token string) []byte {
	m := hmac.New(sha256.New, c.fpKey)
	m.Write([]byte(token))
	return m.Sum(nil)
}

// checkKey fails at start-up, not mid-run, when the configured key cannot
// open the tokens already stored.
func (s *Store) checkKey(ctx context.Context) error {
	var ct []byte
	err := s.rdb.QueryRowContext(ctx, "SELECT ciphertext FROM tokens LIMIT 1").Scan(&ct)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return Classify(err)
	}
	_, err = s.crypt.open(ct)
	return err
}

// RotateKey re-encrypts every token under newKey in one transaction. The
// caller must use newKey from then on.
func (s *Store) RotateKey(ctx context.Context, newKey []byte) (int, error) {
	next, err := newSealer(newKey)
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT id, ciphertext FROM tokens")
		if err != nil {
			return err
		}
		type row struct {
			id int64
			ct []byte
		}
		var all []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.ct); err != nil {
				rows.Close()
				return err
			}
			all = append(all, r)
		}
		rows.Close()
		for _, r := range all {
			plain, err := s.crypt.open(r.ct)
			if err != nil {
				return err
			}
			ct, err := next.seal(plain)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE tokens SET ciphertext = ?, fingerprint = ? WHERE id = ?", ct, next.fingerprint(plain), r.id); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.crypt = next
	return n, nil
}
