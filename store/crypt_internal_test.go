package store

import (
	"bytes"
	"testing"
)

// GCM with a repeated nonce leaks the XOR of two plaintexts and lets the
// authentication key be recovered: every seal must draw a fresh nonce.
func TestSealDrawsAFreshNonceEachTime(t *testing.T) {
	c, err := newSealer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	const tok = "processor-sandbox-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
	a, err := c.seal(tok)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.seal(tok)
	if err != nil {
		t.Fatal(err)
	}
	n := c.aead.NonceSize()
	if bytes.Equal(a, b) || bytes.Equal(a[:n], b[:n]) {
		t.Fatalf("two seals of one token share their nonce %x", a[:n])
	}
	for _, ct := range [][]byte{a, b} {
		if bytes.Equal(ct[:n], make([]byte, n)) {
			t.Fatalf("all-zero nonce")
		}
		if got, err := c.open(ct); err != nil || got != tok {
			t.Fatalf("open: %q %v", got, err)
		}
	}
}

// The key id is a keyed hash: stable for one key, different for another,
// and no prefix of the key.
func TestKeyID(t *testing.T) {
	k1 := []byte("0123456789abcdef0123456789abcdef")
	k2 := []byte("fedcba9876543210fedcba9876543210")
	if KeyID(k1) != KeyID(k1) || KeyID(k1) == KeyID(k2) || len(KeyID(k1)) != 32 {
		t.Fatalf("ids %s %s", KeyID(k1), KeyID(k2))
	}
	if bytes.Contains([]byte(KeyID(k1)), []byte("30313233")) {
		t.Fatalf("id shows the key: %s", KeyID(k1))
	}
}
