package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
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
	keyID string
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
	return &sealer{aead: aead, fpKey: keyed(key, "bankfeed token fingerprint v1"), keyID: KeyID(key)}, nil
}

func keyed(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// KeyID names a token key without revealing it: a keyed hash, safe to
// print and to store beside the tokens it sealed.
func KeyID(key []byte) string {
	return hex.EncodeToString(keyed(key, "bankfeed token key id v1")[:16])
}

// WrongKeyError is a token key that is not the one the database's tokens
// are sealed with. It is ErrWrongKey (exit status 2) and its message is
// the remedy; it names keys only by their ids.
type WrongKeyError struct {
	Recorded string // the id the database records
	Have     string // the id of the key this process holds
}

func (e *WrongKeyError) Error() string {
	return fmt.Sprintf("BANKFEED_TOKEN_KEY (key id %s) does not match the key this database's tokens were sealed with (key id %s); "+
		"set the key used before, or run bankfeed tokens rotate-key --new-key-file F with the key used before in BANKFEED_TOKEN_KEY",
		e.Have, e.Recorded)
}

// Is makes errors.Is(err, ErrWrongKey) hold.
func (e *WrongKeyError) Is(target error) bool { return target == ErrWrongKey }

// checkKeyID compares the recorded key id with this process's key. Seals
// call it inside their write transaction, so a rotation committed by
// another process is seen before anything is sealed under the old key.
func (s *Store) checkKeyID(ctx context.Context, q querier) error {
	var recorded string
	err := q.QueryRowContext(ctx, "SELECT key_id FROM token_key WHERE one = 1").Scan(&recorded)
	if err != nil {
		return fmt.Errorf("read token key id: %w", Classify(err))
	}
	if recorded != s.crypt.keyID {
		return &WrongKeyError{Recorded: recorded, Have: s.crypt.keyID}
	}
	return nil
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

// recordKeyID runs once, in the transaction of migration 6: a fresh
// database, or one whose tokens this key opens, records this key's id. A
// key that cannot open the stored tokens records nothing (the migration
// rolls back) and is refused.
func (s *Store) recordKeyID(ctx context.Context, tx *sql.Tx) error {
	var ct []byte
	err := tx.QueryRowContext(ctx, "SELECT ciphertext FROM tokens LIMIT 1").Scan(&ct)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	default:
		if _, err := s.crypt.open(ct); err != nil {
			return fmt.Errorf("%w; set it to the key they were sealed with (this upgrade then records that key's id)", ErrWrongKey)
		}
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO token_key(one, key_id, recorded_at) VALUES (1, ?, ?)", s.crypt.keyID, ts(s.Now()))
	return err
}

// checkKey fails at start-up, not mid-run, when the configured key is not
// the one the database records. A database without tokens has nothing
// sealed to lose: it takes the new key (a process still holding the old
// one then fails its next seal).
func (s *Store) checkKey(ctx context.Context, readOnly bool) error {
	err := s.checkKeyID(ctx, s.rdb)
	var wrong *WrongKeyError
	if !errors.As(err, &wrong) {
		return err
	}
	var n int
	if err := s.rdb.QueryRowContext(ctx, "SELECT COUNT(*) FROM tokens").Scan(&n); err != nil {
		return Classify(err)
	}
	if n > 0 {
		return err
	}
	if readOnly {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM tokens").Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return s.checkKeyID(ctx, tx)
		}
		_, err := tx.ExecContext(ctx, "UPDATE token_key SET key_id = ?, recorded_at = ? WHERE one = 1", s.crypt.keyID, ts(s.Now()))
		return err
	})
}

// RotateKey re-encrypts every token under newKey and records newKey's id,
// in one transaction. The caller holds the run lock (no run reveals a
// token meanwhile) and must use newKey from then on; any other process
// still holding the old key fails its next seal or open with ErrWrongKey.
func (s *Store) RotateKey(ctx context.Context, newKey []byte) (int, error) {
	next, err := newSealer(newKey)
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkKeyID(ctx, tx); err != nil {
			return err
		}
		type row struct {
			id int64
			ct []byte
		}
		var all []row
		rows, err := tx.QueryContext(ctx, "SELECT id, ciphertext FROM tokens")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.ct); err != nil {
				return err
			}
			all = append(all, r)
		}
		// A scan cut short must not commit a rotation that left some
		// tokens under the old key.
		if err := rows.Err(); err != nil {
			return err
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, r := range all {
			plain, err := s.crypt.open(r.ct)
			if err != nil {
				return fmt.Errorf("token %d: %w", r.id, err)
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
		_, err = tx.ExecContext(ctx, "UPDATE token_key SET key_id = ?, recorded_at = ? WHERE one = 1", next.keyID, ts(s.Now()))
		return err
	})
	if err != nil {
		return 0, err
	}
	s.crypt = next
	return n, nil
}
